"""Honest evaluation: IoU and Dice per image at the ORIGINAL resolution, averaged over images.

Every score is also given under `variants`, for what the export options ship: `singleRegion` after
the runtime's one-gland clean-up (largest region, holes filled; card output.singleRegion), `flip`
with test-time flip averaging in the graph (--flip-average), and `flipSingleRegion` with both.

The network sees the frame resized to 224x224, or its model window (field of view) for recipes
with --field-of-view, as the runtime does; its gland probability is up-sampled bilinearly to the
frame's own size (placed in the window), thresholded at 0.5, and compared with the whole mask
(non-zero = gland) at the frame's resolution.

    /usr/bin/python3 models/training/validate.py --run models/training/runs/unet-s/cv4-0 \
        [--data ../shared/data/sgus]   # scores that run's held-out images
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Dict, List

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from architectures import mirrored_softmax  # noqa: E402
from data import Item, normalize  # noqa: E402


def iou_dice(pred: np.ndarray, gt: np.ndarray):
    inter = np.logical_and(pred, gt).sum()
    union = np.logical_or(pred, gt).sum()
    s = pred.sum() + gt.sum()
    iou = 1.0 if union == 0 else inter / union
    dice = 1.0 if s == 0 else 2 * inter / s
    return float(iou), float(dice)


def largest_region(fg: np.ndarray, eight: bool = True) -> np.ndarray:
    """The largest connected foreground region (8- or 4-connected; ties go to the first in raster
    order) with its holes filled (background not connected to the edge, 4-connected)."""
    from scipy import ndimage
    lab, n = ndimage.label(fg, structure=np.ones((3, 3), bool) if eight else None)
    if n > 1:
        sizes = ndimage.sum(fg, lab, range(1, n + 1))
        fg = lab == 1 + int(np.argmax(sizes))
    return ndimage.binary_fill_holes(fg)


def single_region(prob: torch.Tensor, thr: float = 0.5) -> torch.Tensor:
    """The runtime's `singleRegion` clean-up (src/core/mask-cleanup.ts), at model resolution: keep
    the largest 8-connected gland component, fill its holes, and fold the result back into the
    probabilities just over / under the threshold."""
    p = prob[0, 0].numpy()
    fg = largest_region(p > thr)
    eps = 1e-4
    out = np.where(fg, np.maximum(p, thr + eps), np.where(p > thr, thr - eps, p)).astype(np.float32)
    return torch.from_numpy(out)[None, None]


VARIANTS = ("singleRegion", "flip", "flipSingleRegion")


def to_frame(prob: torch.Tensor, h: int, w: int, mw) -> np.ndarray:
    """The model's 1x1xSxS gland probability at the frame's h x w pixels: up-sampled to the whole
    frame, or (with a model window) to the window's square and placed there, 0 outside the field
    of view, as the runtime's post-processing does (src/segmenter/postprocess.ts)."""
    if mw is None:
        return F.interpolate(prob, size=(h, w), mode="bilinear", align_corners=False)[0, 0].numpy()
    win, fov = mw["window"], mw["fov"]
    up = F.interpolate(prob, size=(win["height"], win["width"]), mode="bilinear", align_corners=False)[0, 0].numpy()
    out = np.zeros((h, w), np.float32)
    x0, y0 = fov["x"], fov["y"]
    x1, y1 = x0 + fov["width"], y0 + fov["height"]
    out[y0:y1, x0:x1] = up[y0 - win["y"]:y1 - win["y"], x0 - win["x"]:x1 - win["x"]]
    return out


@torch.no_grad()
def evaluate(model: torch.nn.Module, items: List[Item]) -> Dict:
    """Scores the raw output, and under `variants` the output as shipped with the export options:
    `singleRegion` after the runtime's one-region clean-up (card output.singleRegion), `flip` with
    test-time flip averaging (architectures.FlipAverage, inside the exported graph), and both."""
    model.eval()
    per: Dict[str, List[Dict]] = {k: [] for k in ("plain",) + VARIANTS}
    for it in items:
        x = normalize(it.net_in[None])
        prob = torch.softmax(model(x), 1)[:, 1:2]
        flip = 0.5 * (prob + mirrored_softmax(model, x)[:, 1:2])
        h, w = it.mask_full.shape
        probs = {"plain": prob, "singleRegion": single_region(prob), "flip": flip,
                 "flipSingleRegion": single_region(flip)}
        for k, p in probs.items():
            up = to_frame(p, h, w, it.window)
            iou, dice = iou_dice(up > 0.5, it.mask_full)
            per[k].append({"id": it.id, "device": it.device, "iou": round(iou, 4), "dice": round(dice, 4)})
    model.train()
    res = summarize(per["plain"])
    if items:
        res["variants"] = {k: summarize(per[k]) for k in VARIANTS}
    return res


def variant_name(single_region: bool, flip: bool) -> str | None:
    if single_region and flip:
        return "flipSingleRegion"
    return "singleRegion" if single_region else "flip" if flip else None


def summarize(per: List[Dict]) -> Dict:
    out = {"n": len(per), "perImage": per}
    if per:
        out["iou"] = round(float(np.mean([p["iou"] for p in per])), 4)
        out["dice"] = round(float(np.mean([p["dice"] for p in per])), 4)
        devs = sorted({p["device"] for p in per})
        out["perDevice"] = {d: {"iou": round(float(np.mean([p["iou"] for p in per if p["device"] == d])), 4),
                                "dice": round(float(np.mean([p["dice"] for p in per if p["device"] == d])), 4),
                                "n": sum(1 for p in per if p["device"] == d)} for d in devs}
    return out


def print_summary(root: str) -> None:
    """Per split and over all CV folds (frame-weighted): IoU of the raw output and of each variant."""
    import glob
    rows, cv = [], {k: [] for k in ("plain",) + VARIANTS}
    for path in sorted(glob.glob(os.path.join(root, "*", "result.json"))):
        r = json.load(open(path))
        v = r.get("validation")
        if not v or r["split"] == "none":
            continue
        var = v.get("variants", {})
        ious = [v["iou"]] + [var.get(k, {}).get("iou") for k in VARIANTS]
        rows.append((r["split"], r.get("recipeHash", "?"), v["n"], ious))
        if r["split"].startswith("cv:"):
            cv["plain"] += [p["iou"] for p in v["perImage"]]
            for k in VARIANTS:
                cv[k] += [p["iou"] for p in var.get(k, {}).get("perImage", [])]
    fmt = lambda x: "       -" if x is None else f"{x:8.4f}"  # noqa: E731
    print(f"{'split':22s} {'recipe':12s} {'n':>2s} {'plain':>8s} " + " ".join(f"{k:>16s}" for k in VARIANTS))
    for split, h, n, ious in rows:
        print(f"{split:22s} {h:12s} {n:2d} {fmt(ious[0])} " + " ".join(f"{fmt(x):>16s}" for x in ious[1:]))
    if cv["plain"]:
        mean = {k: (float(np.mean(x)) if len(x) == len(cv["plain"]) else None) for k, x in cv.items()}
        print(f"{'CV (per frame)':22s} {'':12s} {len(cv['plain']):2d} {fmt(mean['plain'])} "
              + " ".join(f"{fmt(mean[k]):>16s}" for k in VARIANTS))


def held_out_runs(root: str, name: str, variant: str):
    """(split, scores) of every recorded held-out run of recipe `name`, scores of `variant` where recorded."""
    import glob
    for path in sorted(glob.glob(os.path.join(root, name, "*", "result.json"))):
        r = json.load(open(path))
        v = r.get("validation")
        if v and r["split"] != "none":
            yield r["split"], v.get("variants", {}).get(variant, v)


def compare_markdown(root: str, names: List[str], variant: str = "singleRegion") -> str:
    """A Markdown table of recipes side by side, from their recorded held-out runs (no re-scoring):
    leave-one-device-out IoU per held-out device, the worst of them, and cross-validation IoU."""
    rows, devices = [], set()
    for name in names:
        lodo, cv = {}, []
        for split, v in held_out_runs(root, name, variant):
            if split.startswith("lodo:"):
                lodo[split[5:]] = v["iou"]
            elif split.startswith("cv:"):
                cv += [p["iou"] for p in v["perImage"]]
        devices |= set(lodo)
        rows.append((name, lodo, cv))
    devs = sorted(devices)
    out = ["| recipe | " + " | ".join(f"LODO {d}" for d in devs) + " | worst held-out device | CV IoU (frames) |",
           "| --- | " + " | ".join("---" for _ in devs) + " | --- | --- |"]
    for name, lodo, cv in rows:
        worst = min(lodo.values()) if len(lodo) == len(devs) and lodo else None
        out.append(f"| {name} | " + " | ".join(f"{lodo[d]:.3f}" if d in lodo else "–" for d in devs)
                   + f" | {'%.3f' % worst if worst is not None else '–'} | "
                   + (f"{np.mean(cv):.3f} ({len(cv)})" if cv else "–") + " |")
    return "\n".join(out)


def frames_markdown(root: str, name: str, data: str, variant: str = "singleRegion") -> str:
    """Per frame, a recipe's held-out IoU by leave-one-device-out and by cross-validation (from its
    recorded runs), beside the published model's IoU where the manifest gives it."""
    lodo, cv = {}, {}
    for split, v in held_out_runs(root, name, variant):
        for p in v["perImage"]:
            (lodo if split.startswith("lodo:") else cv)[p["id"]] = p["iou"]
    manifest = json.load(open(os.path.join(data, "annotated", "manifest.json")))
    out = ["| frame | device | LODO IoU | CV IoU | published model IoU |", "| --- | --- | --- | --- | --- |"]
    f = lambda x: "–" if x is None else f"{x:.3f}"  # noqa: E731
    for e in manifest:
        out.append(f"| {e['id']} | {e['device']} | {f(lodo.get(e['id']))} | {f(cv.get(e['id']))} | "
                   f"{f(e.get('published_model_iou'))} |")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", help="run folder with ckpt.pt and config.json")
    ap.add_argument("--summary", metavar="NAME",
                    help="print the recorded held-out scores of every run of runs/NAME (no re-scoring)")
    ap.add_argument("--compare", nargs="+", metavar="NAME",
                    help="Markdown table of these recipes' recorded held-out scores (one-region variant)")
    ap.add_argument("--frames", metavar="NAME", help="Markdown table of a recipe's held-out IoU per frame")
    ap.add_argument("--data", default=None)
    ap.add_argument("--update", action="store_true",
                    help="write the scores into the run's result.json (runs scored before the "
                         "variants existed)")
    args = ap.parse_args()
    if args.frames:
        here = os.path.dirname(os.path.abspath(__file__))
        print(frames_markdown(os.path.join(here, "runs"), args.frames,
                              args.data or os.path.join(here, "..", "..", "..", "shared", "data", "sgus")))
        return
    if args.compare:
        print(compare_markdown(os.path.join(os.path.dirname(os.path.abspath(__file__)), "runs"), args.compare))
        return
    if args.summary:
        print_summary(os.path.join(os.path.dirname(os.path.abspath(__file__)), "runs", args.summary))
        return
    if not args.run:
        ap.error("give --run RUN_DIR or --summary NAME")
    torch.set_num_threads(2)
    import train  # noqa: E402  (shares model building and split logic)
    cfg = json.load(open(os.path.join(args.run, "config.json")))
    model = train.model_from_config(cfg)
    ck = torch.load(os.path.join(args.run, "ckpt.pt"), map_location="cpu")
    model.load_state_dict(ck["model"])
    items = train.load_items(cfg, args.data or cfg["data"])
    _, val = train.split_items(items, cfg["val_split"])
    if not val:
        sys.exit("this run has no held-out images (val split 'none'); nothing to score honestly")
    res = evaluate(model, val)
    print(json.dumps({k: v for k, v in res.items() if k not in ("perImage", "variants")}, indent=1))
    print("  " + " " * 24 + "IoU plain  " + "  ".join(f"{k:>16s}" for k in VARIANTS))
    for i, p in enumerate(res["perImage"]):
        print(f"  {p['id']:8s} {p['device']:14s} {p['iou']:10.3f}  "
              + "  ".join(f"{res['variants'][k]['perImage'][i]['iou']:16.3f}" for k in VARIANTS))
    print(f"  {'mean':24s} {res['iou']:10.4f}  " + "  ".join(f"{res['variants'][k]['iou']:16.4f}" for k in VARIANTS))
    if args.update:
        path = os.path.join(args.run, "result.json")
        r = json.load(open(path))
        r["validation"] = res
        with open(path, "w") as f:
            json.dump(r, f, indent=1)
        print(f"updated {path}")


if __name__ == "__main__":
    main()
