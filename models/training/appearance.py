"""Appearance transfer towards the unlabeled frames of every scanner (--appearance).

Scanners differ in gain curve, dynamic range, speckle size and smoothing: a network trained on two
learns their look. Two batch augmentations widen it, with the 225 unlabeled frames of all four
scanners (Philips included) as targets, no label needed:
- histogram matching: a frame's grey levels inside its field of view are mapped, rank for rank, to
  those of a random unlabeled frame (its field of view too), so the training frame takes that
  scanner's brightness distribution while keeping its own anatomy and mask;
- random shallow convolution: a random positive 3x3 kernel, mixed with the frame, changes the
  speckle's apparent size and sharpness (after RandConv, Xu et al. 2021).
"""
from __future__ import annotations

from typing import List, Optional

import torch
import torch.nn.functional as F

QUANTILES = 256


class AppearanceBank:
    """Grey-level quantiles of the field of view of each target frame."""

    def __init__(self, items: List, p_match: float = 0.5, p_conv: float = 0.3):
        qs = torch.linspace(0, 1, QUANTILES)
        rows = []
        for it in items:
            grey = it.src.mean(0)
            inside = grey[it.valid[0] > 0] if it.valid is not None else grey.flatten()
            if inside.numel() >= QUANTILES:
                rows.append(torch.quantile(inside, qs))
        if not rows:
            raise ValueError("appearance transfer needs unlabeled frames (unlabeled/ in --data)")
        self.quantiles = torch.stack(rows)   # N x QUANTILES
        self.devices = sorted({it.device for it in items})
        self.p_match, self.p_conv = p_match, p_conv

    def __len__(self) -> int:
        return self.quantiles.shape[0]

    def match_histograms(self, img: torch.Tensor, valid: Optional[torch.Tensor], gen: torch.Generator) -> torch.Tensor:
        """img B x 3 x H x W in [0,1]; a share p_match of the frames become grey with the grey-level
        distribution of a random target frame inside their field of view."""
        b = img.shape[0]
        out = img.clone()
        pick = torch.rand(b, generator=gen) < self.p_match
        targets = torch.randint(len(self), (b,), generator=gen)
        for i in torch.nonzero(pick).flatten().tolist():
            grey = img[i].mean(0)
            inside = (valid[i, 0] > 0) if valid is not None else torch.ones_like(grey, dtype=torch.bool)
            vals = grey[inside]
            n = vals.numel()
            if n < 16:
                continue
            # Rank of each pixel (ties broken by position), as a position in the target's quantiles.
            ranks = torch.empty(n, dtype=torch.float32)
            ranks[torch.argsort(vals)] = torch.arange(n, dtype=torch.float32)
            pos = ranks / (n - 1) * (QUANTILES - 1)
            lo = pos.floor().long().clamp(max=QUANTILES - 2)
            frac = pos - lo
            q = self.quantiles[targets[i]]
            mapped = q[lo] * (1 - frac) + q[lo + 1] * frac
            new = torch.zeros_like(grey)
            new[inside] = mapped
            out[i] = new.expand(3, -1, -1)
        return out

    def random_convolution(self, img: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        """A share p_conv of the frames mixed with themselves through a random positive 3x3 kernel."""
        b = img.shape[0]
        pick = torch.rand(b, generator=gen) < self.p_conv
        if not pick.any():
            return img
        out = img.clone()
        for i in torch.nonzero(pick).flatten().tolist():
            k = torch.softmax(torch.randn(9, generator=gen) * 1.5, 0).view(1, 1, 3, 3).repeat(3, 1, 1, 1)
            alpha = float(torch.rand(1, generator=gen))
            conv = F.conv2d(F.pad(img[i:i + 1], (1, 1, 1, 1), mode="replicate"), k, groups=3)
            out[i] = ((1 - alpha) * img[i] + alpha * conv[0]).clamp(0, 1)
        return out
