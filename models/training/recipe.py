"""A recipe (the settings of a training run, one dict as written to config.json) and what follows
from it alone: its hash, its input options, its frames, its held-out splits and its network.

This is the lowest layer of the training tool with data.py, appearance.py, priors.py,
architectures.py and pretrained.py: it imports none of scoring, training or export.

    split specs   cv:k:i (fold i of k, grouped by patient, stratified by device),
                  lodo:DEVICE (leave one device out), none (train on everything)
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
from typing import Dict, List, Tuple

import torch

import architectures as A
from data import InputOptions, Item, load_folder, load_sgus, load_synthetic

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
RUNS = os.path.join(HERE, "runs")
DEFAULT_DATA = os.path.join(REPO, "..", "shared", "data", "sgus")
TINY_FRAMES = 12   # synthetic frames of a --tiny run (8 train, 4 scored)

OPTIONAL_RECIPE_KEYS = ("synthetic", "synthetic_weight", "suppress_colour", "encoder_lr", "field_of_view",
                        "appearance", "zoom", "fov_fit")

# Settings that define a recipe (two runs with equal values are the same recipe).
RECIPE_KEYS = ("arch", "width", "depth", "variant", "stem_stride", "steps", "batch", "crop", "lr",
               "weight_decay", "dice_weight", "aug", "seed", "tiny", "pseudo_from",
               "pseudo_weight", "synthetic", "synthetic_weight", "suppress_colour", "encoder_lr",
               "field_of_view", "appearance", "zoom", "fov_fit")


def recipe_hash(cfg: Dict) -> str:
    s = json.dumps({k: cfg.get(k) for k in RECIPE_KEYS
                    # Options added later count only when used, so older recipes keep their hash.
                    if not ((k.startswith("pseudo") or k in OPTIONAL_RECIPE_KEYS) and cfg.get(k) is None)},
                   sort_keys=True)
    return hashlib.sha1(s.encode()).hexdigest()[:12]


def input_options(cfg: Dict) -> InputOptions:
    """The recipe's input options, handed to every loader (and written into the card)."""
    return InputOptions(suppress_colour=bool(cfg.get("suppress_colour")),
                        field_of_view=bool(cfg.get("field_of_view")),
                        fit=cfg.get("fov_fit") or "letterbox")


# ------------------------------------------------------------------------------------------------
def synthetic_folder(count: int, seed: int) -> str:
    """The project's synthetic frames (the generator of the sample exam and the tests), written once
    by scripts/make-synthetic-dataset.ts into the runs folder."""
    folder = os.path.join(RUNS, f"_synthetic-{count}-seed{seed}")
    if not os.path.exists(os.path.join(folder, "manifest.json")):
        subprocess.run(["node", "--import", "tsx", os.path.join(REPO, "scripts", "make-synthetic-dataset.ts"),
                        "--out", folder, "--count", str(count), "--seed", str(seed + 1)], check=True, cwd=REPO)
    return folder


def load_items(cfg: Dict, data: str) -> List[Item]:
    """The labelled frames of a recipe (and its synthetic ones), loaded with its input options."""
    options = input_options(cfg)
    if cfg.get("tiny"):
        return load_synthetic(TINY_FRAMES, cfg["seed"], options)
    items = load_sgus(data, options)
    if cfg.get("synthetic"):
        # Weight < 1: synthetic frames always train and are never held out (split_items).
        items += load_folder(synthetic_folder(cfg["synthetic"], cfg["seed"]), cfg["synthetic_weight"], options)
    return items


def split_items(items: List[Item], spec: str) -> Tuple[List[Item], List[Item]]:
    """Splits by patient. Held-out frames are always clinician-masked ones; frames of lower weight
    (synthetic) always train.

    cv:k:i    fold i of k over the clinician frames, stratified by device and grouped by patient
              (patients of each device in id order are dealt round-robin over the folds, continuing
              across devices; all frames of a patient go together)
    lodo:DEV  hold out every clinician frame of device DEV, train on the other devices
    none      train on everything
    """
    clin = [it for it in items if it.weight >= 1.0]
    weak = [it for it in items if it.weight < 1.0]
    if spec == "none":
        return items, []
    if spec.startswith("cv:"):
        _, k, i = spec.split(":")
        k, i = int(k), int(i)
        if not 0 <= i < k:
            raise ValueError(f"fold {i} outside 0..{k - 1} in --val-split {spec}")
        patients = sorted({(it.device, it.patient) for it in clin})
        held = {p for n, (_, p) in enumerate(patients) if n % k == i}
        val = [it for it in clin if it.patient in held]
    elif spec.startswith("lodo:"):
        dev = spec.split(":", 1)[1]
        val = [it for it in clin if it.device == dev]
        if not val:
            raise ValueError(f"no clinician frames of device {dev!r}; devices: "
                             f"{sorted({it.device for it in clin})}")
    else:
        raise ValueError(f"--val-split {spec!r}: use cv:k:i, lodo:DEVICE or none")
    vid = {it.id for it in val}
    held_patients = {it.patient for it in val}
    # Never train on a held-out patient, whatever the split.
    return [it for it in clin if it.id not in vid and it.patient not in held_patients] + weak, val


def split_tag(spec: str) -> str:
    """The run folder name of a split: all, cv4-0, lodo-ge-logiq-e9."""
    if spec == "none":
        return "all"
    if spec.startswith("cv:"):
        _, k, i = spec.split(":")
        return f"cv{k}-{i}"
    return spec.replace(":", "-")


def expand_protocol(spec: str, items: List[Item]) -> List[str]:
    """--protocol cv:4,lodo → the split specs it names (lodo: one per device of the clinician frames)."""
    out = []
    for part in spec.split(","):
        part = part.strip()
        if part.startswith("cv:"):
            bits = part.split(":")
            k = int(bits[1])
            folds = range(k) if len(bits) == 2 else [int(b) for b in bits[2].split("+")]
            out += [f"cv:{k}:{i}" for i in folds]
        elif part == "lodo":
            out += [f"lodo:{d}" for d in sorted({it.device for it in items if it.weight >= 1.0})]
        elif part.startswith("lodo:") or part == "none":
            out.append(part)
        elif part:
            raise ValueError(f"--protocol part {part!r}: use cv:k, cv:k:i+j, lodo, lodo:DEVICE")
    return out


# ------------------------------------------------------------------------------------------------
def model_from_config(cfg: Dict) -> torch.nn.Module:
    return A.build(cfg["arch"], width=cfg.get("width"), depth=cfg.get("depth"),
                   variant=cfg.get("variant"), stem_stride=cfg.get("stem_stride", 1),
                   tiny=cfg.get("tiny", False))


def read_json(path: str) -> Dict:
    with open(path) as f:
        return json.load(f)


def load_run(run_dir: str) -> Tuple[Dict, torch.nn.Module]:
    """A run folder's recipe (config.json) and its trained network (ckpt.pt)."""
    cfg = read_json(os.path.join(run_dir, "config.json"))
    model = model_from_config(cfg)
    model.load_state_dict(torch.load(os.path.join(run_dir, "ckpt.pt"), map_location="cpu")["model"])
    return cfg, model


def run_done(run_dir: str, recipe: str) -> bool:
    """Whether `run_dir` holds a finished run of the recipe with hash `recipe`."""
    p = os.path.join(run_dir, "result.json")
    return os.path.exists(p) and read_json(p).get("recipeHash") == recipe
