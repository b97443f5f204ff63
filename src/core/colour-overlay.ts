/**
 * Suppression of coloured overlays. B-mode ultrasound is grey (R = G = B); what is coloured on a
 * frame was drawn on top of it: the scanner's calipers and text, and on the annotated frames the
 * clinician's own outline of the gland. A network that sees that outline learns to follow it, and
 * its validation figures then say more about the outline than about the gland. Coloured pixels are
 * replaced by the mean of the grey pixels around them, in training (models/training/data.py) and at
 * inference alike, when the model card asks for it (`input.suppressColourOverlay`).
 */
import type { RgbImage } from './image.js';

export interface ColourOverlayOptions {
  /** A pixel is overlay when max(R,G,B) − min(R,G,B) exceeds this. Default 24. */
  chromaThreshold?: number;
  /** Half-size of the square window the replacement grey is averaged over. Default 2 (5×5). */
  radius?: number;
}

/** Returns a copy with coloured pixels replaced by their grey neighbourhood; counts replaced pixels. */
export function suppressColourOverlay(img: RgbImage, options: ColourOverlayOptions = {}): { image: RgbImage; replaced: number } {
  const thr = options.chromaThreshold ?? 24;
  const r = options.radius ?? 2;
  const { width: w, height: h, data } = img;
  const n = w * h;
  const grey = new Float64Array(n);
  const keep = new Uint8Array(n);
  let replaced = 0;
  for (let i = 0, j = 0; i < n; i++, j += 3) {
    const a = data[j]!;
    const b = data[j + 1]!;
    const c = data[j + 2]!;
    const mx = a > b ? (a > c ? a : c) : b > c ? b : c;
    const mn = a < b ? (a < c ? a : c) : b < c ? b : c;
    if (mx - mn > thr) {
      replaced++;
    } else {
      keep[i] = 1;
      grey[i] = (a + b + c) / 3;
    }
  }
  const out = new Uint8Array(data);
  if (replaced === 0) return { image: { width: w, height: h, data: out }, replaced };
  // Integral images of the kept grey values and of the kept count: window sums in O(1).
  const W = w + 1;
  const sum = new Float64Array(W * (h + 1));
  const cnt = new Float64Array(W * (h + 1));
  for (let y = 0; y < h; y++) {
    let rs = 0;
    let rc = 0;
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      rs += grey[i]!;
      rc += keep[i]!;
      sum[(y + 1) * W + x + 1] = sum[y * W + x + 1]! + rs;
      cnt[(y + 1) * W + x + 1] = cnt[y * W + x + 1]! + rc;
    }
  }
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      if (keep[i] === 1) continue;
      const x0 = Math.max(0, x - r);
      const y0 = Math.max(0, y - r);
      const x1 = Math.min(w, x + r + 1);
      const y1 = Math.min(h, y + r + 1);
      const s = sum[y1 * W + x1]! - sum[y0 * W + x1]! - sum[y1 * W + x0]! + sum[y0 * W + x0]!;
      const c = cnt[y1 * W + x1]! - cnt[y0 * W + x1]! - cnt[y1 * W + x0]! + cnt[y0 * W + x0]!;
      const j = i * 3;
      // No grey neighbour (a large coloured patch): fall back to the pixel's darkest channel.
      const v = c > 0 ? Math.round(s / c) : Math.min(data[j]!, data[j + 1]!, data[j + 2]!);
      out[j] = v;
      out[j + 1] = v;
      out[j + 2] = v;
    }
  }
  return { image: { width: w, height: h, data: out }, replaced };
}
