/**
 * Annotated video: the contours drawn on every full-size frame (src/core/draw.ts), encoded to an
 * H.264 MP4 by a second FFmpeg fed raw YUV 4:2:0 (or RGB) on stdin. One output frame per input
 * frame (constant rate, no dropping or duplication), so its frame count equals the NDJSON's line
 * count.
 *
 * The MP4 is fragmented (an empty `moov` first, then a `moof`+`mdat` every `fragmentMs`): a plain
 * MP4 gets its index only when the encoder ends cleanly, so an encoder or a process that dies
 * leaves an unplayable file; a fragmented one stays playable up to its last complete fragment, and
 * still plays while downloading.
 */
import { mkdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { spawnHelper } from '../helper-process.js';
import type { Writable } from 'node:stream';
import type { OperatorFunction } from 'rxjs';
import type { Contour } from '../core/contours.js';
import { drawContoursInPlace, strokeContours } from '../core/draw.js';
import { ErrorCode, SgusError } from '../errors.js';
import type { FrameResult, FullPicture } from './frame.js';
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
  /** Encoder threads (0 = FFmpeg decides). Default 0 (x264 with one thread took ~10 % more CPU per frame, measured). */
  threads?: number;
  /**
   * Longest side of the encoded video, px (even; 0 = the source's size). A larger picture is scaled
   * down inside the encoder, after the outlines are drawn at full size: the video of a 1280x720
   * exam costs ~60 % less CPU at 640 (measured). Default $SGUS_ANNOTATED_LONG_SIDE, else 0: the
   * source's size (the command line has no option for it yet).
   */
  longSide?: number;
  /**
   * Scheduling niceness added to the encoder (0-19): inference comes first when both want the CPU,
   * the encoder uses what is left and catches up in the pipe's buffer. Default 10.
   */
  niceness?: number;
  /** FFmpeg binary. Default $FFMPEG_PATH or 'ffmpeg'. */
  ffmpegPath?: string;
  /**
   * The pictures' size and format when known beforehand (a probed file): the encoder then starts
   * at once instead of on the first frame, so its start-up does not delay the first frames.
   */
  picture?: { width: number; height: number; format: FullPicture['format'] };
  /** Longest fragment of the MP4, ms: at most this much encoded video is lost when the encoder dies. Default 200. */
  fragmentMs?: number;
  /**
   * Called once when the encoder dies. When set, the failure does not end the stream: frames pass
   * on without video (the file keeps what was encoded) and the caller reports the file as
   * incomplete. Default: unset, the failure is an error of the stream.
   */
  onEncoderFailure?: (error: SgusError) => void;
}

export function annotatedVideoSink(options: AnnotatedVideoSinkOptions): OperatorFunction<FrameResult, FrameResult> {
  if (typeof options?.path !== 'string' || options.path === '') throw new SgusError(ErrorCode.InvalidArgument, 'annotated video sink needs a path', { where: 'annotated video sink' });
  const fps = options.fps ?? 25;
  if (!(fps > 0 && fps < 1000)) throw new SgusError(ErrorCode.InvalidArgument, `fps must be in (0, 1000), got ${String(fps)}`, { where: options.path });
  const longSide = options.longSide ?? Number(process.env.SGUS_ANNOTATED_LONG_SIDE || 0);
  if (!(Number.isInteger(longSide) && longSide >= 0 && longSide % 2 === 0)) throw new SgusError(ErrorCode.InvalidArgument, `longSide (or $SGUS_ANNOTATED_LONG_SIDE) must be an even integer >= 0, got ${String(longSide)}`, { where: options.path });
  const niceness = options.niceness ?? 10;
  if (!(Number.isInteger(niceness) && niceness >= 0 && niceness <= 19)) throw new SgusError(ErrorCode.InvalidArgument, `niceness must be an integer in 0..19, got ${String(niceness)}`, { where: options.path });
  const fragmentMs = options.fragmentMs ?? 200;
  if (!(fragmentMs >= 1)) throw new SgusError(ErrorCode.InvalidArgument, `fragmentMs must be >= 1, got ${String(fragmentMs)}`, { where: options.path });
  const file = options.path;
  const onEncoderFailure = options.onEncoderFailure;
  let reported = false;
  /** With `onEncoderFailure`: report the failure once and go on without video. */
  const encoderDied = (): boolean => {
    if (failure === undefined || onEncoderFailure === undefined) return false;
    if (!reported) {
      reported = true;
      onEncoderFailure(new SgusError(ErrorCode.SinkFailure, failure, { where: file, fatal: false }));
    }
    return true;
  };
  let input: Writable | undefined;
  let ended: Promise<void> | undefined;
  let failure: string | undefined;
  let size: { width: number; height: number; format: FullPicture['format'] } | undefined;
  let proc: ChildProcess | undefined;

  const start = async (width: number, height: number, format: FullPicture['format']): Promise<Writable> => {
    await mkdir(path.dirname(file), { recursive: true });
    size = { width, height, format };
    const out = encodedSize(width, height, longSide);
    const scale = out.width !== width || out.height !== height ? ['-vf', `scale=${out.width}:${out.height}`] : [];
    // Spawned directly, not through fluent-ffmpeg: its capability checks cost ~400 ms of start-up
    // on a loaded machine, during which the first frames would queue.
    const args = [
      '-hide_banner', '-nostdin', '-loglevel', 'error', '-y',
      '-f', 'rawvideo', '-pix_fmt', format, '-s', `${width}x${height}`, '-framerate', String(fps), '-i', 'pipe:0',
      ...scale,
      '-c:v', 'libx264', '-preset', options.preset ?? 'ultrafast', '-crf', String(options.crf ?? 23), '-pix_fmt', 'yuv420p',
      '-threads', String(options.threads ?? 0), '-fps_mode', 'passthrough',
      // Fragments at key frames and at least every fragmentMs, each flushed to the file at once.
      '-movflags', '+frag_keyframe+empty_moov+default_base_moof', '-frag_duration', String(Math.round(fragmentMs * 1000)), '-flush_packets', '1',
      '-an', '-f', 'mp4', file,
    ];
    // Its own process group: Ctrl-C must not cut the file short; sgus ends it (helper-process.ts).
    const child = spawnHelper(options.ffmpegPath ?? process.env.FFMPEG_PATH ?? 'ffmpeg', args, { stdio: ['pipe', 'ignore', 'pipe'] });
    proc = child;
    if (niceness > 0 && child.pid !== undefined) {
      try {
        os.setPriority(child.pid, Math.min(19, os.getPriority(child.pid) + niceness));
      } catch {
        // Not permitted (or already gone): it runs at our priority, which is only slower.
      }
    }
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
    });
    child.stdin!.on('error', () => undefined);
    ended = new Promise<void>((resolve) => {
      child.once('error', (err) => {
        failure = `encoder failed: cannot start ffmpeg (${err.message})`;
        resolve();
      });
      child.once('close', (code, signal) => {
        if (code !== 0 && failure === undefined) {
          const last = stderr.split('\n').map((l) => l.trim()).filter((l) => l !== '').pop();
          failure = `encoder failed: ffmpeg exited with ${signal !== null ? `signal ${signal}` : `code ${String(code)}`}${last !== undefined ? ` (${last})` : ''}`;
        }
        resolve();
      });
    });
    input = child.stdin!;
    return child.stdin!;
  };

  let starting: Promise<Writable> | undefined;
  let written = 0;
  const ensureStarted = (width: number, height: number, format: FullPicture['format']): Promise<Writable> => (starting ??= start(width, height, format));
  if (options.picture !== undefined) {
    // Errors surface on the first write.
    ensureStarted(options.picture.width, options.picture.height, options.picture.format).catch(() => undefined);
  }
  return serialSink<FrameResult>(
    async (r) => {
      const full = r.frame.full;
      if (full === undefined) throw new SgusError(ErrorCode.SinkFailure, `frame ${r.frame.index} has no full-size picture (source not asked for full frames)`, { where: file });
      const s = await ensureStarted(full.width, full.height, full.format);
      if (encoderDied()) return;
      if (failure !== undefined) throw new SgusError(ErrorCode.SinkFailure, failure, { where: file });
      if (full.width !== size!.width || full.height !== size!.height || full.format !== size!.format) {
        throw new SgusError(ErrorCode.SinkFailure, `frame ${r.frame.index} is ${full.width}x${full.height}, the video ${size!.width}x${size!.height}`, { where: file });
      }
      // At least 2 px wide in the encoded video, whatever it is scaled to.
      const k = full.width / encodedSize(full.width, full.height, longSide).width;
      const thickness = Math.max(Math.ceil(2 * k), Math.round(full.width / 480));
      const color = options.color ?? [0, 255, 0];
      if (full.format === 'rgb24') drawContoursInPlace(full, r.contours, { thickness, color });
      else drawContoursYuv420(full, r.contours, thickness, color);
      written++;
      s.write(full.data);
      // Up to 12 pictures may wait in the pipe's buffer (x264 stalls for a few frames at times on a
      // shared CPU); beyond that, wait for it, or for its end if it died.
      if (s.writableLength > 12 * full.data.length) await Promise.race([new Promise<void>((resolve) => s.once('drain', resolve)), ended!]);
    },
    async () => {
      if (starting !== undefined) await starting.catch(() => undefined);
      if (input === undefined || ended === undefined) return;
      if (written === 0) {
        // Started early but no frame came (the source failed at once): no empty file left behind.
        proc?.kill('SIGKILL');
        await ended;
        await rm(file, { force: true });
        return;
      }
      // Every ending (complete, error, torn down without an end) closes the file properly: the
      // encoder writes its last fragment when its input ends.
      input.end();
      const timer = setTimeout(() => proc?.kill('SIGKILL'), 60_000);
      await ended;
      clearTimeout(timer);
      if (encoderDied()) return;
      if (failure !== undefined) throw new SgusError(ErrorCode.SinkFailure, failure, { where: file });
    },
  );
}

/** The encoded video's size: the source's, or scaled to `longSide` (0: unlimited), even, never up. */
export function encodedSize(width: number, height: number, longSide: number): { width: number; height: number } {
  const long = Math.max(width, height);
  if (longSide <= 0 || long <= longSide) return { width, height };
  const even = (v: number): number => Math.max(2, Math.round(v / 2) * 2);
  return { width: even((width * longSide) / long), height: even((height * longSide) / long) };
}

/**
 * Draws closed contours on a planar YUV 4:2:0 picture (BT.601 limited range, as x264 assumes for
 * yuv420p input): luma per pixel, chroma per 2×2 block. Same geometry as src/core/draw.ts.
 */
export function drawContoursYuv420(pic: FullPicture, contours: readonly Contour[], thickness: number, rgb: readonly [number, number, number]): void {
  const { width: w, height: h, data } = pic;
  const cw = Math.ceil(w / 2);
  const ch = Math.ceil(h / 2);
  const uBase = w * h;
  const vBase = uBase + cw * ch;
  const [r, g, b] = rgb;
  const Y = Math.round(16 + 0.257 * r + 0.504 * g + 0.098 * b);
  const U = Math.round(128 - 0.148 * r - 0.291 * g + 0.439 * b);
  const V = Math.round(128 + 0.439 * r - 0.368 * g - 0.071 * b);
  strokeContours(contours, thickness, w, h, (x, y) => {
    data[y * w + x] = Y;
    const c = (y >> 1) * cw + (x >> 1);
    data[uBase + c] = U;
    data[vBase + c] = V;
  });
}
