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
  /** Encoder threads (0 = FFmpeg decides). Default 0. */
  threads?: number;
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
    // Spawned directly, not through fluent-ffmpeg: its capability checks cost ~400 ms of start-up
    // on a loaded machine, during which the first frames would queue.
    const args = [
      '-hide_banner', '-nostdin', '-loglevel', 'error', '-y',
      '-f', 'rawvideo', '-pix_fmt', format, '-s', `${width}x${height}`, '-framerate', String(fps), '-i', 'pipe:0',
      '-c:v', 'libx264', '-preset', options.preset ?? 'ultrafast', '-crf', String(options.crf ?? 23), '-pix_fmt', 'yuv420p',
      '-threads', String(options.threads ?? 0), '-fps_mode', 'passthrough',
      // Fragments at key frames and at least every fragmentMs, each flushed to the file at once.
      '-movflags', '+frag_keyframe+empty_moov+default_base_moof', '-frag_duration', String(Math.round(fragmentMs * 1000)), '-flush_packets', '1',
      '-an', '-f', 'mp4', file,
    ];
    // Its own process group: Ctrl-C must not cut the file short; sgus ends it (helper-process.ts).
    const child = spawnHelper(options.ffmpegPath ?? process.env.FFMPEG_PATH ?? 'ffmpeg', args, { stdio: ['pipe', 'ignore', 'pipe'] });
    proc = child;
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
      const thickness = Math.max(2, Math.round(full.width / 480));
      const color = options.color ?? [0, 255, 0];
      if (full.format === 'rgb24') drawContoursInPlace(full, r.contours, { thickness, color });
      else drawContoursYuv420(full, r.contours, thickness, color);
      written++;
      s.write(full.data);
      // Up to 12 pictures may wait in the pipe's buffer (x264 stalls for a few frames at times on a
      // shared CPU); beyond that, wait for it, or for its end if it died.
      if (s.writableLength > 12 * full.data.length) await Promise.race([new Promise<void>((resolve) => s.once('drain', resolve)), ended!]);
    },
    async (reason) => {
      if (starting !== undefined) await starting.catch(() => undefined);
      if (input === undefined || ended === undefined) return;
      if (written === 0) {
        // Started early but no frame came (the source failed at once): no empty file left behind.
        proc?.kill('SIGKILL');
        await ended;
        await rm(file, { force: true });
        return;
      }
      if (reason === 'unsubscribe' && failure === undefined) {
        // Torn down without an end: still close the file properly.
        input.end();
      } else {
        input.end();
      }
      const timer = setTimeout(() => proc?.kill('SIGKILL'), 60_000);
      await ended;
      clearTimeout(timer);
      if (encoderDied()) return;
      if (failure !== undefined) throw new SgusError(ErrorCode.SinkFailure, failure, { where: file });
    },
  );
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
