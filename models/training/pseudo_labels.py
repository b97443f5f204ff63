"""Self-training (--pseudo-from): the teacher run of the same split labels the unlabeled frames.

Training layer: imports the lower layer (recipe, data, architectures, priors) and scoring.
"""
from __future__ import annotations

import os
import sys
from typing import Dict, List, Sequence

import numpy as np
import torch
import torch.nn.functional as F

import architectures as A
from data import Item, normalize
from recipe import RUNS, load_run, split_tag
from scoring import largest_region


@torch.no_grad()
def pseudo_label(cfg: Dict, spec: str, labelled: List[Item], unlabeled: Sequence[Item]) -> List[Item]:
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
    unl = list(unlabeled)
    _, teacher = load_run(tdir)
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
