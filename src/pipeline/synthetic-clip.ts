/**
 * Synthetic ultrasound clips: frames from src/synthetic piped as raw RGB into FFmpeg and encoded
 * H.264 MP4 (baseline, no B-frames, so viewers get the stream passed through). For tests, demos and
 * the default `serve` preset; no patient data involved. Written to a temporary name and renamed, so
 * a cached clip is never half-written.
 */
import { spawn } from 'node:child_process';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { ErrorCode, SgusError } from '../errors.js';
import { syntheticFrame } from '../synthetic/ultrasound-frame.js';

export interface SyntheticClipOptions {
  /** Output .mp4 path. */
  path: string;
  /** Default 320. */
  width?: number;
  /** Default 240. */
  height?: number;
  /** Default 25. */
  fps?: number;
  /** Seconds. Default 3. */
  seconds?: number;
  /** Default 1. */
  seed?: number;
  /** Keyframe interval in frames. Default 2 s. */
  gop?: number;
  /** x264 CRF: speckle is noise, so quality costs bitrate fast (CRF 23 gives ~14 Mbit/s at 640x480). Default 28. */
  crf?: number;
  /** Reuse an existing file at `path`. Default false. */
  reuse?: boolean;
  /** FFmpeg binary. Default $FFMPEG_PATH or 'ffmpeg'. */
  ffmpegPath?: string;
  /** Called as frames are made (`done` of `total`), at most once per percent, for a first start's progress. Default none. */
  onProgress?: (done: number, total: number) => void;
}

/** Writes the clip; resolves to its path and frame count. */
export async function writeSyntheticClip(options: SyntheticClipOptions): Promise<{ path: string; frames: number }> {
  const width = options.width ?? 320;
  const height = options.height ?? 240;
  const fps = options.fps ?? 25;
  const frames = Math.max(1, Math.round((options.seconds ?? 3) * fps));
  if (width % 2 !== 0 || height % 2 !== 0 || width < 16 || height < 16) throw new SgusError(ErrorCode.InvalidArgument, `clip size must be even and >= 16, got ${width}x${height}`, { where: options.path });
  if (options.reuse === true) {
    const st = await stat(options.path).catch(() => undefined);
    if (st !== undefined && st.size > 0) return { path: options.path, frames };
  }
  await mkdir(path.dirname(options.path), { recursive: true });
  const tmp = `${options.path}.${process.pid}.tmp.mp4`;
  const ff = spawn(options.ffmpegPath ?? process.env.FFMPEG_PATH ?? 'ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-nostdin', '-y',
    '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${width}x${height}`, '-framerate', String(fps), '-i', 'pipe:0',
    '-c:v', 'libx264', '-preset', 'veryfast', '-profile:v', 'baseline', '-pix_fmt', 'yuv420p', '-g', String(options.gop ?? fps * 2), '-bf', '0', '-crf', String(options.crf ?? 28),
    '-movflags', '+faststart', tmp,
  ], { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  ff.stderr.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-2000);
  });
  const exited = new Promise<number | null>((resolve, reject) => {
    ff.once('error', reject);
    ff.once('close', resolve);
  });
  ff.stdin.on('error', () => undefined);
  try {
    for (let i = 0; i < frames; i++) {
      const f = syntheticFrame({ width, height, t: i / fps, seed: options.seed ?? 1 });
      if (!ff.stdin.write(f.image.data)) await new Promise<void>((resolve) => ff.stdin.once('drain', resolve));
      if (options.onProgress !== undefined && Math.floor(((i + 1) * 100) / frames) !== Math.floor((i * 100) / frames)) options.onProgress(i + 1, frames);
    }
    ff.stdin.end();
    const code = await exited;
    if (code !== 0) throw new SgusError(ErrorCode.SourceFailure, `ffmpeg could not encode the clip (code ${String(code)}): ${stderr.trim().split('\n').pop() ?? ''}`, { where: options.path });
    await rename(tmp, options.path);
  } catch (err) {
    ff.kill('SIGKILL');
    await rm(tmp, { force: true });
    throw err instanceof SgusError ? err : new SgusError(ErrorCode.SourceFailure, `cannot write clip: ${(err as Error).message}`, { where: options.path, cause: err });
  }
  return { path: options.path, frames };
}
