/**
 * Physical pixel size of an ultrasound frame, as the scanner calibrated it: the Sequence of
 * Ultrasound Regions (the B-mode region: spatial format 2D, physical units cm), else Pixel
 * Spacing. No calibration is reported as none: figures then stay in pixels, never a guessed scale.
 */
import type { DataSet } from 'dicom-parser';

export interface Calibration {
  /** Millimetres per pixel, horizontally (columns) and vertically (rows). */
  mmPerPxX: number;
  mmPerPxY: number;
  /** Where it came from. */
  source: 'ultrasound-region' | 'pixel-spacing';
  /** The calibrated region's pixel rectangle (inclusive), for an ultrasound region. */
  region?: { x0: number; y0: number; x1: number; y1: number };
}

/** Physical Units X/Y Direction code 3: centimetres (PS3.3 C.8.5.5.1.15). */
const UNITS_CM = 3;
/** Region Spatial Format 1: 2D (tissue or flow), the B-mode image. */
const SPATIAL_2D = 1;

function positive(v: number | undefined): v is number {
  return v !== undefined && Number.isFinite(v) && v > 0;
}

/**
 * The calibration of a dataset. Of several 2D regions in cm (a dual view), the largest is taken:
 * it holds the B-mode image the gland is in. `regionCount` in the result's caller messages can
 * tell when more than one was there.
 */
export function readCalibration(ds: DataSet): Calibration | undefined {
  const regions = ds.elements['x00186011']?.items ?? [];
  let best: (Calibration & { pixels: number }) | undefined;
  for (const item of regions) {
    const r = item.dataSet;
    if (r === undefined) continue;
    if (r.uint16('x00186012') !== SPATIAL_2D) continue;
    if (r.uint16('x00186024') !== UNITS_CM || r.uint16('x00186026') !== UNITS_CM) continue;
    const dx = r.double('x0018602c');
    const dy = r.double('x0018602e');
    if (!positive(dx) || !positive(dy)) continue;
    const region = { x0: r.uint32('x00186018') ?? 0, y0: r.uint32('x0018601a') ?? 0, x1: r.uint32('x0018601c') ?? 0, y1: r.uint32('x0018601e') ?? 0 };
    const pixels = Math.max(0, region.x1 - region.x0 + 1) * Math.max(0, region.y1 - region.y0 + 1);
    if (best === undefined || pixels > best.pixels) best = { mmPerPxX: dx * 10, mmPerPxY: dy * 10, source: 'ultrasound-region', region, pixels };
  }
  if (best !== undefined) {
    const { pixels: _pixels, ...cal } = best;
    return cal;
  }
  // Pixel Spacing: row spacing (between rows, i.e. vertical) first, then column spacing, in mm.
  const ps = ds.string('x00280030');
  if (ps !== undefined) {
    const [row, col] = ps.split('\\').map(Number);
    if (positive(row) && positive(col)) return { mmPerPxX: col, mmPerPxY: row, source: 'pixel-spacing' };
  }
  return undefined;
}
