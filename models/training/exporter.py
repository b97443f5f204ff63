"""Export: a run's network to ONNX (opset 17, dynamic batch, `input` → `logits`), its model card
(schema in DEVELOPERS.md) and optionally a reference file that lets a TypeScript test check
onnxruntime-node against PyTorch.

The card's `validation` is gathered from the fold runs next to the final run (same recipe,
score_reports.gather_validation); its training-data text is counted from the frames the run
trained on (its result.json); `speed` is left null for the project's TypeScript benchmark.

Export layer: imports the lower layer (recipe, data, architectures) and scoring, never training.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import sys
from typing import Dict, Optional

import numpy as np
import torch

import architectures as A
from data import MEAN, SCALE, SIZE, STD, normalize, synthetic_frame, _to_tensor
from recipe import load_run, read_json
from score_reports import gather_validation
from scoring import variant_name


def export_onnx(model: torch.nn.Module, path: str) -> int:
    """Writes model.onnx (dynamic batch, input `input`, output `logits`); returns the opset used."""
    model.eval()
    dummy = torch.zeros(1, 3, SIZE, SIZE)
    last = None
    for opset in (17, 13):
        try:
            torch.onnx.export(model, dummy, path, input_names=["input"], output_names=["logits"],
                              dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
                              opset_version=opset, do_constant_folding=True,
                              training=torch.onnx.TrainingMode.EVAL)
            return opset
        except Exception as e:  # opset 17 missing in this torch build: fall back to 13
            last = e
    raise RuntimeError(f"ONNX export to {path} failed: {last}")


def reference_input() -> torch.Tensor:
    """A deterministic, normalised 1x3x224x224 input: a seeded synthetic frame, rounded to 4 dp."""
    img, _ = synthetic_frame(np.random.default_rng(1234))
    x = normalize(_to_tensor(img.resize((SIZE, SIZE)))[None])
    return torch.round(x * 1e4) / 1e4


@torch.no_grad()
def write_reference(model: torch.nn.Module, path: str) -> None:
    model.eval()
    x = reference_input()
    y = model(x)
    ref = {
        "note": "input is already normalised (x = (pixel*scale-mean)/std); logits from PyTorch eval mode",
        "input": {"shape": list(x.shape), "data": [round(v, 4) for v in x.flatten().tolist()]},
        "logits": {"shape": list(y.shape), "data": [round(v, 5) for v in y.flatten().tolist()]},
        "logitsStats": {"max": float(y.max()), "min": float(y.min()), "mean": float(y.mean())},
        "tolerance": {"abs": 1e-3},
    }
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        json.dump(ref, f, separators=(",", ":"))


def write_card(out_dir: str, model: torch.nn.Module, cfg: Dict, validation: Optional[Dict],
               default: bool, training: Dict) -> Dict:
    name = os.path.basename(os.path.normpath(out_dir))
    card = {
        "schema": 1,
        "name": name,
        "architecture": cfg["arch"],
        "variant": A.describe(cfg["arch"], model) + ("; self-trained on pseudo-labels of the unlabeled "
                                                     "frames" if cfg.get("pseudo_from") else ""),
        "file": "model.onnx",
        "format": "onnx",
        "input": {"name": "input", "width": SIZE, "height": SIZE, "channels": 3,
                  "channelOrder": "RGB", "layout": "NCHW", "dtype": "float32",
                  "normalization": {"scale": SCALE, "mean": MEAN, "std": STD},
                  **({"suppressColourOverlay": True} if cfg.get("suppress_colour") else {}),
                  **({"fieldOfView": True} if cfg.get("field_of_view") else {}),
                  **({"fieldOfViewFit": cfg["fov_fit"]} if cfg.get("fov_fit") else {})},
        "output": {"name": "logits", "kind": "logits", "classes": ["background", "gland"],
                   **({"singleRegion": True} if cfg.get("single_region") else {})},
        "parameters": A.count_params(model),
        "flopsPerFrame": A.count_flops(model, SIZE),
        "training": training,
        "validation": validation or {"method": "none: no held-out runs of this recipe", "iou": None,
                                     "dice": None, "perDevice": {}},
        "speed": None,
        "default": bool(default),
    }
    with open(os.path.join(out_dir, "card.json"), "w") as f:
        json.dump(card, f, indent=2)
        f.write("\n")
    return card


def export_run(run_dir: str, out_dir: str, default: bool, reference_out: str | None,
               single_region: bool = False, flip_average: bool = False) -> Dict:
    """Exports a run's model with its card. `single_region`: the card tells the runtime to keep one
    gland region; `flip_average`: the graph averages the frame and its mirror image. Either way the
    card's figures are the fold runs' scores of exactly that output (validate.VARIANTS)."""
    cfg, model = load_run(run_dir)
    cfg["single_region"] = True if single_region else None  # read by write_card (output.singleRegion)
    if flip_average:
        model = A.FlipAverage(model)
    model.eval()
    os.makedirs(out_dir, exist_ok=True)
    opset = export_onnx(model, os.path.join(out_dir, "model.onnx"))
    res = read_json(os.path.join(run_dir, "result.json"))
    if cfg.get("tiny"):
        validation = {"method": "synthetic smoke run (--tiny): held-out synthetic frames, not a "
                                "measurement on ultrasound", **{k: v for k, v in (res.get("tinyValidation") or {}).items()
                                                                 if k in ("iou", "dice", "perDevice")}}
        data = describe_data(res, cfg)
    else:
        validation = gather_validation(os.path.dirname(run_dir), cfg["recipeHash"],
                                       variant_name(single_region, flip_average), cfg["data"])
        data = describe_data(res, cfg)
    if cfg.get("pseudo_from") and not cfg.get("tiny"):
        n_pseudo = sum((res.get("trainCounts", {}).get("pseudo") or {}).values())
        data += (f" + pseudo-labels of {n_pseudo} of the unlabeled/ frames (self-training: the run "
                 f"'{cfg['pseudo_from']}' of the same split labels them, mean of frame and mirror, largest "
                 f"region; confident masks covering 3-35 % kept) at weight {cfg['pseudo_weight']}, drawn in 30 % "
                 "of the samples")
    if cfg.get("suppress_colour"):
        data += "; coloured overlays (calipers, drawn outlines) replaced by the surrounding grey at 224 px"
    if cfg.get("field_of_view"):
        data += ("; each frame cropped to its model window (the field of view found by the runtime's "
                 "detector, src/core/field-of-view.ts, in the square that holds it, black around it)")
    if cfg.get("appearance"):
        n_targets = res.get("appearanceTargets")   # runs before it was recorded: no count
        data += (f"; appearance transfer towards the {f'{n_targets} ' if n_targets else ''}unlabeled/ frames of all four "
                 f"scanners (histogram matching in {cfg['appearance']:.0%} of samples, random 3x3 convolution in 30 %)")
    if validation and single_region and not cfg.get("tiny"):
        validation["method"] += ("; scored on the product's output: the runtime's one-region clean-up "
                                 "(largest gland region kept, its holes filled; card output.singleRegion) "
                                 "before up-sampling")
    if validation and flip_average and not cfg.get("tiny"):
        validation["method"] += ("; scored with the test-time flip averaging that the exported graph does "
                                 "(frame and mirror image, probabilities averaged)")
    pre = ""
    if cfg.get("variant") == "mobilenet-v2":
        pre = ("encoder initialised with ImageNet MobileNetV2 weights (npm package nsfwjs 4.4.0, see "
               f"pretrained.py), encoder lr x{cfg.get('encoder_lr') or 1}; ")
    recipe = pre + (f"{cfg['steps']} steps (ran {res['steps']}), batch {cfg['batch']}, {cfg['crop']}px crops "
              + ("sampled from each frame's model window (field of view, black around it)" if cfg.get("field_of_view")
                 else "sampled from whole frames stretched to square")
              + f"; AdamW lr {cfg['lr']} wd {cfg['weight_decay']}, "
              f"warm-up + cosine; loss cross-entropy + {cfg['dice_weight']} x soft Dice (gland); "
              "augmentation: horizontal flip, rotation +-10 deg, "
              f"zoom {1 / (cfg.get('zoom') or 1.25):.2f}-{cfg.get('zoom') or 1.25:.2f}, "
              "shift +-10%, grayscale, gain/contrast +-30%, speckle (multiplicative), gaussian noise, "
              f"blur (strength {cfg['aug']}); early stop on training-loss plateau (patience "
              f"{cfg['patience']} evals); ONNX opset {opset}")
    training = {"data": data, "recipe": recipe, "epochs": round(res["steps"] * cfg["batch"] / max(1, len(res["train"])), 1),
                "steps": res["steps"], "seed": cfg["seed"], "recipeHash": cfg["recipeHash"],
                "date": dt.date.today().isoformat(), "tool": "models/training/train.py",
                # The labelled frames the shipped model learned: `sgus eval` marks them, as their
                # scores say nothing about accuracy.
                "frames": sorted(i for i in res.get("train", []) if not i.startswith(("u-", "syn-")))}
    card = write_card(out_dir, model, cfg, validation, default, training)
    if reference_out:
        write_reference(model, reference_out)
    sys.stderr.write(f"exported {out_dir}/model.onnx (opset {opset}, "
                     f"{os.path.getsize(os.path.join(out_dir, 'model.onnx')) / 1e6:.2f} MB), card.json"
                     + (f", reference {reference_out}" if reference_out else "") + "\n")
    return card


def describe_data(res: Dict, cfg: Dict) -> str:
    """The training-data text of a card, counted from the frames the final run actually trained on
    (result.json `trainCounts`: frames per source and device; `trainedOnPatients`)."""
    counts = res.get("trainCounts") or {}
    if cfg.get("tiny"):
        n = sum(sum(per.values()) for per in counts.values())
        held = (res.get("tinyValidation") or {}).get("n", 0)
        return (f"{n} synthetic ultrasound-like frames (--tiny, data.synthetic_frame)"
                + (f"; {held} more held out and scored" if held else ""))
    clin: Dict[str, int] = {}
    for src, per in counts.items():
        if src in ("pseudo", "synthetic"):
            continue
        for d, n in per.items():   # a device's frames may come from several sources (c2-*, pm-02/03)
            clin[d] = clin.get(d, 0) + n
    total = sum(clin.values())
    text = (f"sgus: {total} clinician-masked frames (annotated/: "
            + ", ".join(f"{n} {d}" for d, n in sorted(clin.items())) + f"; {len(res.get('trainedOnPatients', []))} patients) at loss weight 1")
    syn = sum((counts.get("synthetic") or {}).values())
    if syn:
        text += (f" + {syn} synthetic frames (scripts/make-synthetic-dataset.ts, the sample exam's generator) at "
                 f"weight {cfg['synthetic_weight']}")
    return text
