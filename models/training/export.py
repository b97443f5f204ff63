"""Export a trained network to ONNX, write its model card, and optionally a reference file that
lets a TypeScript test check onnxruntime-node against PyTorch.

    /usr/bin/python3 models/training/export.py --run models/training/runs/unet-s/all \
        --out models/unet-s [--reference-out /tmp/ref.json] [--default]

The card's `validation` is gathered from the fold runs next to the final run (same recipe);
`speed` is left null for the project's TypeScript benchmark to fill in. Command line only: the
export itself is exporter.py.
"""
from __future__ import annotations

import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from exporter import export_run  # noqa: E402


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
    export_run(args.run, args.out, args.default, args.reference_out, args.single_region, args.flip_average)


if __name__ == "__main__":
    main()
