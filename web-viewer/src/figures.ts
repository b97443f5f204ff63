/**
 * The gland figures beside the picture, large enough to read from across the room: area in cm²
 * (perimeter, length, depth in mm) with where the scale came from when the stream is calibrated,
 * else in pixels, labelled uncalibrated. The scale is the one the server sent (`calibration`), never
 * a guess.
 */
import { measureOutline, pointsFromFlat } from '../../src/core/outline-figures.js';
import type { GlandMeasurements } from '../../src/core/gland-measurements.js';
import type { FrameHeader, WireCalibration } from '../../src/shared/protocol.js';

export interface ShownFigures {
  /** The frame they are of. */
  index: number;
  measurements: GlandMeasurements;
  /** The gland's share of the picture, %. */
  percentOfFrame: number;
  calibration: WireCalibration | undefined;
}

/** The figures of a frame's outline. */
export function figuresOf(header: FrameHeader, calibration: WireCalibration | undefined): ShownFigures {
  const polygons = header.contours.map((c) => ({ points: pointsFromFlat(c.points), hole: c.hole }));
  return {
    index: header.index,
    measurements: measureOutline(polygons, header.area, calibration),
    percentOfFrame: (100 * header.area) / Math.max(1, header.sourceWidth * header.sourceHeight),
    calibration,
  };
}

function mmPerPxText(c: WireCalibration): string {
  const f = (v: number): string => String(Number(v.toPrecision(4)));
  return c.mmPerPxX === c.mmPerPxY ? `${f(c.mmPerPxX)} mm/px` : `${f(c.mmPerPxX)} × ${f(c.mmPerPxY)} mm/px`;
}

/** The texts shown: one per element id of the figures panel. */
export function figureTexts(f: ShownFigures | undefined, calibration: WireCalibration | undefined): Record<'area' | 'perimeter' | 'length' | 'depth' | 'scale', string> {
  const scale = calibration !== undefined ? `Scale ${calibration.source}: ${mmPerPxText(calibration)}` : 'Uncalibrated: figures in pixels (no scale given, e.g. --mm-per-px)';
  if (f === undefined) return { area: '–', perimeter: '–', length: '–', depth: '–', scale };
  const m = f.measurements;
  if (m.calibrated && m.areaCm2 !== undefined) {
    return {
      area: `${m.areaCm2.value.toFixed(2)} cm²`,
      perimeter: `${m.perimeter.value.toFixed(1)} mm`,
      length: `${m.length.value.toFixed(1)} mm`,
      depth: `${m.depth.value.toFixed(1)} mm`,
      scale,
    };
  }
  return {
    area: `${Math.round(m.area.value).toLocaleString('en-US')} px² (${f.percentOfFrame.toFixed(1)} %)`,
    perimeter: `${Math.round(m.perimeter.value)} px`,
    length: `${Math.round(m.length.value)} px`,
    depth: `${Math.round(m.depth.value)} px`,
    scale,
  };
}

/** Writes the texts into the page (only what changed, so screen readers are not flooded). */
export function showFigures(f: ShownFigures | undefined, calibration: WireCalibration | undefined): void {
  const panel = document.getElementById('figures');
  if (panel !== null) {
    panel.dataset['calibrated'] = String(calibration !== undefined);
    // Which frame the texts are of, for tests and the curious (the texts lag the picture by < 0.5 s).
    panel.dataset['index'] = f !== undefined ? String(f.index) : '';
  }
  for (const [id, text] of Object.entries(figureTexts(f, calibration))) {
    const el = document.getElementById(id);
    if (el !== null && el.textContent !== text) el.textContent = text;
  }
}
