"""Data loading, synthetic frames and ultrasound augmentation for the SGUS training tool.

With `InputOptions.field_of_view` (recipes with --field-of-view) each frame is cropped to its model window: the
square around the ultrasound image (the field of view) that the runtime finds with the same code
(src/core/field-of-view.ts, read through scripts/field-of-view.ts), black outside the field of
view. Without it, frames are stretched to a square as older runtimes did. Either way they are kept
at SRC pixels for augmentation and sampled to the training crop by one affine grid_sample per batch
(flip, rotation, scale, translation), followed by intensity augmentation (gain, contrast, speckle,
gaussian noise, blur) and, with --appearance, appearance transfer towards the unlabeled frames of
all four scanners (appearance.py), done on the batch with torch.

How frames become network input (colour suppression, field of view, fit) is an `InputOptions`
value passed to every loader: nothing here is set from the command line (recipe.input_options
builds it from a recipe).
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from typing import Dict, List, Optional

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw

SRC = 288      # side of the stored square frames that augmentation samples from
SIZE = 224     # network input side
SCALE = 1.0 / 255.0
MEAN = [0.5, 0.5, 0.5]
STD = [0.25, 0.25, 0.25]


@dataclass
class Item:
    id: str
    device: str
    source: str
    weight: float                 # loss weight: 1 clinician, lower for the published model's masks
    src: torch.Tensor             # 3 x SRC x SRC float in [0, 1]
    src_mask: torch.Tensor        # 1 x SRC x SRC float {0, 1}
    net_in: torch.Tensor          # 3 x SIZE x SIZE float in [0, 1], resized like the runtime does
    mask_full: np.ndarray = field(repr=False)   # H x W bool at the original resolution
    patient: str = ""             # frames of one patient always fall in the same split
    window: Optional[Dict] = None  # the runtime's model window (fov, window in frame pixels), or None
    valid: Optional[torch.Tensor] = None  # 1 x SRC x SRC: 1 inside the field of view


def _load_pair(img_path: str, mask_path: str):
    img = Image.open(img_path).convert("RGB")
    mask = Image.open(mask_path).convert("L")
    if mask.size != img.size:
        raise ValueError(f"mask {mask_path} is {mask.size}, image {img_path} is {img.size}")
    return img, mask


# The runtime's overlay detector (src/core/colour-overlay.ts): a pixel is coloured when max - min
# channel > CHROMA_THRESHOLD; it takes the mean grey of the (2r+1)^2 window, r = OVERLAY_RADIUS.
CHROMA_THRESHOLD = 24
OVERLAY_RADIUS = 2


@dataclass(frozen=True)
class InputOptions:
    """How a frame becomes network input, as the card tells the runtime to do it too."""
    suppress_colour: bool = False   # coloured overlays replaced by the grey around them (input.suppressColourOverlay)
    field_of_view: bool = False     # frames cropped to their model window (input.fieldOfView)
    fit: str = "letterbox"          # or "stretch": the field of view scaled to fill the square (input.fieldOfViewFit)


def suppress_colour(a: np.ndarray, threshold: int = CHROMA_THRESHOLD, radius: int = OVERLAY_RADIUS) -> np.ndarray:
    """H x W x 3 uint8/float 0-255: pixels with max-min > threshold get the mean grey of the
    non-coloured pixels in the (2r+1)^2 window around them (the darkest channel where none)."""
    from scipy.ndimage import uniform_filter
    a = a.astype(np.float32)
    mx, mn = a.max(2), a.min(2)
    bad = (mx - mn) > threshold
    if not bad.any():
        return a
    keep = (~bad).astype(np.float64)
    grey = a.mean(2) * keep
    size = 2 * radius + 1
    # Same window sums as the runtime's clipped integral images: the zero padding cancels in s/c.
    s = uniform_filter(grey, size, mode="constant")
    c = uniform_filter(keep, size, mode="constant")
    v = np.where(c > 1e-9, s / np.maximum(c, 1e-9), mn)
    out = a.copy()
    out[bad] = np.round(v[bad])[:, None]
    return out


def _to_tensor(img: Image.Image, suppress: bool = False) -> torch.Tensor:
    a = np.asarray(img, dtype=np.float32)
    if suppress:
        a = suppress_colour(a)
    a = a * SCALE
    return torch.from_numpy(np.ascontiguousarray(a)).permute(2, 0, 1).contiguous()


REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
_FOV_CACHE: Dict[str, Dict] = {}   # memo of cache/field-of-view.json (keyed by detector and file)


def model_windows(paths: List[str]) -> Dict[str, Dict]:
    """The runtime's model window of each image file, found by the runtime's own detector (one node
    process for all files) and cached by path, size and modification time."""
    import subprocess
    cache_path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cache", "field-of-view.json")
    if not _FOV_CACHE and os.path.exists(cache_path):
        _FOV_CACHE.update(json.load(open(cache_path)))
    import hashlib
    with open(os.path.join(REPO, "src", "core", "field-of-view.ts"), "rb") as f:
        detector = hashlib.sha1(f.read()).hexdigest()[:10]   # a changed detector finds new windows
    key = lambda p: f"{detector}|{os.path.abspath(p)}|{os.path.getsize(p)}|{int(os.path.getmtime(p))}"  # noqa: E731
    todo = [p for p in paths if key(p) not in _FOV_CACHE]
    if todo:
        out = subprocess.run(["node", "--import", "tsx", os.path.join(REPO, "scripts", "field-of-view.ts"), *todo],
                             cwd=REPO, check=True, capture_output=True, text=True).stdout
        for line, p in zip(out.splitlines(), todo):
            _FOV_CACHE[key(p)] = json.loads(line)
        os.makedirs(os.path.dirname(cache_path), exist_ok=True)
        with open(cache_path, "w") as f:
            json.dump(_FOV_CACHE, f)
    return {p: _FOV_CACHE[key(p)] for p in paths}


def window_crop(img: Image.Image, mw: Dict) -> Image.Image:
    """The model window of `img` as the runtime builds it: the square `window` (it may reach past
    the frame), black outside the field of view `fov`."""
    w, f = mw["window"], mw["fov"]
    canvas = Image.new(img.mode, (w["width"], w["height"]))
    canvas.paste(img.crop((f["x"], f["y"], f["x"] + f["width"], f["y"] + f["height"])), (f["x"] - w["x"], f["y"] - w["y"]))
    return canvas


def make_item(id_, device, source, weight, img: Image.Image, mask: Image.Image,
              mw: Optional[Dict] = None, patient: str = "", options: InputOptions = InputOptions()) -> Item:
    """`mw`: the frame's model window (only with options.field_of_view), else the whole frame."""
    m = np.asarray(mask) > 0
    mask_img = Image.fromarray(m.astype(np.uint8) * 255)
    if mw is not None and options.fit == "stretch":
        mw = dict(mw, window=dict(mw["fov"]))
    if mw is not None:
        view, mask_view = window_crop(img, mw), window_crop(mask_img, mw)
        valid = window_crop(Image.new("L", img.size, 255), mw)
    else:
        view, mask_view, valid = img, mask_img, Image.new("L", img.size, 255)
    src = _to_tensor(view.resize((SRC, SRC), Image.BILINEAR), options.suppress_colour)
    src_mask = mask_view.resize((SRC, SRC), Image.BILINEAR)
    src_mask = torch.from_numpy((np.asarray(src_mask) > 127).astype(np.float32))[None]
    valid_t = torch.from_numpy((np.asarray(valid.resize((SRC, SRC), Image.BILINEAR)) > 127).astype(np.float32))[None]
    net_in = _to_tensor(view.resize((SIZE, SIZE), Image.BILINEAR), options.suppress_colour)
    return Item(id_, device, source, weight, src, src_mask, net_in, m, patient or id_, mw, valid_t)


def load_folder(root: str, weight: float, options: InputOptions = InputOptions()) -> List[Item]:
    """Frames with masks in the sgus layout (manifest.json with id/image/mask/device), e.g. the
    project's synthetic frames (scripts/make-synthetic-dataset.ts), at loss weight `weight`."""
    with open(os.path.join(root, "manifest.json")) as f:
        manifest = json.load(f)
    return _load_manifest(root, manifest, weight, "synthetic", options)


def _load_manifest(root: str, manifest: List[Dict], weight: float, default_device: str,
                   options: InputOptions) -> List[Item]:
    paths = [os.path.join(root, e["image"]) for e in manifest]
    windows = model_windows(paths) if options.field_of_view else {}
    items = []
    for e, path in zip(manifest, paths):
        img, mask = _load_pair(path, os.path.join(root, e["mask"]))
        # One patient per frame unless the manifest links frames of the same patient.
        patient = min(e["id"], e["same_patient_as"]) if e.get("same_patient_as") else e["id"]
        items.append(make_item(e["id"], e.get("device", default_device), e.get("source", default_device), weight,
                               img, mask, windows.get(path), patient, options))
    return items


def load_sgus(root: str, options: InputOptions = InputOptions()) -> List[Item]:
    """The clinician-masked frames of annotated/ (loss weight 1). The published model's masks in
    published-model/ are a model's output, not labels: they serve only to compare with it."""
    man_path = os.path.join(root, "annotated", "manifest.json")
    if not os.path.exists(man_path):
        raise FileNotFoundError(f"no {man_path}: is --data the sgus data folder?")
    with open(man_path) as f:
        manifest = json.load(f)
    return _load_manifest(os.path.join(root, "annotated"), manifest, 1.0, "unknown", options)


# ---------------------------------------------------------------------------------------------
# Synthetic ultrasound-like frames (only for --tiny): speckle texture, a brighter textured
# ellipse "gland", dark field outside a sector, and a text-like UI band with scale ticks.
# ---------------------------------------------------------------------------------------------
def synthetic_frame(rng: np.random.Generator, w: int = 320, h: int = 240):
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    speckle = rng.gamma(2.0, 0.5, size=(h // 2, w // 2)).astype(np.float32)
    speckle = np.asarray(Image.fromarray(speckle).resize((w, h), Image.BILINEAR))
    depth = 1.0 - 0.5 * (yy / h)
    img = 0.25 * speckle * depth
    cx, cy = rng.uniform(0.35, 0.65) * w, rng.uniform(0.4, 0.6) * h
    ax, ay = rng.uniform(0.18, 0.3) * w, rng.uniform(0.1, 0.18) * h
    ang = rng.uniform(-0.3, 0.3)
    dx, dy = xx - cx, yy - cy
    u = (dx * math.cos(ang) + dy * math.sin(ang)) / ax
    v = (-dx * math.sin(ang) + dy * math.cos(ang)) / ay
    gland = (u * u + v * v) <= 1.0
    img = np.where(gland, img * 1.6 + 0.08, img)
    img[:, : int(0.12 * w)] = 0.0   # UI column
    img[: int(0.1 * h)] = 0.0       # UI band
    img = np.clip(img, 0, 1)
    rgb = Image.fromarray((np.stack([img] * 3, -1) * 255).astype(np.uint8))
    d = ImageDraw.Draw(rgb)
    for i in range(6):   # text-like UI glyphs, some in colour, some over the image
        x0, y0 = int(rng.uniform(0, w * 0.9)), int(rng.uniform(0, h * 0.12))
        d.text((x0, y0), "G%d 15.0MHz" % i, fill=(255, 255, int(rng.uniform(0, 255))))
    d.text((int(0.02 * w), int(0.5 * h)), "Frq\n15\nGn\n26", fill=(230, 230, 230))
    for t in range(5):
        y = int((0.2 + 0.15 * t) * h)
        d.line([(w - 8, y), (w - 2, y)], fill=(255, 255, 255))
    mask = Image.fromarray(gland.astype(np.uint8) * 255)
    return rgb, mask


def load_synthetic(n: int, seed: int, options: InputOptions = InputOptions()) -> List[Item]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        img, mask = synthetic_frame(rng)
        out.append(make_item(f"syn-{i:02d}", "synthetic", "synthetic", 1.0, img, mask, options=options))
    return out


# ---------------------------------------------------------------------------------------------
# Augmentation
# ---------------------------------------------------------------------------------------------
def normalize(x: torch.Tensor) -> torch.Tensor:
    mean = torch.tensor(MEAN, dtype=x.dtype).view(1, 3, 1, 1)
    std = torch.tensor(STD, dtype=x.dtype).view(1, 3, 1, 1)
    return (x - mean) / std


def _gauss_kernel(sigma: float) -> torch.Tensor:
    r = max(1, int(math.ceil(2 * sigma)))
    t = torch.arange(-r, r + 1, dtype=torch.float32)
    k = torch.exp(-t * t / (2 * sigma * sigma))
    return k / k.sum()


def blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    k = _gauss_kernel(sigma)
    c = x.shape[1]
    kx = k.view(1, 1, 1, -1).repeat(c, 1, 1, 1)
    ky = k.view(1, 1, -1, 1).repeat(c, 1, 1, 1)
    p = k.numel() // 2
    x = F.conv2d(F.pad(x, (p, p, 0, 0), mode="replicate"), kx, groups=c)
    return F.conv2d(F.pad(x, (0, 0, p, p), mode="replicate"), ky, groups=c)


def augment(img: torch.Tensor, mask: torch.Tensor, gen: torch.Generator, crop: int,
            strength: float = 1.0, valid: Optional[torch.Tensor] = None, appearance=None,
            zoom_range: float = 1.25):
    """img B x 3 x S x S in [0,1], mask B x 1 x S x S -> augmented B x 3 x crop x crop, mask.
    `valid` (B x 1 x S x S, 1 inside the field of view) keeps everything outside the field of view
    black, as the runtime's model window is; `appearance` (appearance.AppearanceBank) transfers the
    look of the unlabeled frames of every scanner."""
    b = img.shape[0]
    r = lambda *s: torch.rand(*s, generator=gen)
    # Geometry: horizontal flip (probe orientation is arbitrary left-right; depth is not, so no
    # vertical flip), rotation +-10 deg, zoom 1/zoom_range-zoom_range (log-uniform; scanners and
    # depth settings show the gland at very different scales), shift +-10 %, output crop x crop.
    flip = torch.where(r(b) < 0.5, -1.0, 1.0)
    ang = (r(b) * 2 - 1) * math.radians(10) * strength
    zoom = torch.exp((r(b) * 2 - 1) * math.log(zoom_range) * strength)
    tx, ty = (r(b) * 2 - 1) * 0.1 * strength, (r(b) * 2 - 1) * 0.1 * strength
    cos, sin = torch.cos(ang) / zoom, torch.sin(ang) / zoom
    theta = torch.stack([torch.stack([cos * flip, -sin, tx], 1),
                         torch.stack([sin * flip, cos, ty], 1)], 1)
    grid = F.affine_grid(theta, (b, 3, crop, crop), align_corners=False)
    img = F.grid_sample(img, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    mask = (F.grid_sample(mask, grid, mode="bilinear", padding_mode="zeros",
                          align_corners=False) > 0.5).float()
    if valid is not None:
        valid = (F.grid_sample(valid, grid, mode="bilinear", padding_mode="zeros",
                               align_corners=False) > 0.5).float()
    if appearance is not None:
        img = appearance.match_histograms(img, valid, gen)
    # Intensity: scanners differ in gain, dynamic range and speckle.
    gray = r(b) < 0.3
    img = torch.where(gray.view(b, 1, 1, 1), img.mean(1, keepdim=True).expand_as(img), img)
    gain = 1 + (r(b, 1, 1, 1) * 2 - 1) * 0.3 * strength
    contrast = 1 + (r(b, 1, 1, 1) * 2 - 1) * 0.3 * strength
    m = img.mean((1, 2, 3), keepdim=True)
    img = ((img - m) * contrast + m) * gain
    # Speckle: multiplicative, spatially correlated noise.
    sp_sigma = r(b, 1, 1, 1) * 0.25 * strength
    n = torch.randn(b, 1, crop // 2, crop // 2, generator=gen)
    n = F.interpolate(n, size=(crop, crop), mode="bilinear", align_corners=False)
    img = img * (1 + sp_sigma * n)
    # Additive gaussian noise.
    img = img + torch.randn(img.shape, generator=gen) * (r(b, 1, 1, 1) * 0.04 * strength)
    img = img.clamp(0, 1)
    # Blur on some frames (lower-resolution probes, compression).
    if float(r(1)) < 0.3 * strength:
        img = blur(img, 0.5 + float(r(1)) * 0.8)
    if appearance is not None:
        img = appearance.random_convolution(img, gen)
    if valid is not None:
        img = img * valid
    return img, mask


def load_unlabeled(root: str, limit: int = 0, options: InputOptions = InputOptions()) -> List[Item]:
    """The unlabeled frames (for pseudo-labels), with an empty mask to be filled by a teacher."""
    folder = os.path.join(root, "unlabeled")
    if not os.path.isdir(folder):
        return []
    machines = {}
    meta = os.path.join(folder, "metadata.csv")
    if os.path.exists(meta):
        import csv
        with open(meta) as f:
            machines = {r["image"]: r.get("machine", "unknown") for r in csv.DictReader(f)}
    names = sorted(n for n in os.listdir(folder) if n.lower().endswith((".jpg", ".png")))
    if limit:
        names = names[:limit]
    paths = [os.path.join(folder, n) for n in names]
    windows = model_windows(paths) if options.field_of_view else {}
    out = []
    for n, path in zip(names, paths):
        img = Image.open(path).convert("RGB")
        empty = Image.new("L", img.size, 0)
        out.append(make_item("u-" + os.path.splitext(n)[0], machines.get(n, "unknown"), "pseudo", 0.0,
                             img, empty, windows.get(path), options=options))
    return out


def count_items(items: List[Item]) -> Dict:
    """What a list of loaded frames holds, for the card's training-data text: frames per source and
    device, and the patients and devices of the labelled ones (weight 1)."""
    per: Dict[str, Dict[str, int]] = {}
    for it in items:
        per.setdefault(it.source, {}).setdefault(it.device, 0)
        per[it.source][it.device] += 1
    labelled = [it for it in items if it.weight >= 1.0]
    return {"frames": len(items), "perSource": per,
            "devices": sorted({it.device for it in labelled}),
            "patients": sorted({it.patient for it in labelled})}
