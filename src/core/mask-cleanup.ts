/**
 * Mask clean-up after thresholding: drop foreground specks below a minimum area and fill holes
 * below a maximum area. Both by 8-connected (foreground) / 4-connected (background) labelling, the
 * dual pair that keeps topology consistent with the contour tracer.
 */
import type { GreyImage } from './image.js';

export interface CleanupOptions {
  /** Foreground components smaller than this many pixels are removed. Default 0 (keep all). */
  minComponentArea?: number;
  /** Background holes (not touching the image edge) smaller than this many pixels are filled. Default 0. */
  maxHoleArea?: number;
  /**
   * Keep only the largest foreground component and fill every hole in it. For models whose masks
   * are one region per frame (a gland), where a second blob is always a false positive. Default false.
   */
  largestOnly?: boolean;
}

/** Labels connected pixels of value `value`; returns labels (0 = other) and component sizes. */
function label(mask: Uint8Array, w: number, h: number, value: boolean, eight: boolean): { labels: Int32Array; sizes: number[]; touchesEdge: boolean[] } {
  const labels = new Int32Array(w * h);
  const sizes: number[] = [0];
  const touchesEdge: boolean[] = [false];
  const stack = new Int32Array(w * h);
  let next = 1;
  for (let start = 0; start < w * h; start++) {
    if (labels[start] !== 0 || (mask[start] !== 0) !== value) continue;
    let top = 0;
    stack[top++] = start;
    labels[start] = next;
    let size = 0;
    let edge = false;
    while (top > 0) {
      const p = stack[--top]!;
      size++;
      const x = p % w;
      const y = (p - x) / w;
      if (x === 0 || y === 0 || x === w - 1 || y === h - 1) edge = true;
      for (let dy = -1; dy <= 1; dy++) {
        const yy = y + dy;
        if (yy < 0 || yy >= h) continue;
        for (let dx = -1; dx <= 1; dx++) {
          if ((dx === 0 && dy === 0) || (!eight && dx !== 0 && dy !== 0)) continue;
          const xx = x + dx;
          if (xx < 0 || xx >= w) continue;
          const q = yy * w + xx;
          if (labels[q] === 0 && (mask[q] !== 0) === value) {
            labels[q] = next;
            stack[top++] = q;
          }
        }
      }
    }
    sizes.push(size);
    touchesEdge.push(edge);
    next++;
  }
  return { labels, sizes, touchesEdge };
}

/** Returns a cleaned copy of a 0/1 (or 0/non-zero) mask as 0/1. */
export function cleanupMask(mask: GreyImage, options: CleanupOptions = {}): GreyImage {
  const { width: w, height: h } = mask;
  const out = new Uint8Array(w * h);
  for (let i = 0; i < out.length; i++) out[i] = mask.data[i] !== 0 ? 1 : 0;
  const minArea = options.minComponentArea ?? 0;
  const largestOnly = options.largestOnly ?? false;
  const maxHole = largestOnly ? Infinity : (options.maxHoleArea ?? 0);
  if (minArea > 0 || largestOnly) {
    const { labels, sizes } = label(out, w, h, true, true);
    let keep = 0;
    // Ties go to the first component in raster order, so the result is deterministic.
    if (largestOnly) for (let l = 1; l < sizes.length; l++) if (sizes[l]! > (sizes[keep] ?? 0)) keep = l;
    for (let i = 0; i < out.length; i++) {
      const l = labels[i]!;
      if (l > 0 && (sizes[l]! < minArea || (largestOnly && l !== keep))) out[i] = 0;
    }
  }
  if (maxHole > 0) {
    const { labels, sizes, touchesEdge } = label(out, w, h, false, false);
    for (let i = 0; i < out.length; i++) {
      const l = labels[i]!;
      if (l > 0 && !touchesEdge[l] && sizes[l]! <= maxHole) out[i] = 1;
    }
  }
  return { width: w, height: h, data: out };
}

/** Number of non-zero pixels. */
export function maskArea(mask: GreyImage): number {
  let n = 0;
  for (let i = 0; i < mask.data.length; i++) if (mask.data[i] !== 0) n++;
  return n;
}

/** 0/1 class map to a 0/255 black-and-white mask. */
export function toBlackAndWhite(classMap: GreyImage): GreyImage {
  const out = new Uint8Array(classMap.data.length);
  for (let i = 0; i < out.length; i++) out[i] = classMap.data[i] !== 0 ? 255 : 0;
  return { width: classMap.width, height: classMap.height, data: out };
}
