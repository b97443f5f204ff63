/**
 * Annotated video: the contours drawn on every full-size frame (src/core/draw.ts), encoded to an
 * H.264 MP4 by a second FFmpeg (through fluent-ffmpeg) fed raw RGB on stdin, `+faststart` so it
 * plays while downloading. One output frame per input frame (constant rate, no dropping or
 * duplication), so its frame count equals the NDJSON's line count.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import ffmpeg from 'fluent-ffmpeg';
import type { OperatorFunction } from 'rxjs';
import { drawContoursInPlace } from '../core/draw.js';
import { ErrorCode, SgusError } from '../errors.js';
import type { FrameResult } from './frame.js';
import { serialSink } from './serial-sink.js';

export interface AnnotatedVideoSinkOptions {
  /** Output .mp4 path. */
  path: string;
  /** Frame rate written in the file. Default 25. */
  fps?: number;
  /** Outline colour. Default green. */
  color?: [number, number, number];
  /** x264 preset. Default 'ultrafast' (the pipeline shares the CPU with inference). */
  preset?: string;
  /** x264 CRF. Default 23. */
  crf?: number;
  /** Encoder threads (0 = FFmpeg decides). Default 0. */
  threads?: number;
}

export function annotatedVideoSink(options: AnnotatedVideoSinkOptions): OperatorFunction<FrameResult, FrameResult> {
  if (typeof options?.path !== 'string' || options.path === '') throw new SgusError(ErrorCode.InvalidArgument, 'annotated video sink needs a path', { where: 'annotated video sink' });
  const fps = options.fps ?? 25;
  if (!(fps > 0 && fps < 1000)) throw new SgusError(ErrorCode.InvalidArgument, `fps must be in (0, 1000), got ${String(fps)}`, { where: options.path });
  const file = options.path;
  let input: PassThrough | undefined;
  let ended: Promise<void> | undefined;
  let failure: string | undefined;
  let size: { width: number; height: number } | undefined;
  let command: ffmpeg.FfmpegCommand | undefined;

  const start = async (width: number, height: number): Promise<PassThrough> => {
    await mkdir(path.dirname(file), { recursive: true });
    size = { width, height };
    const stdin = new PassThrough({ highWaterMark: width * height * 3 * 2 });
    input = stdin;
    const cmd = ffmpeg()
      .input(stdin)
      .inputFormat('rawvideo')
      .inputOptions(['-pix_fmt', 'rgb24', '-s', `${width}x${height}`, '-framerate', String(fps)])
      .videoCodec('libx264')
      .outputOptions([
        '-preset', options.preset ?? 'ultrafast',
        '-crf', String(options.crf ?? 23),
        '-pix_fmt', 'yuv420p',
        '-threads', String(options.threads ?? 0),
        '-fps_mode', 'passthrough',
        '-movflags', '+faststart',
        '-an',
      ])
      .format('mp4')
      .output(file);
    command = cmd;
    ended = new Promise<void>((resolve) => {
      cmd.once('end', () => resolve());
      cmd.once('error', (err: Error, _stdout: string, stderr: string) => {
        const last = String(stderr ?? '').split('\n').map((l) => l.trim()).filter((l) => l !== '').pop();
        failure = `encoder failed: ${err.message.split('\n')[0]}${last !== undefined ? ` (${last})` : ''}`;
        stdin.destroy();
        resolve();
      });
    });
    cmd.run();
    return stdin;
  };

  return serialSink<FrameResult>(
    async (r) => {
      const full = r.frame.full;
      if (full === undefined) throw new SgusError(ErrorCode.SinkFailure, `frame ${r.frame.index} has no full-size picture (source not asked for full frames)`, { where: file });
      const s = input ?? (await start(full.width, full.height));
      if (failure !== undefined) throw new SgusError(ErrorCode.SinkFailure, failure, { where: file });
      if (full.width !== size!.width || full.height !== size!.height) {
        throw new SgusError(ErrorCode.SinkFailure, `frame ${r.frame.index} is ${full.width}x${full.height}, the video ${size!.width}x${size!.height}`, { where: file });
      }
      const opts: { thickness: number; color?: [number, number, number] } = { thickness: Math.max(2, Math.round(full.width / 480)) };
      if (options.color !== undefined) opts.color = options.color;
      drawContoursInPlace(full, r.contours, opts);
      if (!s.write(full.data)) await new Promise<void>((resolve) => s.once('drain', resolve));
    },
    async (reason) => {
      if (input === undefined || ended === undefined) return;
      if (reason === 'unsubscribe' && failure === undefined) {
        // Torn down without an end: still close the file properly.
        input.end();
      } else {
        input.end();
      }
      const timer = setTimeout(() => command?.kill('SIGKILL'), 60_000);
      await ended;
      clearTimeout(timer);
      if (failure !== undefined) throw new SgusError(ErrorCode.SinkFailure, failure, { where: file });
    },
  );
}
