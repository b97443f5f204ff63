"""Train one SGUS segmentation network (PyTorch, CPU), validate it honestly, export ONNX + card.

    # one run, holding out fold 0 of 4-fold CV (result in models/training/runs/unet-s/cv4-0/)
    /usr/bin/python3 models/training/train.py --arch unet --width 16 --stem-stride 2 \
        --out models/unet-s --val-split cv:4:0
    # the whole protocol: every CV fold, both leave-one-device-out runs, then the final model on
    # all data, exported to models/unet-s/{model.onnx,card.json} with the fold numbers in the card
    /usr/bin/python3 models/training/train.py --arch unet --width 16 --stem-stride 2 \
        --out models/unet-s --protocol cv:4,lodo --default
    # smoke test on synthetic frames (< 1 min): ONNX, card and reference.json in --out
    /usr/bin/python3 models/training/train.py --tiny --out /tmp/sgus-tiny

Run folders (config.json, log.jsonl, ckpt.pt, result.json) go to models/training/runs/<name>/<split>/
(git-ignored). Completed runs of the same recipe are reused by --protocol; --resume continues an
interrupted run from its checkpoint.
"""
from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import math
import os
import random
import sys
import time
from typing import Dict, List, Tuple

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import architectures as A  # noqa: E402
from data import Item, SIZE, augment, load_sgus, load_synthetic, load_unlabeled, normalize  # noqa: E402
from validate import evaluate, largest_region  # noqa: E402

REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
RUNS = os.path.join(HERE, "runs")
DEFAULT_DATA = os.path.join(REPO, "..", "shared", "data", "sgus")

OPTIONAL_RECIPE_KEYS = ("synthetic", "synthetic_weight", "suppress_colour", "encoder_lr", "field_of_view",
                        "appearance", "zoom", "fov_fit")

# Settings that define a recipe (two runs with equal values are the same recipe).
RECIPE_KEYS = ("arch", "width", "depth", "variant", "stem_stride", "steps", "batch", "crop", "lr",
               "weight_decay", "dice_weight", "aug", "seed", "tiny", "pseudo_from",
               "pseudo_weight", "synthetic", "synthetic_weight", "suppress_colour", "encoder_lr",
               "field_of_view", "appearance", "zoom", "fov_fit")


# ------------------------------------------------------------------------------------------------
def seed_all(seed: int) -> torch.Generator:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    g = torch.Generator()
    g.manual_seed(seed)
    return g


def model_from_config(cfg: Dict) -> torch.nn.Module:
    return A.build(cfg["arch"], width=cfg.get("width"), depth=cfg.get("depth"),
                   variant=cfg.get("variant"), stem_stride=cfg.get("stem_stride", 1),
                   tiny=cfg.get("tiny", False))


def synthetic_folder(count: int, seed: int) -> str:
    """The project's synthetic frames (the generator of the sample exam and the tests), written once
    by scripts/make-synthetic-dataset.ts into the runs folder."""
    folder = os.path.join(RUNS, f"_synthetic-{count}-seed{seed}")
    if not os.path.exists(os.path.join(folder, "manifest.json")):
        import subprocess
        subprocess.run(["node", "--import", "tsx", os.path.join(REPO, "scripts", "make-synthetic-dataset.ts"),
                        "--out", folder, "--count", str(count), "--seed", str(seed + 1)], check=True, cwd=REPO)
    return folder


def load_items(cfg: Dict, data: str) -> List[Item]:
    import data as D
    D.SUPPRESS_COLOUR = bool(cfg.get("suppress_colour"))
    D.FIELD_OF_VIEW = bool(cfg.get("field_of_view"))
    D.FIT = cfg.get("fov_fit") or "letterbox"
    if cfg.get("tiny"):
        return load_synthetic(12, cfg["seed"])
    items = load_sgus(data)
    if cfg.get("synthetic"):
        # Weight < 1: synthetic frames always train and are never held out (split_items).
        items += D.load_folder(synthetic_folder(cfg["synthetic"], cfg["seed"]), cfg["synthetic_weight"])
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
    if spec == "none":
        return "all"
    if spec.startswith("cv:"):
        _, k, i = spec.split(":")
        return f"cv{k}-{i}"
    return spec.replace(":", "-")


def recipe_hash(cfg: Dict) -> str:
    s = json.dumps({k: cfg.get(k) for k in RECIPE_KEYS
                    # Options added later count only when used, so older recipes keep their hash.
                    if not ((k.startswith("pseudo") or k in OPTIONAL_RECIPE_KEYS) and cfg.get(k) is None)},
                   sort_keys=True)
    return hashlib.sha1(s.encode()).hexdigest()[:12]


def loss_fn(logits, mask, weights, dice_weight: float):
    """Cross-entropy + soft Dice on the gland class, per sample, weighted by label quality."""
    target = mask[:, 0].long()
    ce = F.cross_entropy(logits, target, reduction="none").mean((1, 2))
    p = torch.softmax(logits, 1)[:, 1]
    t = mask[:, 0]
    inter = (p * t).sum((1, 2))
    dice = 1 - (2 * inter + 1) / (p.sum((1, 2)) + t.sum((1, 2)) + 1)
    per = ce + dice_weight * dice
    return (per * weights).sum() / weights.sum()


class Progress:
    """One-line text progress bar on stderr."""

    def __init__(self, total: int, label: str):
        self.total, self.label, self.t0 = total, label, time.time()
        self.tty = sys.stderr.isatty()
        self.last = 0.0

    def update(self, step: int, **kv):
        now = time.time()
        if not self.tty and now - self.last < 10 and step != self.total:
            return
        self.last = now
        frac = step / self.total
        rate = step / max(now - self.t0, 1e-6)
        eta = (self.total - step) / max(rate, 1e-6)
        bar = "#" * int(frac * 24) + "." * (24 - int(frac * 24))
        extra = " ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in kv.items())
        line = f"{self.label} [{bar}] {step}/{self.total} {extra} {rate:.2f} it/s eta {eta:4.0f}s"
        sys.stderr.write(("\r" + line) if self.tty else (line + "\n"))
        sys.stderr.flush()

    def close(self):
        if self.tty:
            sys.stderr.write("\n")


# ------------------------------------------------------------------------------------------------
def train_run(cfg: Dict, items: List[Item], spec: str, resume: bool, log_every: int = 0) -> Dict:
    """Trains one model on the training side of `spec`; writes the run folder; returns result."""
    run_dir = os.path.join(RUNS, cfg["name"], split_tag(spec))
    os.makedirs(run_dir, exist_ok=True)
    rcfg = dict(cfg, val_split=spec, recipeHash=recipe_hash(cfg))
    with open(os.path.join(run_dir, "config.json"), "w") as f:
        json.dump(rcfg, f, indent=1)
    train_items, val_items = split_items(items, spec)
    if cfg.get("pseudo_from"):
        train_items = train_items + pseudo_label(cfg, spec, items)
    gen = seed_all(cfg["seed"])
    model = model_from_config(cfg)
    groups = [{"params": list(model.parameters())}]
    if isinstance(getattr(model, "encoder", None), A.MobileNetV2Encoder):
        if not cfg.get("tiny"):
            import pretrained
            pretrained.load_mobilenet_v2(model.encoder)
        # The ImageNet encoder learns slower than the fresh decoder, so that 12 frames do not
        # wash out its features in the first steps.
        enc = set(id(p) for p in model.encoder.parameters())
        groups = [{"params": [p for p in model.parameters() if id(p) not in enc]},
                  {"params": list(model.encoder.parameters()),
                   "lr": cfg["lr"] * (cfg.get("encoder_lr") or 1.0)}]
    opt = torch.optim.AdamW(groups, lr=cfg["lr"], weight_decay=cfg["weight_decay"])
    steps, warm = cfg["steps"], max(1, cfg["steps"] // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warm) * 0.5 * (1 + math.cos(math.pi * min(s, steps) / steps)))
    start, best_ema, since_best, ema = 0, float("inf"), 0, None
    ckpt_path = os.path.join(run_dir, "ckpt.pt")
    log_path = os.path.join(run_dir, "log.jsonl")
    if resume and os.path.exists(ckpt_path):
        ck = torch.load(ckpt_path, map_location="cpu")
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        sched.load_state_dict(ck["sched"])
        gen.set_state(ck["gen"])
        torch.set_rng_state(ck["torch_rng"])
        start, best_ema, since_best, ema = ck["step"], ck["best_ema"], ck["since_best"], ck["ema"]
        sys.stderr.write(f"resuming {run_dir} at step {start}\n")
    elif os.path.exists(log_path):
        os.remove(log_path)
    log = open(log_path, "a")
    log.write(json.dumps({"event": "start", "split": spec, "train": [it.id for it in train_items],
                          "val": [it.id for it in val_items], "step": start,
                          "time": dt.datetime.utcnow().isoformat() + "Z"}) + "\n")

    src = torch.stack([it.src for it in train_items])
    msk = torch.stack([it.src_mask for it in train_items])
    valid = torch.stack([it.valid for it in train_items]) if cfg.get("field_of_view") else None
    bank = appearance_bank(cfg) if cfg.get("appearance") else None
    wts = torch.tensor([it.weight for it in train_items])
    # Clinician frames are drawn as often as all weak frames together at most.
    prob = wts / wts.sum()
    pseudo = torch.tensor([it.source == "pseudo" for it in train_items])
    if pseudo.any():
        # Many pseudo-labelled frames: draw them in 30 % of the samples, the labelled ones in 70 %.
        lab = ~pseudo
        prob = torch.where(pseudo, 0.3 / pseudo.sum(), 0.7 * wts / wts[lab].sum())
    eval_every = cfg["eval_every"]
    bar = Progress(steps, f"{cfg['name']}/{split_tag(spec)}")
    model.train()
    t0 = time.time()
    step = start
    val_res = None
    stopped_early = False
    while step < steps:
        idx = torch.multinomial(prob, cfg["batch"], replacement=True, generator=gen)
        x, y = augment(src[idx], msk[idx], gen, cfg["crop"], cfg["aug"],
                       valid[idx] if valid is not None else None, bank, cfg.get("zoom") or 1.25)
        logits = model(normalize(x))
        loss = loss_fn(logits, y, wts[idx], cfg["dice_weight"])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        step += 1
        with torch.no_grad():
            pred = logits.argmax(1)
            t = y[:, 0].bool()
            inter = (pred.bool() & t).sum().item()
            union = (pred.bool() | t).sum().item()
            biou = inter / union if union else 1.0
        ema = loss.item() if ema is None else 0.95 * ema + 0.05 * loss.item()
        bar.update(step, loss=ema, iou=biou, **({"val_iou": val_res["iou"]} if val_res else {}))
        rec = {"step": step, "loss": round(loss.item(), 5), "ema": round(ema, 5),
               "iou": round(biou, 4), "lr": round(sched.get_last_lr()[0], 7)}
        if step % eval_every == 0 or step == steps:
            if val_items:
                val_res = evaluate(model, val_items)
                rec.update(val_iou=val_res["iou"], val_dice=val_res["dice"])
            # Early stopping watches the training loss only: the held-out frames are the test set.
            if ema < best_ema * 0.99:
                best_ema, since_best = ema, 0
            else:
                since_best += 1
            torch.save({"model": model.state_dict(), "opt": opt.state_dict(),
                        "sched": sched.state_dict(), "gen": gen.get_state(),
                        "torch_rng": torch.get_rng_state(), "step": step, "best_ema": best_ema,
                        "since_best": since_best, "ema": ema}, ckpt_path)
            if cfg["patience"] and since_best >= cfg["patience"] and step < steps:
                stopped_early = True
                rec["early_stop"] = True
        if step % 10 == 0 or "val_iou" in rec or step == steps:
            log.write(json.dumps(rec) + "\n")
            log.flush()
        if stopped_early:
            break
    bar.close()
    final_val = evaluate(model, val_items) if val_items else None
    result = {"split": spec, "recipeHash": rcfg["recipeHash"], "steps": step,
              "stoppedEarly": stopped_early, "seconds": round(time.time() - t0, 1),
              "train": [it.id for it in train_items],
              "trainedOnDevices": sorted({it.device for it in train_items if it.weight >= 1.0}),
              "trainedOnPatients": sorted({it.patient for it in train_items if it.weight >= 1.0}),
              "trainCounts": train_counts(train_items),
              "validation": final_val}
    with open(os.path.join(run_dir, "result.json"), "w") as f:
        json.dump(result, f, indent=1)
    log.write(json.dumps({"event": "end", **{k: v for k, v in result.items() if k != "train"}}) + "\n")
    log.close()
    if final_val:
        sys.stderr.write(f"{cfg['name']}/{split_tag(spec)}: held-out IoU {final_val['iou']:.3f} "
                         f"Dice {final_val['dice']:.3f} "
                         + " ".join(f"{p['id']}={p['iou']:.3f}" for p in final_val["perImage"]) + "\n")
    return result


_UNLABELED: List[Item] = []


def unlabeled_items(cfg: Dict) -> List[Item]:
    """The unlabeled frames of all four scanners, loaded once (cropped like the labelled ones)."""
    global _UNLABELED
    if not _UNLABELED:
        _UNLABELED = load_unlabeled(cfg["data"])
    return _UNLABELED


def appearance_bank(cfg: Dict):
    from appearance import AppearanceBank
    bank = AppearanceBank(unlabeled_items(cfg), p_match=cfg["appearance"])
    sys.stderr.write(f"appearance targets: {len(bank)} unlabeled frames of {', '.join(bank.devices)}\n")
    return bank


def train_counts(items: List[Item]) -> Dict[str, Dict[str, int]]:
    """Frames per source and device, for the card's training-data text."""
    out: Dict[str, Dict[str, int]] = {}
    for it in items:
        out.setdefault(it.source, {}).setdefault(it.device, 0)
        out[it.source][it.device] += 1
    return out


@torch.no_grad()
def pseudo_label(cfg: Dict, spec: str, labelled: List[Item]) -> List[Item]:
    """Self-training: the teacher run of the SAME split (so it never saw this split's held-out
    frames) labels the unlabeled frames of all four scanners (mean of the frame and its mirror);
    confident, plausible masks join training at weight `pseudo_weight`. With model windows the
    teacher learned two or more scanners, with appearance and scale augmentation, and its labels
    must also fit the gland prior of mask-priors/ (priors.py): where a teacher is lost on a new
    scanner its outlines tend to be unsure or implausible, and those are dropped. Confidence is
    measured inside the field of view only: the black around it is trivially certain."""
    tdir = os.path.join(RUNS, cfg["pseudo_from"], split_tag(spec))
    if not os.path.exists(os.path.join(tdir, "ckpt.pt")):
        raise FileNotFoundError(f"no teacher run {tdir} for split {spec}: run that recipe first")
    unl = unlabeled_items(cfg)
    tcfg = json.load(open(os.path.join(tdir, "config.json")))
    teacher = model_from_config(tcfg)
    teacher.load_state_dict(torch.load(os.path.join(tdir, "ckpt.pt"), map_location="cpu")["model"])
    teacher.eval()
    prior = None
    if cfg.get("field_of_view"):
        import priors
        # The labelled frames already loaded give the screens' windows (no second load).
        prior = priors.load_prior(cfg["data"], [it for it in labelled if it.window is not None])
        if prior is not None:
            sys.stderr.write(prior.describe() + "\n")
    out, seen = [], {}
    for i in range(0, len(unl), 16):
        chunk = unl[i:i + 16]
        x = normalize(torch.stack([it.net_in for it in chunk]))
        p = 0.5 * (torch.softmax(teacher(x), 1) + A.mirrored_softmax(teacher, x))[:, 1:2]
        p = F.interpolate(p, size=chunk[0].src.shape[-2:], mode="bilinear", align_corners=False)
        for it, pi in zip(chunk, p):
            # One gland per frame; 4-connected, as the shipped self-trained recipe was made.
            m = largest_region((pi[0] > 0.5).numpy(), eight=False)
            inside = it.valid[0] > 0 if it.valid is not None else torch.ones_like(pi[0], dtype=torch.bool)
            conf = float((2 * pi[0] - 1).abs()[inside].mean())
            ok = (prior.plausible(m) if prior is not None else 0.03 <= float(m.mean()) <= 0.35) and m.any()
            m = torch.from_numpy(m.astype(np.float32))[None]
            kept = ok and conf >= 0.9
            seen.setdefault(it.device, [0, 0])[0] += 1
            seen[it.device][1] += int(kept)
            if kept:
                out.append(Item(it.id, it.device, "pseudo", cfg["pseudo_weight"], it.src, m,
                                it.net_in, it.mask_full, it.patient, it.window, it.valid))
    sys.stderr.write(f"pseudo-labels from {tdir}: kept {len(out)} of {len(unl)} frames ("
                     + ", ".join(f"{d} {k}/{n}" for d, (n, k) in sorted(seen.items())) + ")\n")
    return out


def export_run(run_dir: str, out_dir: str, default: bool, reference_out: str | None,
               single_region: bool = False, flip_average: bool = False) -> Dict:
    """Exports a run's model with its card. `single_region`: the card tells the runtime to keep one
    gland region; `flip_average`: the graph averages the frame and its mirror image. Either way the
    card's figures are the fold runs' scores of exactly that output (validate.VARIANTS)."""
    from export import export_onnx, gather_validation, write_card, write_reference
    from validate import variant_name
    cfg = json.load(open(os.path.join(run_dir, "config.json")))
    cfg["single_region"] = True if single_region else None  # read by write_card (output.singleRegion)
    model = model_from_config(cfg)
    ck = torch.load(os.path.join(run_dir, "ckpt.pt"), map_location="cpu")
    model.load_state_dict(ck["model"])
    if flip_average:
        model = A.FlipAverage(model)
    model.eval()
    os.makedirs(out_dir, exist_ok=True)
    opset = export_onnx(model, os.path.join(out_dir, "model.onnx"))
    res = json.load(open(os.path.join(run_dir, "result.json")))
    if cfg.get("tiny"):
        validation = {"method": "synthetic smoke run (--tiny): held-out synthetic frames, not a "
                                "measurement on ultrasound", **{k: v for k, v in (res.get("tinyValidation") or {}).items()
                                                                 if k in ("iou", "dice", "perDevice")}}
        data = "synthetic ultrasound-like frames (--tiny)"
    else:
        validation = gather_validation(os.path.dirname(run_dir), cfg["recipeHash"],
                                       variant_name(single_region, flip_average), cfg["data"])
        data = describe_data(res, cfg)
    if cfg.get("pseudo_from") and not cfg.get("tiny"):
        n_pseudo = sum(1 for i in res.get("train", []) if i.startswith("u-"))
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
        data += (f"; appearance transfer towards the {len(unlabeled_items(cfg))} unlabeled/ frames of all four "
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
    """The training-data text of a card, from the frames the final run actually loaded."""
    counts = res.get("trainCounts") or {}
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


def expand_protocol(spec: str, items: List[Item]) -> List[str]:
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


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--arch", default="unet", choices=A.ARCHS)
    ap.add_argument("--data", default=DEFAULT_DATA, help="sgus data folder (default ../shared/data/sgus)")
    ap.add_argument("--out", default=None, help="model folder to export into (e.g. models/unet-s)")
    ap.add_argument("--name", default=None, help="run name (default: basename of --out, else arch)")
    ap.add_argument("--width", type=int, default=None, help="base width / growth rate (fc-densenet)")
    ap.add_argument("--depth", type=int, default=None, help="U-Net depth (number of poolings)")
    ap.add_argument("--variant", default=None,
                    help="fc-densenet: 103 | 67 | 56 | small; unet, fcn, linknet: mobilenet-v2 (ImageNet "
                         "encoder, weights from the npm package nsfwjs, see pretrained.py)")
    ap.add_argument("--single-region", action="store_true",
                    help="export a card that tells the runtime to keep only the largest gland region "
                         "(holes filled), with the fold scores measured after that same clean-up")
    ap.add_argument("--flip-average", action="store_true",
                    help="export with test-time flip averaging inside the graph (2 forward passes), "
                         "with the fold scores measured the same way")
    ap.add_argument("--encoder-lr", type=float, default=None,
                    help="pretrained encoder's learning rate as a fraction of --lr (default 1)")
    ap.add_argument("--stem-stride", type=int, default=1, choices=(1, 2), help="U-Net: 2 = half-res U")
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--epochs", type=int, default=None, help="alternative to --steps (frames seen / train set)")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--crop", type=int, default=224, help="training crop side (multiple of 32)")
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--weight-decay", type=float, default=1e-4)
    ap.add_argument("--field-of-view", action="store_true",
                    help="crop every frame to its model window (the field of view the runtime finds), in "
                         "training and (via the card) at inference")
    ap.add_argument("--fov-fit", choices=("letterbox", "stretch"), default="letterbox",
                    help="with --field-of-view: keep its aspect ratio (letterbox) or stretch it to the square")
    ap.add_argument("--zoom", type=float, default=None,
                    help="zoom augmentation range Z: scale drawn log-uniformly in 1/Z..Z (default 1.25)")
    ap.add_argument("--appearance", type=float, default=None, metavar="P",
                    help="appearance transfer towards the unlabeled frames of all scanners: histogram "
                         "matching in a share P of samples, random shallow convolution (appearance.py)")
    ap.add_argument("--dice-weight", type=float, default=1.0)
    ap.add_argument("--aug", type=float, default=1.0, help="augmentation strength (0 = off)")
    ap.add_argument("--eval-every", type=int, default=100)
    ap.add_argument("--patience", type=int, default=4, help="evals without training-loss gain; 0 = off")
    ap.add_argument("--val-split", default="none", help="cv:k:i | lodo:DEVICE | none")
    ap.add_argument("--protocol", default=None,
                    help="run these held-out splits, then the final model on all data, then export: "
                         "e.g. cv:4,lodo")
    ap.add_argument("--no-final", action="store_true",
                    help="with --protocol: run the held-out splits only (compare recipes before training a final model)")
    ap.add_argument("--pseudo-from", default=None,
                    help="self-training: run name whose model of the same split pseudo-labels unlabeled/")
    ap.add_argument("--pseudo-weight", type=float, default=0.3, help="loss weight of pseudo-labels")
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--default", action="store_true", help="mark the exported card as the default model")
    ap.add_argument("--reference-out", default=None, help="write input + PyTorch logits JSON here")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--tiny", action="store_true", help="synthetic-data smoke run (< 1 min)")
    ap.add_argument("--synthetic", type=int, default=0,
                    help="mix in N of the project's synthetic frames (the sample exam's generator)")
    ap.add_argument("--synthetic-weight", type=float, default=0.3, help="loss weight of synthetic frames")
    ap.add_argument("--suppress-colour", action="store_true",
                    help="replace coloured overlays (calipers, drawn outlines) by the grey around them, "
                         "in training and (via the card) at inference")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)

    if args.tiny:
        args.steps, args.batch, args.crop, args.eval_every, args.patience = 120, 4, 96, 120, 0
        if not args.out:
            ap.error("--tiny needs --out")
    name = args.name or (os.path.basename(os.path.normpath(args.out)) if args.out else args.arch)
    if args.tiny:
        name = "tiny-" + name
    cfg = {"name": name, "arch": args.arch, "width": args.width, "depth": args.depth,
           "variant": args.variant, "stem_stride": args.stem_stride, "steps": args.steps,
           "batch": args.batch, "crop": args.crop, "lr": args.lr, "weight_decay": args.weight_decay,
           "dice_weight": args.dice_weight, "aug": args.aug,
           "eval_every": args.eval_every, "patience": args.patience, "seed": args.seed,
           "tiny": args.tiny, "data": os.path.abspath(args.data), "pseudo_from": args.pseudo_from,
           "pseudo_weight": args.pseudo_weight if args.pseudo_from else None,
           "synthetic": args.synthetic or None,
           "synthetic_weight": args.synthetic_weight if args.synthetic else None,
           "suppress_colour": True if args.suppress_colour else None,
           "encoder_lr": args.encoder_lr, "field_of_view": True if args.field_of_view else None,
           "appearance": args.appearance, "zoom": args.zoom,
           "fov_fit": args.fov_fit if args.field_of_view and args.fov_fit != "letterbox" else None}
    if args.crop % 32:
        ap.error("--crop must be a multiple of 32")
    t0 = time.time()
    items = load_items(cfg, args.data)
    if args.epochs:
        n_train = len(split_items(items, args.val_split)[0])
        cfg["steps"] = max(1, math.ceil(args.epochs * n_train / args.batch))
    cfg["recipeHash"] = recipe_hash(cfg)

    if args.tiny:
        # Train on 8 synthetic frames, score the other 4, export everything into --out.
        train_part, val_part = items[:8], items[8:]
        res = train_run(cfg, train_part, "none", resume=False)
        model = model_from_config(cfg)
        run_dir = os.path.join(RUNS, name, "all")
        model.load_state_dict(torch.load(os.path.join(run_dir, "ckpt.pt"))["model"])
        res["tinyValidation"] = evaluate(model, val_part)
        json.dump(res, open(os.path.join(run_dir, "result.json"), "w"), indent=1)
        ref = args.reference_out or os.path.join(args.out, "reference.json")
        export_run(run_dir, args.out, args.default, ref, args.single_region, args.flip_average)
        sys.stderr.write(f"tiny run done in {time.time() - t0:.1f}s\n")
        return

    if args.protocol:
        # The final model runs last unless the protocol names `none` earlier (e.g. none,cv:4 to get
        # a shippable model first); the card is re-exported after every later run.
        specs = expand_protocol(args.protocol, items)
        if "none" not in specs and not args.no_final:
            specs.append("none")
    else:
        specs = [args.val_split]
    final_dir = os.path.join(RUNS, name, "all")

    def final_done() -> bool:
        p = os.path.join(final_dir, "result.json")
        return os.path.exists(p) and json.load(open(p)).get("recipeHash") == cfg["recipeHash"]

    for spec in specs:
        run_dir = os.path.join(RUNS, name, split_tag(spec))
        done = os.path.join(run_dir, "result.json")
        if args.protocol and os.path.exists(done) and \
                json.load(open(done)).get("recipeHash") == cfg["recipeHash"]:
            sys.stderr.write(f"{name}/{split_tag(spec)}: already done with this recipe, reused\n")
        else:
            train_run(cfg, items, spec, resume=args.resume)
        if args.out and args.protocol and final_done():
            export_run(final_dir, args.out, args.default, args.reference_out, args.single_region,
                       args.flip_average)
    if args.out and not args.protocol and specs == ["none"]:
        export_run(final_dir, args.out, args.default, args.reference_out, args.single_region,
                       args.flip_average)


if __name__ == "__main__":
    main()
