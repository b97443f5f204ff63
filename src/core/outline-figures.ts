/**
 * The gland figures of `gland-measurements.ts` computed from an outline alone (contours and the
 * pixel area the pipeline reports), for places that have no class map: the viewer hub and the
 * browser. Contours are boundary pixel centres, so the extent of the outer borders plus one pixel is
 * the extent `measureGland` counts, and the perimeter is the same polygon's. Uncalibrated stays in
 * pixels: a scale is never guessed.
 */
import type { Point } from './contours.js';
import { glandFigures } from './gland-measurements.js';
import type { GlandMeasurements, PixelScale } from './gland-measurements.js';

/** An outline polygon, as the pipeline's `Contour` or a viewer's decoded wire contour. */
export interface OutlinePolygon {
  points: readonly Point[];
  hole: boolean;
}

/** Flat [x0, y0, x1, y1, …] (the wire form) to points. */
export function pointsFromFlat(flat: readonly number[]): Point[] {
  const out: Point[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push([flat[i]!, flat[i + 1]!]);
  return out;
}

/**
 * Figures of an outline: `areaPx` is the gland's area in source pixels (the pipeline's count),
 * `scale` undefined gives them in pixels, labelled so.
 */
export function measureOutline(contours: readonly OutlinePolygon[], areaPx: number, scale: PixelScale | undefined): GlandMeasurements {
  const outers = contours.filter((c) => !c.hole && c.points.length > 0);
  let minX = Infinity;
  let maxX = -Infinity;
  let minY = Infinity;
  let maxY = -Infinity;
  for (const c of outers) {
    for (const [x, y] of c.points) {
      if (x < minX) minX = x;
      if (x > maxX) maxX = x;
      if (y < minY) minY = y;
      if (y > maxY) maxY = y;
    }
  }
  const empty = minX === Infinity;
  return glandFigures(areaPx, empty ? 0 : maxX - minX + 1, empty ? 0 : maxY - minY + 1, outers, scale);
}
