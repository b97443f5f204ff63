/**
 * The figures clinicians report of a gland outline, in physical units when the frame is
 * calibrated: area (mm², also cm²), perimeter (mm), length (horizontal extent) and depth
 * (vertical extent), in mm. Uncalibrated frames get the same figures in pixels, labelled so:
 * a scale is never guessed.
 */
import { polygonPerimeter } from './contours.js';
import type { Contour, Point } from './contours.js';
import type { GreyImage } from './image.js';

/** Millimetres per pixel, horizontally and vertically (they differ on some scanners). */
export interface PixelScale {
  mmPerPxX: number;
  mmPerPxY: number;
}

export interface Figure {
  value: number;
  /** UCUM-style unit: mm2, cm2, mm, or px2 / px when uncalibrated. */
  unit: 'mm2' | 'cm2' | 'mm' | 'px2' | 'px';
}

export interface GlandMeasurements {
  /** True when the figures are in mm; false: in pixels. */
  calibrated: boolean;
  area: Figure;
  /** The area in cm² (calibrated only). */
  areaCm2?: Figure;
  /** Length of the outer borders. */
  perimeter: Figure;
  /** Horizontal extent of the gland (leftmost to rightmost pixel, both included). */
  length: Figure;
  /** Vertical extent of the gland (top to bottom pixel, both included). */
  depth: Figure;
  /** Gland pixels counted. */
  pixels: number;
}

/** What is measured: a class map (non-zero = gland) and its traced borders, as a Segmentation has. */
export interface MeasurableSegmentation {
  classMap: GreyImage;
  contours: readonly Contour[];
}

function round(v: number, decimals = 3): number {
  const k = 10 ** decimals;
  return Math.round(v * k) / k;
}

/** Measures the gland; `scale` undefined gives the figures in pixels. */
export function measureGland(seg: MeasurableSegmentation, scale: PixelScale | undefined): GlandMeasurements {
  const { width, height, data } = seg.classMap;
  let pixels = 0;
  let minX = Infinity;
  let maxX = -Infinity;
  let minY = Infinity;
  let maxY = -Infinity;
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < width; x++) {
      if (data[row + x] === 0) continue;
      pixels++;
      if (x < minX) minX = x;
      if (x > maxX) maxX = x;
      if (y < minY) minY = y;
      if (y > maxY) maxY = y;
    }
  }
  const extentX = pixels === 0 ? 0 : maxX - minX + 1;
  const extentY = pixels === 0 ? 0 : maxY - minY + 1;
  return glandFigures(pixels, extentX, extentY, seg.contours.filter((c) => !c.hole), scale);
}

/**
 * The figures of a gland from its pixel count, its extents in pixels (both end pixels included)
 * and its outer borders, in mm where `scale` is given, else in pixels labelled so. Shared by the
 * class-map measurement above and the outline-only one (outline-figures.ts).
 */
export function glandFigures(pixels: number, extentX: number, extentY: number, outers: ReadonlyArray<{ points: readonly Point[] }>, scale: PixelScale | undefined): GlandMeasurements {
  const sx = scale?.mmPerPxX ?? 1;
  const sy = scale?.mmPerPxY ?? 1;
  // Each step of the border scaled on its own axis (anisotropic pixels).
  let perimeter = 0;
  for (const c of outers) perimeter += scale === undefined ? polygonPerimeter(c.points) : polygonPerimeter(c.points.map(([x, y]) => [x * sx, y * sy] as Point));
  const linear = scale === undefined ? 'px' : 'mm';
  const out: GlandMeasurements = {
    calibrated: scale !== undefined,
    area: { value: round(pixels * sx * sy), unit: scale === undefined ? 'px2' : 'mm2' },
    perimeter: { value: round(perimeter), unit: linear },
    length: { value: round(extentX * sx), unit: linear },
    depth: { value: round(extentY * sy), unit: linear },
    pixels,
  };
  if (scale !== undefined) out.areaCm2 = { value: round((pixels * sx * sy) / 100, 5), unit: 'cm2' };
  return out;
}

/** One line for a console: "area 3.14 cm² (314.2 mm²), perimeter 62.8 mm, length 20.0 mm, depth 10.0 mm". */
export function formatMeasurements(m: GlandMeasurements): string {
  if (!m.calibrated) return `area ${m.area.value} px² (uncalibrated: pixels), perimeter ${m.perimeter.value.toFixed(1)} px, length ${m.length.value} px, depth ${m.depth.value} px`;
  return `area ${m.areaCm2!.value.toFixed(2)} cm² (${m.area.value.toFixed(1)} mm²), perimeter ${m.perimeter.value.toFixed(1)} mm, length ${m.length.value.toFixed(1)} mm, depth ${m.depth.value.toFixed(1)} mm`;
}
