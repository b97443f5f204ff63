"""Shape and location priors from the clinician masks without images (mask-priors/).

The 166 masks of mask-priors/ outline glands on the screens of three scanners whose screen layout
the labelled frames show (same frame size, same device): each prior mask is put into the model
window of a labelled frame of its screen size (models/training/data.py, the runtime's field of
view), which gives how much of the window a gland covers and where its centre lies. Pseudo-labels
(train.py --pseudo-from) outside those ranges are implausible and dropped, whatever the teacher's
confidence. Screens of a size no labelled frame has (the Philips masks) give no window and are not
used.
"""
from __future__ import annotations

import json
import os
from typing import Dict, List, Optional

import numpy as np
from PIL import Image


class GlandPrior:
    """Ranges (2.5th–97.5th percentile, widened by `margin`) of the gland's share of the model
    window and of its centre (x, y as shares of the window side)."""

    def __init__(self, fractions: List[float], centres: List[tuple], n_masks: int, margin: float = 0.25):
        f = np.asarray(fractions)
        c = np.asarray(centres)
        lo, hi = np.percentile(f, [2.5, 97.5])
        self.fraction = (float(lo * (1 - margin)), float(hi * (1 + margin)))
        cx = np.percentile(c[:, 0], [2.5, 97.5])
        cy = np.percentile(c[:, 1], [2.5, 97.5])
        w = margin * 0.5
        self.centre_x = (float(cx[0] - w), float(cx[1] + w))
        self.centre_y = (float(cy[0] - w), float(cy[1] + w))
        self.n = n_masks

    def plausible(self, mask: np.ndarray) -> bool:
        """`mask`: S x S bool over the model window."""
        frac = float(mask.mean())
        if not self.fraction[0] <= frac <= self.fraction[1]:
            return False
        ys, xs = np.nonzero(mask)
        cx, cy = (xs.mean() + 0.5) / mask.shape[1], (ys.mean() + 0.5) / mask.shape[0]
        return self.centre_x[0] <= cx <= self.centre_x[1] and self.centre_y[0] <= cy <= self.centre_y[1]

    def describe(self) -> str:
        return (f"gland prior from {self.n} mask-priors/ masks: {self.fraction[0]:.3f}-{self.fraction[1]:.3f} of "
                f"the window, centre x {self.centre_x[0]:.2f}-{self.centre_x[1]:.2f}, y {self.centre_y[0]:.2f}-"
                f"{self.centre_y[1]:.2f}")


def load_prior(root: str, labelled: List) -> Optional[GlandPrior]:
    """`labelled`: items (data.Item) with `window` set; their windows by screen size place the priors."""
    man = os.path.join(root, "mask-priors", "manifest.json")
    if not os.path.exists(man):
        return None
    windows: Dict[tuple, Dict] = {}
    for it in labelled:
        if it.window is not None:
            windows.setdefault((it.window["frameWidth"], it.window["frameHeight"]), it.window)
    fractions, centres, n = [], [], 0
    for e in json.load(open(man)):
        mw = windows.get((e["width"], e["height"]))
        if mw is None:
            continue
        m = np.asarray(Image.open(os.path.join(root, "mask-priors", e["mask"])).convert("L")) > 0
        win = mw["window"]
        canvas = np.zeros((win["height"], win["width"]), bool)
        # The part of the screen inside the window (the window may reach past the screen).
        x0, y0 = max(0, win["x"]), max(0, win["y"])
        x1, y1 = min(m.shape[1], win["x"] + win["width"]), min(m.shape[0], win["y"] + win["height"])
        canvas[y0 - win["y"]:y1 - win["y"], x0 - win["x"]:x1 - win["x"]] = m[y0:y1, x0:x1]
        if not canvas.any():
            continue
        ys, xs = np.nonzero(canvas)
        fractions.append(float(canvas.mean()))
        centres.append(((xs.mean() + 0.5) / canvas.shape[1], (ys.mean() + 0.5) / canvas.shape[0]))
        n += 1
    return GlandPrior(fractions, centres, n) if n >= 10 else None
