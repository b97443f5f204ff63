/**
 * The gland figures of `gland-measurements.ts` computed from an outline alone (contours and the
 * pixel area the pipeline reports), for places that have no class map: the viewer hub and the
 * browser. Contours are boundary pixel centres, so the extent of the outer borders plus one pixel is
 * the extent `measureGland` counts, and the perimeter is the same polygon's. Uncalibrated stays in
 * pixels: a scale is never guessed.
 */
import { polygonPerimeter } from './contours.js';
import type { Point } from './contours.js';
import type { GlandMeasurements, PixelScale } from './gland-measurements.js';

/** An outline polygon, as the pipeline's `Contour` or a viewer's decoded wire contour. */
export interface OutlinePolygon {
  points: readonly Point[];
  hole: boolean;
}

function round(v: number, decimals = 3): number {
  const k = 10 ** decimals;
  return Math.round(v * k) / k;
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
  const sx = scale?.mmPerPxX ?? 1;
  const sy = scale?.mmPerPxY ?? 1;
  let minX = Infinity;
  let maxX = -Infinity;
  let minY = Infinity;
  let maxY = -Infinity;
  let perimeter = 0;
  for (const c of contours) {
    if (c.hole || c.points.length === 0) continue;
    for (const [x, y] of c.points) {
      if (x < minX) minX = x;
      if (x > maxX) maxX = x;
      if (y < minY) minY = y;
      if (y > maxY) maxY = y;
    }
    // Each step scaled on its own axis (anisotropic pixels), as measureGland does.
    perimeter += scale === undefined ? polygonPerimeter(c.points) : polygonPerimeter(c.points.map(([x, y]) => [x * sx, y * sy] as Point));
  }
  const empty = minX === Infinity;
  const extentX = empty ? 0 : maxX - minX + 1;
  const extentY = empty ? 0 : maxY - minY + 1;
  const linear = scale === undefined ? 'px' : 'mm';
  const out: GlandMeasurements = {
    calibrated: scale !== undefined,
    area: { value: round(areaPx * sx * sy), unit: scale === undefined ? 'px2' : 'mm2' },
    perimeter: { value: round(perimeter), unit: linear },
    length: { value: round(extentX * sx), unit: linear },
    depth: { value: round(extentY * sy), unit: linear },
    pixels: areaPx,
  };
  if (scale !== undefined) out.areaCm2 = { value: round((areaPx * sx * sy) / 100, 5), unit: 'cm2' };
  return out;
}
