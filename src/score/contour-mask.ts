/**
 * The gland mask of a streamed frame, rebuilt from its outline: the pipeline keeps contours (in
 * source pixels), not masks, and the score's features (gland-features.ts) read a mask of the
 * picture they are computed on. Scan-line fill with the even-odd rule, so holes stay holes.
 *
 * The mask buffer is reused from frame to frame (a 1280×720 mask is 0.9 MB): only the rows the
 * previous gland covered are cleared.
 */
import type { Contour } from '../core/contours.js';
import type { GreyImage } from '../core/image.js';
import type { GlandRegion } from './gland-features.js';

/** Source pixel → picture pixel, centres kept: p = (s + 0.5) × scale − 0.5 − offset. */
export interface ContourTransform {
  scaleX: number;
  scaleY: number;
  /** Subtracted after scaling (a window's origin in picture pixels). Default 0. */
  offsetX?: number;
  offsetY?: number;
}

export class ContourMask {
  #mask: GreyImage | undefined;
  #dirty: { y0: number; y1: number } | undefined;
  #xs: number[] = [];

  /** The mask of `contours` on a `width`×`height` picture (valid until the next call) and its box
   *  and area; region undefined where nothing is filled. */
  fill(contours: readonly Contour[], width: number, height: number, t: ContourTransform): { mask: GreyImage; region: GlandRegion | undefined } {
    let mask = this.#mask;
    if (mask === undefined || mask.width !== width || mask.height !== height) {
      mask = { width, height, data: new Uint8Array(width * height) };
      this.#mask = mask;
      this.#dirty = undefined;
    } else if (this.#dirty !== undefined) {
      mask.data.fill(0, this.#dirty.y0 * width, (this.#dirty.y1 + 1) * width);
      this.#dirty = undefined;
    }
    const ox = t.offsetX ?? 0;
    const oy = t.offsetY ?? 0;
    const polys: Float64Array[] = [];
    let minY = Infinity, maxY = -Infinity;
    for (const c of contours) {
      if (c.points.length < 3) continue;
      const p = new Float64Array(c.points.length * 2);
      c.points.forEach(([x, y], k) => {
        p[2 * k] = (x + 0.5) * t.scaleX - 0.5 - ox;
        const py = (y + 0.5) * t.scaleY - 0.5 - oy;
        p[2 * k + 1] = py;
        if (py < minY) minY = py;
        if (py > maxY) maxY = py;
      });
      polys.push(p);
    }
    const ys0 = Math.max(0, Math.ceil(minY));
    const ys1 = Math.min(height - 1, Math.floor(maxY));
    let x0 = Infinity, x1 = -1, y0 = Infinity, y1 = -1, area = 0;
    const xs = this.#xs;
    const d = mask.data;
    for (let y = ys0; y <= ys1; y++) {
      xs.length = 0;
      for (const p of polys) {
        const n = p.length / 2;
        for (let k = 0, j = n - 1; k < n; j = k++) {
          const ya = p[2 * j + 1]!, yb = p[2 * k + 1]!;
          // Half-open on y, so a vertex on the scan line counts once.
          if ((ya <= y) !== (yb <= y)) {
            const xa = p[2 * j]!, xb = p[2 * k]!;
            xs.push(xa + ((y - ya) / (yb - ya)) * (xb - xa));
          }
        }
      }
      if (xs.length < 2) continue;
      xs.sort((a, b) => a - b);
      const row = y * width;
      for (let k = 0; k + 1 < xs.length; k += 2) {
        const a = Math.max(0, Math.ceil(xs[k]!));
        const b = Math.min(width - 1, Math.floor(xs[k + 1]!));
        if (b < a) continue;
        d.fill(1, row + a, row + b + 1);
        area += b - a + 1;
        if (a < x0) x0 = a;
        if (b > x1) x1 = b;
        if (y < y0) y0 = y;
        y1 = y;
      }
    }
    if (area === 0) return { mask, region: undefined };
    this.#dirty = { y0, y1 };
    return { mask, region: { x0, y0, x1, y1, area } };
  }
}
