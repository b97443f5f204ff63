/**
 * Bilinear resizing with pixel-centre alignment (`align_corners=false`, as PyTorch, OpenCV and
 * TensorFlow 2 do), so that a mask resized back to the input lands on the same pixels.
 */
import type { FloatMap, RgbImage } from './image.js';

interface Taps {
  i0: Int32Array;
  i1: Int32Array;
  w: Float32Array;
}

// Taps depend only on the two sizes; a stream reuses the same pair for every frame.
const tapCache = new Map<string, Taps>();

function taps(srcSize: number, dstSize: number): Taps {
  const key = `${srcSize}>${dstSize}`;
  const hit = tapCache.get(key);
  if (hit !== undefined) return hit;
  const t = computeTaps(srcSize, dstSize);
  if (tapCache.size >= 64) tapCache.clear();
  tapCache.set(key, t);
  return t;
}

function computeTaps(srcSize: number, dstSize: number): Taps {
  const i0 = new Int32Array(dstSize);
  const i1 = new Int32Array(dstSize);
  const w = new Float32Array(dstSize);
  const scale = srcSize / dstSize;
  for (let d = 0; d < dstSize; d++) {
    let s = (d + 0.5) * scale - 0.5;
    if (s < 0) s = 0;
    const f = Math.floor(s);
    const a = Math.min(f, srcSize - 1);
    i0[d] = a;
    i1[d] = Math.min(a + 1, srcSize - 1);
    w[d] = s - f;
  }
  return { i0, i1, w };
}

/** Resizes RGB to `dstW`×`dstH`. */
export function resizeRgb(src: RgbImage, dstW: number, dstH: number): RgbImage {
  const out = new Uint8Array(dstW * dstH * 3);
  if (src.width === dstW && src.height === dstH) {
    out.set(src.data);
    return { width: dstW, height: dstH, data: out };
  }
  const tx = taps(src.width, dstW);
  const ty = taps(src.height, dstH);
  const sw = src.width * 3;
  for (let y = 0; y < dstH; y++) {
    const r0 = ty.i0[y]! * sw;
    const r1 = ty.i1[y]! * sw;
    const wy = ty.w[y]!;
    for (let x = 0; x < dstW; x++) {
      const c0 = tx.i0[x]! * 3;
      const c1 = tx.i1[x]! * 3;
      const wx = tx.w[x]!;
      const o = (y * dstW + x) * 3;
      for (let c = 0; c < 3; c++) {
        const top = src.data[r0 + c0 + c]! * (1 - wx) + src.data[r0 + c1 + c]! * wx;
        const bot = src.data[r1 + c0 + c]! * (1 - wx) + src.data[r1 + c1 + c]! * wx;
        out[o + c] = Math.round(top * (1 - wy) + bot * wy);
      }
    }
  }
  return { width: dstW, height: dstH, data: out };
}

/** Resizes a float map (e.g. class probabilities) to `dstW`×`dstH`. */
export function resizeFloat(src: FloatMap, dstW: number, dstH: number): FloatMap {
  const out = new Float32Array(dstW * dstH);
  if (src.width === dstW && src.height === dstH) {
    out.set(src.data);
    return { width: dstW, height: dstH, data: out };
  }
  const tx = taps(src.width, dstW);
  const ty = taps(src.height, dstH);
  const sw = src.width;
  for (let y = 0; y < dstH; y++) {
    const r0 = ty.i0[y]! * sw;
    const r1 = ty.i1[y]! * sw;
    const wy = ty.w[y]!;
    for (let x = 0; x < dstW; x++) {
      const wx = tx.w[x]!;
      const a = tx.i0[x]!;
      const b = tx.i1[x]!;
      const top = src.data[r0 + a]! * (1 - wx) + src.data[r0 + b]! * wx;
      const bot = src.data[r1 + a]! * (1 - wx) + src.data[r1 + b]! * wx;
      out[y * dstW + x] = top * (1 - wy) + bot * wy;
    }
  }
  return { width: dstW, height: dstH, data: out };
}

/**
 * Bilinear resize fused with `> threshold`: the 0/1 class map at `dstW`×`dstH` straight from a
 * small probability map, without allocating the large float map (4× faster at 1280×720).
 * Gives exactly `resizeFloat(src) > threshold`.
 */
export function resizeThreshold(src: FloatMap, dstW: number, dstH: number, threshold: number): { width: number; height: number; data: Uint8Array } {
  const out = new Uint8Array(dstW * dstH);
  const tx = taps(src.width, dstW);
  const ty = taps(src.height, dstH);
  const sw = src.width;
  const d = src.data;
  for (let y = 0; y < dstH; y++) {
    const r0 = ty.i0[y]! * sw;
    const r1 = ty.i1[y]! * sw;
    const wy = ty.w[y]!;
    const o = y * dstW;
    for (let x = 0; x < dstW; x++) {
      const a = tx.i0[x]!;
      const b = tx.i1[x]!;
      const wx = tx.w[x]!;
      const top = d[r0 + a]! * (1 - wx) + d[r0 + b]! * wx;
      const bot = d[r1 + a]! * (1 - wx) + d[r1 + b]! * wx;
      out[o + x] = top * (1 - wy) + bot * wy > threshold ? 1 : 0;
    }
  }
  return { width: dstW, height: dstH, data: out };
}

/** Nearest-neighbour resize of a single-channel 8-bit map (for class maps that are already discrete). */
export function resizeNearest(src: { width: number; height: number; data: Uint8Array }, dstW: number, dstH: number): { width: number; height: number; data: Uint8Array } {
  const out = new Uint8Array(dstW * dstH);
  for (let y = 0; y < dstH; y++) {
    const sy = Math.min(src.height - 1, Math.floor(((y + 0.5) * src.height) / dstH));
    for (let x = 0; x < dstW; x++) {
      const sx = Math.min(src.width - 1, Math.floor(((x + 0.5) * src.width) / dstW));
      out[y * dstW + x] = src.data[sy * src.width + sx]!;
    }
  }
  return { width: dstW, height: dstH, data: out };
}
