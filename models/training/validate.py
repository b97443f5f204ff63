"""Honest evaluation from the command line: re-score a run's held-out frames (IoU and Dice per
frame at the ORIGINAL resolution, raw and under every export variant; scoring.py says how), and
print the recorded held-out scores of a recipe's runs (score_reports.py).

    /usr/bin/python3 models/training/validate.py --run models/training/runs/unet-s/cv4-0 \
        [--data ../shared/data/sgus]   # scores that run's held-out images
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from recipe import DEFAULT_DATA, RUNS, load_items, load_run, split_items  # noqa: E402
from score_reports import compare_markdown, frames_markdown, print_summary  # noqa: E402
from scoring import VARIANTS, evaluate  # noqa: E402


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
        print(frames_markdown(RUNS, args.frames, args.data or DEFAULT_DATA))
        return
    if args.compare:
        print(compare_markdown(RUNS, args.compare))
        return
    if args.summary:
        print_summary(os.path.join(RUNS, args.summary))
        return
    if not args.run:
        ap.error("give --run RUN_DIR or --summary NAME")
    torch.set_num_threads(2)
    cfg, model = load_run(args.run)
    _, val = split_items(load_items(cfg, args.data or cfg["data"]), cfg["val_split"])
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
