/**
 * The four per-image outputs of the published DeepSGUS, with its file names:
 * `<stem>_SG_PerPixelPredictions.png` (0/1), `<stem>_SG_Black&White.png` (0/255),
 * `<stem>_SG_ContourOverInput.png`, `<stem>_SG_Contour_Points.txt` (one `x y` pair a line).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Contour } from '../core/contours.js';
import { drawContours } from '../core/draw.js';
import type { DrawOptions } from '../core/draw.js';
import type { Figure, GlandMeasurements } from '../core/gland-measurements.js';
import type { RgbImage } from '../core/image.js';
import { encodePngGrey, encodePngRgb } from '../core/image-io.js';
import { toBlackAndWhite } from '../core/mask-cleanup.js';
import type { Segmentation } from './postprocess.js';

export interface WrittenOutputs {
  classMap: string;
  blackWhite: string;
  contourOverInput: string;
  contourPoints: string;
}

export function outputPaths(dir: string, stem: string): WrittenOutputs {
  return {
    classMap: path.join(dir, `${stem}_SG_PerPixelPredictions.png`),
    blackWhite: path.join(dir, `${stem}_SG_Black&White.png`),
    contourOverInput: path.join(dir, `${stem}_SG_ContourOverInput.png`),
    contourPoints: path.join(dir, `${stem}_SG_Contour_Points.txt`),
  };
}

/**
 * Contour points as text: one `x y` pair a line. The published tool wrote one outline; we write
 * every border, each started by a `# contour K outer|hole parent P` comment line so that tools that
 * read plain pairs can skip comments and still get all points in boundary order. With
 * `measurements`, a first `# gland ...` comment line gives the gland's figures with their units
 * (mm from the file's calibration, else px and the word uncalibrated).
 */
export function formatContourPoints(contours: readonly Contour[], measurements?: GlandMeasurements): string {
  const lines: string[] = [];
  if (measurements !== undefined) lines.push(measurementsHeader(measurements));
  contours.forEach((c, k) => {
    lines.push(`# contour ${k} ${c.hole ? 'hole' : 'outer'} parent ${c.parent} points ${c.points.length}`);
    for (const [x, y] of c.points) lines.push(`${x} ${y}`);
  });
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

/** `# gland area 64.95 mm2 (0.6495 cm2) perimeter 63.003 mm length 13.4 mm depth 11.625 mm calibrated` (or `... px2 ... uncalibrated`). */
export function measurementsHeader(m: GlandMeasurements): string {
  const f = (x: Figure): string => `${x.value} ${x.unit}`;
  return `# gland area ${f(m.area)}${m.areaCm2 !== undefined ? ` (${f(m.areaCm2)})` : ''} perimeter ${f(m.perimeter)} length ${f(m.length)} depth ${f(m.depth)} ${m.calibrated ? 'calibrated' : 'uncalibrated'}`;
}

/** `measurements`: the gland's figures, written in the contour points' header. Default: none. */
export async function writeOutputs(dir: string, stem: string, input: RgbImage, seg: Segmentation, draw: DrawOptions = {}, measurements?: GlandMeasurements): Promise<WrittenOutputs> {
  await mkdir(dir, { recursive: true });
  const p = outputPaths(dir, stem);
  await Promise.all([
    writeFile(p.classMap, encodePngGrey(seg.classMap)),
    writeFile(p.blackWhite, encodePngGrey(toBlackAndWhite(seg.classMap))),
    writeFile(p.contourOverInput, encodePngRgb(drawContours(input, seg.contours, { thickness: Math.max(1, Math.round(Math.max(input.width, input.height) / 300)), ...draw }))),
    writeFile(p.contourPoints, formatContourPoints(seg.contours, measurements)),
  ]);
  return p;
}
