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

interface Edge {
  yStart: number;
  yEnd: number;
  x0: number;
  y0: number;
  dxdy: number;
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
    // Edge table: each edge spans the rows y with min(ya, yb) <= y < max(ya, yb) (half-open, so a
    // vertex on a scan line counts once); rows visit only the edges that span them.
    const edges: Edge[] = [];
    for (const c of contours) {
      const pts = c.points;
      if (pts.length < 3) continue;
      let [px, py] = pts[pts.length - 1]!;
      px = (px + 0.5) * t.scaleX - 0.5 - ox;
      py = (py + 0.5) * t.scaleY - 0.5 - oy;
      for (const [sx, sy] of pts) {
        const x = (sx + 0.5) * t.scaleX - 0.5 - ox;
        const y = (sy + 0.5) * t.scaleY - 0.5 - oy;
        if (y !== py) {
          const lo = Math.min(y, py), hi = Math.max(y, py);
          const yStart = Math.ceil(lo), yEnd = Math.ceil(hi) - 1;
          if (yEnd >= yStart) edges.push({ yStart, yEnd, x0: px, y0: py, dxdy: (x - px) / (y - py) });
        }
        px = x;
        py = y;
      }
    }
    edges.sort((a, b) => a.yStart - b.yStart);
    let x0 = Infinity, x1 = -1, y0 = Infinity, y1 = -1, area = 0;
    const xs = this.#xs;
    const d = mask.data;
    let active: Edge[] = [];
    let next = 0;
    const first = edges.length > 0 ? Math.max(0, edges[0]!.yStart) : height;
    for (let y = first; y < height && (next < edges.length || active.length > 0); y++) {
      while (next < edges.length && edges[next]!.yStart <= y) active.push(edges[next++]!);
      active = active.filter((e) => e.yEnd >= y);
      if (active.length < 2) continue;
      xs.length = 0;
      for (const e of active) xs.push(e.x0 + (y - e.y0) * e.dxdy);
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
