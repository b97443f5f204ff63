/**
 * One recording's encoder: full-size pictures with their outline burnt in, written by an FFmpeg
 * (libx264) to a fragmented MP4 — playable up to its last fragment even when the server dies, and
 * closed properly (its index written) when the input ends. The file runs at a constant rate: a
 * picture is repeated over frames the viewer never got (live drops), so the clip lasts as long as
 * the stretch of exam it shows, and a gap never shortens it.
 */
import type { ChildProcess } from 'node:child_process';
import type { Writable } from 'node:stream';
import type { Contour } from '../core/contours.js';
import { drawContoursInPlace } from '../core/draw.js';
import { ErrorCode, SgusError } from '../errors.js';
import { spawnHelper } from '../helper-process.js';
import { drawContoursYuv420 } from '../pipeline/annotated-video-sink.js';
import type { FullPicture } from '../pipeline/frame.js';

export interface RecordingEncoderOptions {
  /** Output .mp4 path (the caller makes it safe). Required. */
  path: string;
  /** Frames a second written in the file. Default 25. */
  fps?: number;
  /**
   * Largest file, bytes: FFmpeg stops there (`-fs`) and the file is closed, after what its encoder
   * still holds (under a second of video) is written. Default 1 GiB.
   */
  maxBytes?: number;
  /** Outline colour. Default the viewer's cyan [0, 229, 255]. */
  color?: [number, number, number];
  /** FFmpeg binary. Default $FFMPEG_PATH or 'ffmpeg'. */
  ffmpegPath?: string;
}

export class RecordingEncoder {
  readonly #o: Required<RecordingEncoderOptions>;
  #proc: ChildProcess | undefined;
  #input: Writable | undefined;
  #size = '';
  #ended: Promise<void> | undefined;
  #failure: string | undefined;
  #firstPts: number | undefined;
  #frames = 0;
  #closing: Promise<void> | undefined;

  constructor(options: RecordingEncoderOptions) {
    const fps = options.fps ?? 25;
    if (!(fps > 0 && fps <= 240)) throw new SgusError(ErrorCode.InvalidArgument, `fps must be in (0, 240], got ${fps}`, { where: options.path });
    const maxBytes = options.maxBytes ?? 1024 ** 3;
    if (!(maxBytes >= 1024)) throw new SgusError(ErrorCode.InvalidArgument, `maxBytes must be >= 1024, got ${maxBytes}`, { where: options.path });
    this.#o = { path: options.path, fps, maxBytes, color: options.color ?? [0, 229, 255], ffmpegPath: options.ffmpegPath ?? process.env.FFMPEG_PATH ?? 'ffmpeg' };
  }

  /** Frames written to the file so far (repeats included). */
  get frames(): number {
    return this.#frames;
  }

  /** Seconds of video written so far. */
  get durationS(): number {
    return this.#frames / this.#o.fps;
  }

  /** Why the encoder stopped early (FFmpeg failed, or the size cap ended it), if it did. */
  get failure(): string | undefined {
    return this.#failure;
  }

  /** Still taking pictures: not closed, FFmpeg alive. */
  get running(): boolean {
    return this.#closing === undefined && this.#failure === undefined;
  }

  /**
   * The clip's time zero (the stream's pts when recording was asked for): the first picture, which
   * may come later (H.264 decodes from its next key frame), fills the time back to it. Only the first call counts.
   */
  origin(pts: number): void {
    this.#firstPts ??= pts;
  }

  /**
   * One picture (its own copy is drawn on) of a frame at `pts` seconds with its outline; repeated
   * to fill the time since the previous one. False once the encoder has stopped.
   */
  write(picture: FullPicture, contours: readonly Contour[], pts: number): boolean {
    if (!this.running) return false;
    const size = `${picture.width}x${picture.height}:${picture.format}`;
    if (this.#proc === undefined) this.#start(picture);
    else if (size !== this.#size) return true; // a resized source mid-clip: the clip keeps its first size
    // An encoder behind by 30 pictures skips this one; the next fills its time (memory stays bounded).
    if (this.#input!.writableLength > 30 * picture.data.length) return true;
    const pic: FullPicture = { ...picture, data: Uint8Array.from(picture.data) };
    const thickness = Math.max(2, Math.round(pic.width / 480));
    if (pic.format === 'rgb24') drawContoursInPlace(pic, contours, { thickness, color: this.#o.color });
    else drawContoursYuv420(pic, contours, thickness, this.#o.color);
    this.#firstPts ??= pts;
    // Frames due by this picture's time; at least one per picture given.
    const due = Math.max(this.#frames + 1, Math.round((pts - this.#firstPts) * this.#o.fps) + 1);
    // A jump of more than 10 s (a restarted source) is not filled with a still picture.
    const count = due - this.#frames > 10 * this.#o.fps ? 1 : due - this.#frames;
    for (let i = 0; i < count; i++) this.#input!.write(pic.data);
    this.#frames += count;
    return true;
  }

  #start(picture: FullPicture): void {
    this.#size = `${picture.width}x${picture.height}:${picture.format}`;
    const even = picture.width % 2 !== 0 || picture.height % 2 !== 0 ? ['-vf', 'crop=trunc(iw/2)*2:trunc(ih/2)*2'] : [];
    const args = [
      '-hide_banner', '-nostdin', '-loglevel', 'error', '-y',
      '-f', 'rawvideo', '-pix_fmt', picture.format, '-s', `${picture.width}x${picture.height}`, '-framerate', String(this.#o.fps), '-i', 'pipe:0',
      ...even,
      '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '20', '-pix_fmt', 'yuv420p',
      '-movflags', '+frag_keyframe+empty_moov+default_base_moof', '-frag_duration', '500000',
      '-fs', String(this.#o.maxBytes),
      '-an', '-f', 'mp4', this.#o.path,
    ];
    // Its own process group: Ctrl-C must not cut the file short; close() ends it.
    const child = spawnHelper(this.#o.ffmpegPath, args, { stdio: ['pipe', 'ignore', 'pipe'] });
    this.#proc = child;
    this.#input = child.stdin!;
    this.#input.on('error', () => undefined);
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
    this.#ended = new Promise<void>((resolve) => {
      child.once('error', (err) => {
        this.#failure ??= `cannot start ffmpeg for the recording (${err.message})`;
        resolve();
      });
      child.once('close', (code) => {
        if (this.#closing === undefined) {
          // Ended before close(): -fs reached (exit 0) or FFmpeg failed.
          const last = stderr.trim().split('\n').pop() ?? '';
          this.#failure ??= code === 0 ? 'size cap reached' : `recording ffmpeg exited with code ${String(code)}${last !== '' ? ` (${last})` : ''}`;
        }
        resolve();
      });
    });
  }

  /** Ends the input and waits for FFmpeg to close the file (killed after 30 s); safe to call twice. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      if (this.#proc === undefined || this.#ended === undefined) return;
      this.#input!.end();
      const timer = setTimeout(() => this.#proc?.kill('SIGKILL'), 30_000);
      await this.#ended;
      clearTimeout(timer);
    })();
    return this.#closing;
  }
}
