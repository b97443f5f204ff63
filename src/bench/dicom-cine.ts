/**
 * What reading a DICOM cine loop costs against the same frames from an MP4 (issue 12: at most
 * +10 %): the exam's first `frames` frames (looped when it is shorter) written once as a JPEG
 * Baseline multi-frame DICOM file and once as an H.264 MP4, then `sgus replay X --max-speed --out
 * DIR --no-video` timed on each as a child process of the built CLI, wall clock spawn → exit.
 *
 * The DICOM frames are JPEG-encoded by FFmpeg's MJPEG encoder (baseline, 4:2:2 full range, what
 * YBR_FULL_422 says) one frame after another and handed to the writer already encoded
 * (`writeUltrasoundDicom(..., { encoded })`): 1000 decoded 1280x720 frames would be ~2.8 GB held at
 * once, the JPEGs are ~100 MB, and the pictures keep the exam's size.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RgbImage } from '../core/image.js';
import { TransferSyntax } from '../dicom/uids.js';
import { writeUltrasoundDicom } from '../dicom/us-writer.js';
import { ErrorCode, SgusError } from '../errors.js';
import { BATCH_STAGE_DEFAULTS } from '../pipeline/batch-stage.js';
import { JpegSplitter } from '../pipeline/jpeg-splitter.js';
import { probeVideo } from '../pipeline/probe.js';
import { PACKAGE_ROOT, resolveModel } from '../segmenter/model-registry.js';

export interface DicomCineBenchOptions {
  /** The exam video. Default $SGUS_DATA (else ../shared/data/sgus)/video/parotid-exam-1280x720-25fps.mp4. */
  video?: string;
  /** Frames in both files. Default 1000. */
  frames?: number;
  /** Model name or card path. Default the default model. */
  model?: string;
  /** Batch size of both replays. Default `BATCH_STAGE_DEFAULTS.maxBatchSize`. */
  batch?: number;
  /** Inference threads of both replays. Default replay's own (the cores, at most 8). */
  threads?: number;
  /** Progress lines ('writing the DICOM file', 'replaying the MP4'...). Default none. */
  onProgress?: (line: string) => void;
}

export interface DicomCineBenchResult {
  frames: number;
  /** 'WxH' of the frames. */
  size: string;
  /** Wall clock of the replay of the DICOM file, s. */
  dicomSeconds: number;
  mp4Seconds: number;
  /** dicomSeconds / mp4Seconds (the target: <= 1.10). */
  ratio: number;
  /** Bytes of the two files. */
  dicomBytes: number;
  mp4Bytes: number;
  /** NDJSON lines each replay wrote (one per frame segmented). */
  ndjsonLines: { dicom: number; mp4: number };
}

export const DICOM_CINE_TARGET_RATIO = 1.1;

function defaultVideo(): string {
  return path.join(process.env.SGUS_DATA ?? path.resolve(PACKAGE_ROOT, '..', 'shared', 'data', 'sgus'), 'video', 'parotid-exam-1280x720-25fps.mp4');
}

/** FFmpeg to completion; stdout collected through `onData` when given. */
function ffmpeg(args: string[], onData?: (chunk: Buffer) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.env.FFMPEG_PATH ?? 'ffmpeg', ['-hide_banner', '-nostdin', '-loglevel', 'error', ...args], { stdio: ['ignore', onData !== undefined ? 'pipe' : 'ignore', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-2000)));
    if (onData !== undefined) child.stdout!.on('data', onData);
    child.once('error', (e) => reject(new SgusError(ErrorCode.SourceFailure, `cannot run ffmpeg: ${e.message}`, { where: 'dicom-cine bench' })));
    child.once('close', (code) => (code === 0 ? resolve() : reject(new SgusError(ErrorCode.SourceFailure, `ffmpeg exited with code ${String(code)}: ${err.trim().split('\n').pop() ?? ''}`, { where: 'dicom-cine bench' }))));
  });
}

/** The `sgus` entry point: the built one (dist/), as users run it. */
function cli(): string {
  const here = fileURLToPath(import.meta.url);
  return here.endsWith('.js') ? path.join(path.dirname(here), '..', 'cli', 'main.js') : path.join(PACKAGE_ROOT, 'dist', 'cli', 'main.js');
}

function round(v: number): number {
  return Math.round(v * 1000) / 1000;
}

/** `sgus replay FILE --max-speed --out DIR --no-video` as a child, wall clock spawn → exit, and its NDJSON lines. */
async function timedReplay(file: string, out: string, extra: string[]): Promise<{ seconds: number; lines: number }> {
  if (!existsSync(cli())) throw new SgusError(ErrorCode.InvalidArgument, `${cli()} is missing: run 'npm run build' first`, { where: 'dicom-cine bench' });
  const t0 = performance.now();
  const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [cli(), 'replay', file, '--max-speed', '--out', out, '--no-video', '--quiet', ...extra], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-2000)));
    child.once('error', (e) => reject(new SgusError(ErrorCode.SourceFailure, `cannot run sgus replay: ${e.message}`, { where: file })));
    child.once('close', (c) => resolve({ code: c, stderr: err }));
  });
  const seconds = (performance.now() - t0) / 1000;
  if (code !== 0) throw new SgusError(ErrorCode.SourceFailure, `sgus replay exited with code ${String(code)}: ${stderr.trim().split('\n').pop() ?? ''}`, { where: file });
  const stem = path.basename(file).replace(/\.[^.]*$/, '');
  const text = await readFile(path.join(out, `${stem}.contours.ndjson`), 'utf8');
  return { seconds, lines: text.split('\n').filter((l) => l.trim() !== '').length };
}

export async function runDicomCineBench(o: DicomCineBenchOptions = {}): Promise<DicomCineBenchResult> {
  const video = o.video ?? defaultVideo();
  const frames = o.frames ?? 1000;
  if (!Number.isInteger(frames) || frames < 1) throw new SgusError(ErrorCode.InvalidArgument, `frames must be an integer >= 1, got ${String(frames)}`, { where: 'dicom-cine bench' });
  const progress = o.onProgress ?? (() => undefined);
  const probe = await probeVideo(video);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sgus-bench-dicom-'));
  try {
    // The same decoded frames for both: looped input, the first `frames`, at the exam's rate.
    const input = ['-stream_loop', '-1', '-i', video, '-map', '0:v:0', '-an', '-frames:v', String(frames)];
    progress(`dicom-cine: encoding ${frames} frames of ${probe.width}x${probe.height} as JPEG Baseline`);
    const jpegs: Uint8Array[] = [];
    const splitter = new JpegSplitter();
    await ffmpeg([...input, '-c:v', 'mjpeg', '-q:v', '3', '-pix_fmt', 'yuvj422p', '-f', 'image2pipe', 'pipe:1'], (chunk) => {
      for (const p of splitter.push(chunk)) jpegs.push(p.data);
    });
    if (jpegs.length !== frames) throw new SgusError(ErrorCode.SourceFailure, `ffmpeg gave ${jpegs.length} of ${frames} JPEG frames`, { where: video });
    // With `encoded`, the frames only give the size: one small picture object stands for all.
    const shape: RgbImage = { width: probe.width, height: probe.height, data: new Uint8Array(0) };
    const dicom = path.join(dir, 'exam.dcm');
    const bytes = writeUltrasoundDicom(new Array<RgbImage>(frames).fill(shape), {
      frameTimeMs: 1000 / probe.fps,
      encoded: { transferSyntax: TransferSyntax.JpegBaseline, photometric: 'YBR_FULL_422', samplesPerPixel: 3, lossy: true, frames: jpegs },
    });
    await writeFile(dicom, bytes);
    jpegs.length = 0;
    const mp4 = path.join(dir, 'exam.mp4');
    progress(`dicom-cine: encoding the same frames as H.264`);
    await ffmpeg([...input, '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '23', '-pix_fmt', 'yuv420p', '-movflags', '+faststart', '-y', mp4]);
    const mp4Bytes = (await stat(mp4)).size;
    const model = o.model ?? (await resolveModel(undefined)).card.name;
    const extra = ['--model', model, '--batch', String(o.batch ?? BATCH_STAGE_DEFAULTS.maxBatchSize), ...(o.threads !== undefined ? ['--threads', String(o.threads)] : [])];
    progress('dicom-cine: replaying the MP4');
    const m = await timedReplay(mp4, path.join(dir, 'out-mp4'), extra);
    progress('dicom-cine: replaying the DICOM file');
    const d = await timedReplay(dicom, path.join(dir, 'out-dicom'), extra);
    if (d.lines !== frames || m.lines !== frames) throw new SgusError(ErrorCode.SourceFailure, `replays wrote ${d.lines} (DICOM) and ${m.lines} (MP4) NDJSON lines for ${frames} frames`, { where: 'dicom-cine bench' });
    const dicomSeconds = round(d.seconds);
    const mp4Seconds = round(m.seconds);
    return {
      frames,
      size: `${probe.width}x${probe.height}`,
      dicomSeconds,
      mp4Seconds,
      // Of the times as reported, so that the report's three figures agree with each other.
      ratio: Math.round((dicomSeconds / mp4Seconds) * 1000) / 1000,
      ndjsonLines: { dicom: d.lines, mp4: m.lines },
      dicomBytes: bytes.length,
      mp4Bytes,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
