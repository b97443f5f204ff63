"""Scoring: IoU and Dice per frame at the ORIGINAL resolution, averaged over frames, for the raw
output and for what each export option ships.

Every score is also given under `variants`: `singleRegion` after the runtime's one-gland clean-up
(largest region, holes filled; card output.singleRegion), `flip` with test-time flip averaging in
the graph (--flip-average), and `flipSingleRegion` with both.

The network sees the frame resized to 224x224, or its model window (field of view) for recipes
with --field-of-view, as the runtime does; its gland probability is up-sampled bilinearly to the
frame's own size (placed in the window), thresholded at 0.5, and compared with the whole mask
(non-zero = gland) at the frame's resolution.

Imports only the lower layer (data, architectures): training and export both score with it.
"""
from __future__ import annotations

from typing import Dict, List

import numpy as np
import torch
import torch.nn.functional as F

from architectures import mirrored_softmax
from data import Item, normalize


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
