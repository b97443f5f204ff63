"""The training loop: one run of a recipe on the training side of a split, its log, checkpoint and
result.json (with its held-out scores), in models/training/runs/<name>/<split>/.

Training layer: imports the lower layer (recipe, data, architectures, appearance, pretrained) and
scoring; never export (train.py, the entry point, exports after the runs).
"""
from __future__ import annotations

import datetime as dt
import json
import math
import os
import random
import sys
import time
from typing import Dict, List, Sequence

import numpy as np
import torch
import torch.nn.functional as F

import architectures as A
from data import Item, augment, count_items, normalize
from pseudo_labels import pseudo_label
from recipe import RUNS, model_from_config, recipe_hash, split_items, split_tag
from scoring import evaluate


def seed_all(seed: int) -> torch.Generator:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    g = torch.Generator()
    g.manual_seed(seed)
    return g


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


def appearance_bank(cfg: Dict, unlabeled: Sequence[Item]):
    from appearance import AppearanceBank
    bank = AppearanceBank(list(unlabeled), p_match=cfg["appearance"])
    sys.stderr.write(f"appearance targets: {len(bank)} unlabeled frames of {', '.join(bank.devices)}\n")
    return bank


def train_run(cfg: Dict, items: List[Item], spec: str, resume: bool,
              unlabeled: Sequence[Item] = ()) -> Dict:
    """Trains one model on the training side of `spec`; writes the run folder; returns result.
    `unlabeled`: the unlabeled frames (loaded once by the caller with the recipe's input options),
    needed by --pseudo-from and --appearance."""
    run_dir = os.path.join(RUNS, cfg["name"], split_tag(spec))
    os.makedirs(run_dir, exist_ok=True)
    rcfg = dict(cfg, val_split=spec, recipeHash=recipe_hash(cfg))
    with open(os.path.join(run_dir, "config.json"), "w") as f:
        json.dump(rcfg, f, indent=1)
    train_items, val_items = split_items(items, spec)
    if cfg.get("pseudo_from"):
        train_items = train_items + pseudo_label(cfg, spec, items, unlabeled)
    gen = seed_all(cfg["seed"])
    model = model_from_config(cfg)
    groups = [{"params": list(model.parameters())}]
    if isinstance(getattr(model, "encoder", None), A.MobileNetV2Encoder):
        if not cfg.get("tiny"):
            import pretrained
            pretrained.load_mobilenet_v2(model.encoder)
        # The ImageNet encoder learns slower than the fresh decoder, so that a few dozen frames do not
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
    bank = appearance_bank(cfg, unlabeled) if cfg.get("appearance") else None
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
              "trainCounts": count_items(train_items)["perSource"],
              **({"appearanceTargets": len(bank)} if bank is not None else {}),
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
