"""Export a trained network to ONNX, write its model card, and optionally a reference file that
lets a TypeScript test check onnxruntime-node against PyTorch.

    /usr/bin/python3 models/training/export.py --run models/training/runs/unet-s/all \
        --out models/unet-s [--reference-out /tmp/ref.json] [--default]

The card's `validation` is gathered from the fold runs next to the final run (same recipe);
`speed` is left null for the project's TypeScript benchmark to fill in.
"""
from __future__ import annotations

import argparse
import datetime as dt
import glob
import json
import os
import sys
from typing import Dict, List, Optional

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import architectures as A  # noqa: E402
from data import MEAN, SCALE, SIZE, STD, normalize, synthetic_frame, _to_tensor  # noqa: E402


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
    from validate import summarize
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


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", required=True, help="run folder (ckpt.pt + config.json) of the final model")
    ap.add_argument("--out", required=True, help="model folder, e.g. models/unet-s")
    ap.add_argument("--reference-out", default=None, help="write input + PyTorch logits JSON here")
    ap.add_argument("--default", action="store_true", help="mark this card as the default model")
    ap.add_argument("--single-region", action="store_true",
                    help="card tells the runtime to keep one gland region; figures scored that way")
    ap.add_argument("--flip-average", action="store_true",
                    help="export with test-time flip averaging in the graph; figures scored that way")
    args = ap.parse_args()
    torch.set_num_threads(2)
    import train
    train.export_run(args.run, args.out, args.default, args.reference_out, args.single_region,
                     args.flip_average)


if __name__ == "__main__":
    main()
