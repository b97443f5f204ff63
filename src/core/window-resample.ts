/**
 * The model's view of a frame through its model window (src/core/field-of-view.ts), and the way
 * back: the gland probability placed into the frame's pixels.
 *
 * `cropToModel` resamples the window's square to the model's input with an antialiasing triangle
 * filter whose support grows with the scale, black outside the field of view. It is the filter of
 * Pillow's `Image.resize(..., BILINEAR)`, which the training tool uses on the same square
 * (models/training/data.py `window_crop`), so the network sees at run time what it was trained on;
 * a plain bilinear tap pair would alias the speckle when the window is 3–5× the model's size.
 *
 * `placeThreshold` maps each frame pixel inside the field of view to the probability map
 * (pixel-centre aligned, as PyTorch's `interpolate(align_corners=False)` in the training tool's
 * scoring does) and thresholds it; outside the field of view nothing is gland.
 */
import type { FloatMap, GreyImage, RgbImage } from './image.js';
import type { ModelWindow } from './field-of-view.js';

interface Filter {
  /** First source index of each output sample. */
  first: Int32Array;
  /** Number of taps of each output sample. */
  count: Int32Array;
  /** `maxTaps` weights per output sample, normalised. */
  weights: Float32Array;
  maxTaps: number;
}

/**
 * Triangle-filter taps for `outSize` samples of the source interval [start, start + length),
 * clipped to [lo, hi) (the canvas the interval belongs to).
 */
function triangleTaps(start: number, length: number, outSize: number, lo: number, hi: number): Filter {
  const scale = length / outSize;
  const filterScale = Math.max(1, scale);
  const support = filterScale;
  const maxTaps = Math.ceil(support) * 2 + 1;
  const first = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Float32Array(outSize * maxTaps);
  for (let d = 0; d < outSize; d++) {
    const centre = start + (d + 0.5) * scale;
    const x0 = Math.max(lo, Math.trunc(centre - support + 0.5));
    const x1 = Math.min(hi, Math.trunc(centre + support + 0.5));
    let total = 0;
    const n = Math.max(0, Math.min(maxTaps, x1 - x0));
    for (let k = 0; k < n; k++) {
      const t = Math.abs((x0 + k - centre + 0.5) / filterScale);
      const w = t < 1 ? 1 - t : 0;
      weights[d * maxTaps + k] = w;
      total += w;
    }
    if (total > 0) for (let k = 0; k < n; k++) weights[d * maxTaps + k] = weights[d * maxTaps + k]! / total;
    first[d] = x0;
    count[d] = n;
  }
  return { first, count, weights, maxTaps };
}

/** The model window of `img` at `dstW`×`dstH`: the field of view, antialiased, black around it. */
export function cropToModel(img: RgbImage, mw: ModelWindow, dstW: number, dstH: number): RgbImage {
  const { window: win, fov } = mw;
  const W = img.width;
  const H = img.height;
  // Source pixels that hold image: the field of view, inside the frame.
  const fx0 = Math.max(0, Math.ceil(fov.x - 0.5));
  const fx1 = Math.min(W, Math.ceil(fov.x + fov.width - 0.5));
  const fy0 = Math.max(0, Math.ceil(fov.y - 0.5));
  const fy1 = Math.min(H, Math.ceil(fov.y + fov.height - 0.5));
  const tx = triangleTaps(win.x, win.width, dstW, Math.floor(win.x), Math.ceil(win.x + win.width));
  const ty = triangleTaps(win.y, win.height, dstH, Math.floor(win.y), Math.ceil(win.y + win.height));
  // Horizontal pass over the rows of the field of view only (other rows are black).
  const rows = Math.max(0, fy1 - fy0);
  const tmp = new Uint8Array(rows * dstW * 3);
  const src = img.data;
  for (let r = 0; r < rows; r++) {
    const rowBase = (fy0 + r) * W * 3;
    for (let d = 0; d < dstW; d++) {
      const x0 = tx.first[d]!;
      const n = tx.count[d]!;
      const wo = d * tx.maxTaps;
      let a = 0;
      let b = 0;
      let c = 0;
      for (let k = 0; k < n; k++) {
        const x = x0 + k;
        if (x < fx0 || x >= fx1) continue;
        const w = tx.weights[wo + k]!;
        const p = rowBase + x * 3;
        a += src[p]! * w;
        b += src[p + 1]! * w;
        c += src[p + 2]! * w;
      }
      // Rounded between the passes, as Pillow does for 8-bit images.
      const o = (r * dstW + d) * 3;
      tmp[o] = Math.round(a);
      tmp[o + 1] = Math.round(b);
      tmp[o + 2] = Math.round(c);
    }
  }
  const out = new Uint8Array(dstW * dstH * 3);
  const rowStride = dstW * 3;
  const acc = new Float32Array(rowStride);
  for (let d = 0; d < dstH; d++) {
    const y0 = ty.first[d]!;
    const n = ty.count[d]!;
    const wo = d * ty.maxTaps;
    acc.fill(0);
    for (let k = 0; k < n; k++) {
      const y = y0 + k;
      if (y < fy0 || y >= fy1) continue;
      const w = ty.weights[wo + k]!;
      const t = (y - fy0) * rowStride;
      for (let i = 0; i < rowStride; i++) acc[i] = acc[i]! + tmp[t + i]! * w;
    }
    const o = d * rowStride;
    for (let i = 0; i < rowStride; i++) out[o + i] = Math.round(acc[i]!);
  }
  return { width: dstW, height: dstH, data: out };
}

/** A whole frame resized to `dstW`×`dstH` with the same antialiasing filter (Pillow's BILINEAR). */
export function resizeAntialiased(img: RgbImage, dstW: number, dstH: number): RgbImage {
  const whole = { x: 0, y: 0, width: img.width, height: img.height };
  return cropToModel(img, { frameWidth: img.width, frameHeight: img.height, fov: whole, window: whole }, dstW, dstH);
}

/**
 * The 0/1 class map at the window's frame size from a probability map of what the model saw:
 * `prob > threshold` inside the field of view, 0 outside it.
 */
export function placeThreshold(prob: FloatMap, mw: ModelWindow, threshold: number): GreyImage {
  const W = Math.round(mw.frameWidth);
  const H = Math.round(mw.frameHeight);
  const out = new Uint8Array(W * H);
  const { window: win, fov } = mw;
  const x0 = Math.max(0, Math.ceil(fov.x - 0.5));
  const x1 = Math.min(W, Math.ceil(fov.x + fov.width - 0.5));
  const y0 = Math.max(0, Math.ceil(fov.y - 0.5));
  const y1 = Math.min(H, Math.ceil(fov.y + fov.height - 0.5));
  if (x1 <= x0 || y1 <= y0) return { width: W, height: H, data: out };
  const sx = prob.width / win.width;
  const sy = prob.height / win.height;
  const n = x1 - x0;
  const i0 = new Int32Array(n);
  const i1 = new Int32Array(n);
  const wx = new Float32Array(n);
  for (let k = 0; k < n; k++) {
    const [a, b, f] = tap(((x0 + k + 0.5) - win.x) * sx - 0.5, prob.width);
    i0[k] = a;
    i1[k] = b;
    wx[k] = f;
  }
  const d = prob.data;
  const pw = prob.width;
  for (let y = y0; y < y1; y++) {
    const [ra, rb, wy] = tap(((y + 0.5) - win.y) * sy - 0.5, prob.height);
    const r0 = ra * pw;
    const r1 = rb * pw;
    const o = y * W;
    for (let k = 0; k < n; k++) {
      const a = i0[k]!;
      const b = i1[k]!;
      const f = wx[k]!;
      const top = d[r0 + a]! * (1 - f) + d[r0 + b]! * f;
      const bot = d[r1 + a]! * (1 - f) + d[r1 + b]! * f;
      out[o + x0 + k] = top * (1 - wy) + bot * wy > threshold ? 1 : 0;
    }
  }
  return { width: W, height: H, data: out };
}

/** Bilinear taps at source coordinate `s` (pixel-centre convention), clamped to [0, size). */
function tap(s: number, size: number): [number, number, number] {
  if (s <= 0) return [0, Math.min(1, size - 1), 0];
  if (s >= size - 1) return [size - 1, size - 1, 0];
  const f = Math.floor(s);
  return [f, f + 1, s - f];
}
