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

Command line only (imported by nobody): the recipe is in recipe.py, the loop in training_loop.py,
scoring in scoring.py, the export in exporter.py.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import architectures as A  # noqa: E402
from data import load_unlabeled  # noqa: E402
from exporter import export_run  # noqa: E402
from recipe import (DEFAULT_DATA, RUNS, expand_protocol, input_options, load_items, load_run,  # noqa: E402
                    recipe_hash, run_done, split_items, split_tag)
from scoring import evaluate  # noqa: E402
from training_loop import train_run  # noqa: E402


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
    # Loaded once for every run of the protocol, with the recipe's input options.
    unlabeled = (load_unlabeled(cfg["data"], options=input_options(cfg))
                 if cfg.get("pseudo_from") or cfg.get("appearance") else [])
    if args.epochs:
        n_train = len(split_items(items, args.val_split)[0])
        cfg["steps"] = max(1, math.ceil(args.epochs * n_train / args.batch))
    cfg["recipeHash"] = recipe_hash(cfg)

    if args.tiny:
        # Train on 8 synthetic frames, score the other 4, export everything into --out.
        train_part, val_part = items[:8], items[8:]
        res = train_run(cfg, train_part, "none", resume=False, unlabeled=unlabeled)
        run_dir = os.path.join(RUNS, name, "all")
        _, model = load_run(run_dir)
        res["tinyValidation"] = evaluate(model, val_part)
        with open(os.path.join(run_dir, "result.json"), "w") as f:
            json.dump(res, f, indent=1)
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
    for spec in specs:
        if args.protocol and run_done(os.path.join(RUNS, name, split_tag(spec)), cfg["recipeHash"]):
            sys.stderr.write(f"{name}/{split_tag(spec)}: already done with this recipe, reused\n")
        else:
            train_run(cfg, items, spec, resume=args.resume, unlabeled=unlabeled)
        if args.out and args.protocol and run_done(final_dir, cfg["recipeHash"]):
            export_run(final_dir, args.out, args.default, args.reference_out, args.single_region,
                       args.flip_average)
    if args.out and not args.protocol and specs == ["none"]:
        export_run(final_dir, args.out, args.default, args.reference_out, args.single_region,
                       args.flip_average)


if __name__ == "__main__":
    main()
