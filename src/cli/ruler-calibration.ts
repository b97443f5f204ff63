/**
 * The scale of a recorded exam read off the scanner's own depth ruler (src/core/depth-scale.ts):
 * one frame a second into the file, decoded at its own size by FFmpeg. Used when the user gave no
 * --mm-per-px; undefined when no ruler is clearly there (the figures then stay in pixels). The
 * ruler of that frame stands for the whole file: a depth change later in the exam is not followed,
 * and the source line says so.
 */
import { spawn } from 'node:child_process';
import { detectDepthScale } from '../core/depth-scale.js';
import type { WireCalibration } from '../shared/protocol.js';

/** Seconds into the file of the frame read (past a scanner's first black frames). */
const PROBE_AT_S = 1;

function grabFrame(file: string, width: number, height: number, atS: number): Promise<Uint8Array | undefined> {
  return new Promise((resolve) => {
    const size = width * height * 3;
    const child = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-nostdin', '-ss', String(atS), '-i', file, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], { stdio: ['ignore', 'pipe', 'ignore'] });
    const chunks: Buffer[] = [];
    let got = 0;
    child.stdout.on('data', (d: Buffer) => {
      chunks.push(d);
      got += d.length;
    });
    child.on('error', () => resolve(undefined));
    child.on('close', () => resolve(got >= size ? new Uint8Array(Buffer.concat(chunks).subarray(0, size)) : undefined));
  });
}

/** The depth ruler's calibration of a video file of `width` x `height`, or undefined. */
export async function rulerCalibration(file: string, width: number, height: number, durationS?: number): Promise<WireCalibration | undefined> {
  const at = durationS !== undefined && durationS < PROBE_AT_S * 2 ? 0 : PROBE_AT_S;
  const data = (await grabFrame(file, width, height, at)) ?? (at > 0 ? await grabFrame(file, width, height, 0) : undefined);
  if (data === undefined) return undefined;
  const d = detectDepthScale({ width, height, data });
  if (d === undefined) return undefined;
  return {
    mmPerPxX: d.mmPerPx,
    mmPerPxY: d.mmPerPx,
    source: `from the scanner's depth ruler at ${at} s (${d.pxPerCm.toFixed(1)} px/cm, ${d.labels} labels read as cm, square pixels)`,
  };
}
