/**
 * The scale of a recorded exam read off the scanner's own depth ruler (src/core/depth-scale.ts):
 * one frame a second into the file (its first for a shorter one), decoded at its own size by
 * FFmpeg. Used when the user gave no --mm-per-px; undefined when no ruler is clearly there (the
 * figures then stay in pixels). The ruler of that frame stands for the whole file: a depth or zoom
 * change later in the exam is not followed, and the source line says which frame it came from.
 */
import { spawn } from 'node:child_process';
import type { RgbImage } from '../core/image.js';
import { detectDepthScale } from '../core/depth-scale.js';
import type { WireCalibration } from '../shared/protocol.js';

/** Seconds into the file of the frame read (past a scanner's first black frames). */
const PROBE_AT_S = 1;

/**
 * One frame `atS` seconds in, at the file's own size, as a PPM picture (its header carries the
 * size: no probe of the file is needed first, so this runs beside it).
 */
function grabFrame(file: string, atS: number): Promise<RgbImage | undefined> {
  return new Promise((resolve) => {
    const child = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-nostdin', '-ss', String(atS), '-i', file, '-frames:v', '1', '-f', 'image2pipe', '-c:v', 'ppm', '-'], { stdio: ['ignore', 'pipe', 'ignore'] });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => chunks.push(d));
    child.on('error', () => resolve(undefined));
    child.on('close', () => resolve(parsePpm(Buffer.concat(chunks))));
  });
}

/** A binary PPM (P6, 8 bits) as an RGB image, or undefined when it is not one or is cut short. */
export function parsePpm(b: Buffer): RgbImage | undefined {
  const m = /^P6\s+(\d+)\s+(\d+)\s+255\s/.exec(b.subarray(0, 64).toString('latin1'));
  if (m === null) return undefined;
  const width = Number(m[1]);
  const height = Number(m[2]);
  const start = m[0].length;
  if (width < 1 || height < 1 || b.length < start + width * height * 3) return undefined;
  return { width, height, data: new Uint8Array(b.subarray(start, start + width * height * 3)) };
}

/** The depth ruler's calibration of a video file, or undefined (no frame, no ruler clearly there). */
export async function rulerCalibration(file: string): Promise<WireCalibration | undefined> {
  let at = PROBE_AT_S;
  let image = await grabFrame(file, at);
  // A file shorter than that: its first frame.
  if (image === undefined) image = await grabFrame(file, (at = 0));
  if (image === undefined) return undefined;
  const d = detectDepthScale(image);
  if (d === undefined) return undefined;
  return {
    mmPerPxX: d.mmPerPx,
    mmPerPxY: d.mmPerPx,
    source: `from the scanner's depth ruler at ${at} s (${d.pxPerCm.toFixed(1)} px/cm, ${d.labels} labels read as cm, square pixels)`,
  };
}
