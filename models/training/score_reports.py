"""The recorded held-out scores of a recipe's runs (result.json of each split, no re-scoring):
tables that compare recipes and frames, and the `validation` block of a model card.

Scoring layer: imports scoring only (and reads run folders).
"""
from __future__ import annotations

import glob
import json
import os
from typing import Dict, List, Optional

import numpy as np

from scoring import VARIANTS, summarize


def print_summary(root: str) -> None:
    """Per split and over all CV folds (frame-weighted): IoU of the raw output and of each variant."""
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


def published_comparison(data_root: str, cv_per: List[Dict], lodo: Dict) -> Optional[Dict]:
    """Side by side on the frames whose published-model IoU the manifest gives (the pm-* frames):
    this recipe's held-out IoU by cross-validation and by leave-one-device-out, and the published
    FCN-DenseNet103's IoU against the same clinician masks."""
    man = os.path.join(data_root, "annotated", "manifest.json")
    if not os.path.exists(man):
        return None
    published = {e["id"]: e["published_model_iou"] for e in json.load(open(man)) if "published_model_iou" in e}
    cv = {p["id"]: p["iou"] for p in cv_per}
    lo = {p["id"]: p["iou"] for r in lodo.values() for p in r.get("perImage", [])}
    frames = [{"id": i, "publishedModel": published[i], **({"crossValidation": cv[i]} if i in cv else {}),
               **({"leaveOneDeviceOut": lo[i]} if i in lo else {})} for i in sorted(published)]
    if not frames:
        return None
    mean = lambda key: (round(float(np.mean([f[key] for f in frames])), 4)  # noqa: E731
                        if all(key in f for f in frames) else None)
    return {"frames": frames, "meanPublishedModel": mean("publishedModel"),
            "meanCrossValidation": mean("crossValidation"), "meanLeaveOneDeviceOut": mean("leaveOneDeviceOut")}


def gather_validation(run_root: str, recipe_hash: str, variant: Optional[str] = None,
                      data_root: Optional[str] = None) -> Optional[Dict]:
    """Collects result.json of the fold runs under run_root made with the same recipe (their scores
    of `variant`, validate.VARIANTS, when the export ships flip averaging or one-region clean-up)."""
    cv_per, cv_folds, lodo, k = [], [], {}, None
    for res_path in sorted(glob.glob(os.path.join(run_root, "*", "result.json"))):
        r = json.load(open(res_path))
        if r.get("recipeHash") != recipe_hash or r["split"] == "none":
            continue
        v = r["validation"]
        if variant:
            if variant not in v.get("variants", {}):
                raise SystemExit(f"{res_path} has no '{variant}' scores: re-score it with "
                                 f"validate.py --run {os.path.dirname(res_path)} --update")
            v = v["variants"][variant]
        if r["split"].startswith("cv:"):
            k = int(r["split"].split(":")[1])
            cv_per += v["perImage"]
            cv_folds.append({"fold": r["split"], "test": [p["id"] for p in v["perImage"]],
                             "iou": v["iou"], "dice": v["dice"], "steps": r["steps"]})
        elif r["split"].startswith("lodo:"):
            dev = r["split"].split(":", 1)[1]
            lodo[dev] = {"iou": v["iou"], "dice": v["dice"], "n": v["n"],
                         "trainedOn": r["trainedOnDevices"], "steps": r["steps"],
                         "perImage": [{"id": p["id"], "iou": p["iou"], "dice": p["dice"]} for p in v["perImage"]]}
    if not cv_per and not lodo:
        return None
    out: Dict = {}
    parts = []
    if cv_per:
        s = summarize(cv_per)
        ids = sorted({p["id"] for p in cv_per})
        parts.append(
            f"{k}-fold cross-validation over the {len(ids)} clinician-masked frames "
            f"({len(cv_folds)} of {k} folds run; folds split by patient, stratified by device); each "
            "frame scored once by a fold model that never trained on it or its patient. IoU/Dice per "
            "frame at the frame's original resolution (gland probability up-sampled bilinearly, "
            "threshold 0.5), averaged over frames; `iou`, `dice`, `perDevice` are these "
            "cross-validation figures; final model trained on all frames with the same recipe")
        out.update({"iou": s["iou"], "dice": s["dice"],
                    "perDevice": {d: {"iou": x["iou"], "dice": x["dice"]} for d, x in s["perDevice"].items()},
                    "folds": cv_folds,
                    "perImage": [{"id": p["id"], "iou": p["iou"], "dice": p["dice"]} for p in cv_per]})
    if lodo:
        parts.append("leave-one-device-out (`leaveOneDeviceOut`): train on the other devices' clinician "
                     "frames, test on all clinician frames of the held-out device; `worstHeldOutDevice` is "
                     "the headline figure: the held-out device on which the model did worst"
                     + ("" if cv_per else "; `iou`/`dice` are the frame-weighted mean of the held-out "
                        "devices, `perDevice` each device's held-out figures"))
        out["leaveOneDeviceOut"] = lodo
        worst = min(lodo, key=lambda d: lodo[d]["iou"])
        out["worstHeldOutDevice"] = {"device": worst, "iou": lodo[worst]["iou"], "dice": lodo[worst]["dice"]}
        if not cv_per:
            per = {d: {"iou": x["iou"], "dice": x["dice"]} for d, x in lodo.items()}
            n = sum(x["n"] for x in lodo.values())
            out.update({"iou": round(sum(x["iou"] * x["n"] for x in lodo.values()) / n, 4),
                        "dice": round(sum(x["dice"] * x["n"] for x in lodo.values()) / n, 4),
                        "perDevice": per})
    comp = published_comparison(data_root, cv_per, lodo) if data_root else None
    if comp:
        out["publishedModelComparison"] = comp
        parts.append("`publishedModelComparison`: on the frames with a published-model figure, this model's "
                     "held-out IoU beside the published FCN-DenseNet103's (manifest published_model_iou)")
    out = {"method": "; ".join(parts), **out}
    return out
