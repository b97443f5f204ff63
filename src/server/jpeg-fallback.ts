/**
 * Sharp JPEG pictures for viewers without an H.264 decoder: the hub's own FFmpeg decodes the
 * stream's H.264 access units (the very pictures the other viewers get) and encodes each as a JPEG
 * at the source size, or scaled to a configured long side, at a quality that keeps the scanner's
 * text readable. The pipeline's model-size pixels (224², scaled up) made that text unreadable.
 *
 * Pictures are matched to frames by order: the stream is fed from a key frame on, in index order,
 * with no B-frames (the hub's H.264 is low-latency), and FFmpeg runs one decoder thread with frame
 * timestamps passed through, so it gives exactly one picture per access unit, in order. Anything
 * that could break that (a missing picture, a restart, FFmpeg dying) resets the transcoder, which
 * starts again at the next key frame: an outline is never put on another frame's picture.
 */
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { encodeJpegRgb } from '../core/image-io.js';
import type { RgbImage } from '../core/image.js';
import { describeError } from '../errors.js';
import { spawnHelper } from '../helper-process.js';
import { AdaptiveRate } from './adaptive-rate.js';
import type { OutgoingHeader, ViewerSession } from './viewer-session.js';

/** Defaults of the fallback pictures; the hub's options document them, `sgus --help` shows them. */
export const JPEG_FALLBACK_DEFAULTS = {
  /** Long side of the pictures, px; 0 = the source's size. */
  longSide: 0,
  /** 1–100; 85 keeps the scanner's small text legible (75 smears it). */
  quality: 85,
} as const;

export interface JpegFallbackOptions<T> {
  /** Long side, px (0: source size). Default JPEG_FALLBACK_DEFAULTS.longSide. */
  longSide?: number;
  /** 1–100. Default JPEG_FALLBACK_DEFAULTS.quality. */
  quality?: number;
  /** FFmpeg binary. Default $FFMPEG_PATH or 'ffmpeg'. */
  ffmpegPath?: string;
  /** One picture, with the tag its access unit was pushed with. */
  onPicture: (jpeg: Buffer, tag: T) => void;
  /** FFmpeg failed (one line); the transcoder waits for the next key frame. */
  onError?: (message: string) => void;
}

/** FFmpeg's mjpeg -q:v (2 best … 31 worst) for a 1–100 quality. */
export function mjpegQScale(quality: number): number {
  return Math.max(2, Math.min(31, Math.round(2 + ((100 - quality) * 29) / 99)));
}

/** Output size for a source and a long side (0: unchanged); even, as yuvj420p wants. */
export function fallbackSize(width: number, height: number, longSide: number): { width: number; height: number } {
  if (longSide <= 0 || Math.max(width, height) <= longSide) return { width, height };
  const k = longSide / Math.max(width, height);
  const even = (v: number): number => Math.max(2, 2 * Math.round((v * k) / 2));
  return { width: even(width), height: even(height) };
}

/** Splits an MJPEG byte stream at end-of-image markers (FF D9 never occurs inside FFmpeg's entropy data: FF is stuffed). */
class JpegStreamSplitter {
  #pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Buffer[] {
    this.#pending = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    const out: Buffer[] = [];
    let from = 0;
    for (;;) {
      const end = this.#pending.indexOf(EOI, from);
      if (end < 0) break;
      out.push(this.#pending.subarray(from, end + 2));
      from = end + 2;
    }
    this.#pending = this.#pending.subarray(from);
    return out;
  }
}
const EOI = Buffer.from([0xff, 0xd9]);

export class JpegFallback<T> {
  readonly #o: Required<Omit<JpegFallbackOptions<T>, 'onError'>> & Pick<JpegFallbackOptions<T>, 'onError'>;
  #proc: ChildProcessWithoutNullStreams | undefined;
  /** Tags of the access units fed, waiting for their pictures, oldest first. */
  #waiting: T[] = [];
  #size = '';
  #closed = false;

  constructor(options: JpegFallbackOptions<T>) {
    this.#o = {
      longSide: options.longSide ?? JPEG_FALLBACK_DEFAULTS.longSide,
      quality: options.quality ?? JPEG_FALLBACK_DEFAULTS.quality,
      ffmpegPath: options.ffmpegPath ?? process.env.FFMPEG_PATH ?? 'ffmpeg',
      onPicture: options.onPicture,
      onError: options.onError,
    };
  }

  /** Running: fed from a key frame on. */
  get running(): boolean {
    return this.#proc !== undefined;
  }

  /**
   * Feeds one access unit (Annex B, SPS/PPS in front of key frames) of a `width`×`height` stream.
   * Before the first key frame (or after a reset) deltas are ignored: false.
   */
  push(accessUnit: Uint8Array, key: boolean, width: number, height: number, tag: T): boolean {
    if (this.#closed) return false;
    const size = `${width}x${height}`;
    if (this.#proc !== undefined && key && size !== this.#size) this.reset();
    if (this.#proc === undefined) {
      if (!key) return false;
      this.#start(width, height);
      this.#size = size;
    }
    this.#waiting.push(tag);
    this.#proc!.stdin.write(accessUnit);
    return true;
  }

  #start(width: number, height: number): void {
    const out = fallbackSize(width, height, this.#o.longSide);
    const scale = out.width !== width || out.height !== height ? ['-vf', `scale=${out.width}:${out.height}:flags=lanczos`] : [];
    // No '-fflags nobuffer': it throws away the packets read while probing (the first pictures).
    const args = [
      '-hide_banner', '-loglevel', 'error', '-nostdin',
      '-threads', '1', '-flags', 'low_delay', '-probesize', '32', '-analyzeduration', '1', '-fpsprobesize', '0',
      '-f', 'h264', '-i', 'pipe:0',
      '-an', '-fps_mode', 'passthrough', ...scale,
      '-c:v', 'mjpeg', '-q:v', String(mjpegQScale(this.#o.quality)), '-pix_fmt', 'yuvj420p', '-f', 'mjpeg', 'pipe:1',
    ];
    // Its own process group: a Ctrl-C stop must not print its 'Broken pipe' (helper-process.ts).
    const proc = spawnHelper(this.#o.ffmpegPath, args, { stdio: ['pipe', 'pipe', 'pipe'] }) as ChildProcessWithoutNullStreams;
    this.#proc = proc;
    const splitter = new JpegStreamSplitter();
    let stderr = '';
    proc.stderr.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-400)));
    proc.stdout.on('data', (chunk: Buffer) => {
      if (this.#proc !== proc) return;
      for (const jpeg of splitter.push(chunk)) {
        const tag = this.#waiting.shift();
        // More pictures than units fed cannot be matched: start over rather than guess.
        if (tag === undefined) {
          this.reset();
          return;
        }
        this.#o.onPicture(jpeg, tag);
      }
    });
    proc.stdin.on('error', () => undefined);
    proc.on('error', (err) => this.#failed(proc, `cannot run ffmpeg for the JPEG fallback: ${err.message}`));
    proc.on('close', (code) => {
      if (this.#proc === proc) this.#failed(proc, `JPEG fallback ffmpeg exited with code ${String(code)}: ${stderr.trim().split('\n').pop() ?? ''}`);
    });
  }

  #failed(proc: ChildProcessWithoutNullStreams, message: string): void {
    if (this.#proc !== proc) return;
    this.reset();
    this.#o.onError?.(message);
  }

  /** Forgets what is in flight; the next picture comes from the next key frame. */
  reset(): void {
    const p = this.#proc;
    this.#proc = undefined;
    this.#waiting = [];
    this.#size = '';
    if (p !== undefined) {
      p.stdin.destroy();
      p.kill('SIGKILL');
    }
  }

  /** Stops FFmpeg; safe to call twice. */
  close(): void {
    this.#closed = true;
    this.reset();
  }
}

export interface FallbackPicturesOptions {
  /**
   * Most pictures a second; 0 disables them. Default 10. Each viewer's own rate adapts below it to
   * what its connection carries (adaptive-rate.ts), never below 2 a second.
   */
  fps?: number;
  /** JPEG quality 1–100. Default JPEG_FALLBACK_DEFAULTS.quality. */
  quality?: number;
  /** Long side of the transcoded pictures, px (0: source size). Default JPEG_FALLBACK_DEFAULTS.longSide. */
  longSide?: number;
  /** The stream's viewers that need fallback pictures now (open, no H.264 decoder). Required. */
  viewers: () => ViewerSession[];
  /** Making a picture failed (one line). Default none. */
  onError?: (message: string) => void;
}

/** What a transcoded picture is sent with: its frame's header; `overlay` false for pictures shown only for decoding. */
interface FallbackTag {
  header: OutgoingHeader;
  overlay: boolean;
}

/**
 * The JPEG pictures of one stream for its viewers without the stream's codec, at most `fps` a
 * second: transcoded from the stream's H.264 (`fromVideo`), or encoded from the frame's pixels
 * (`fromPixels`) for a stream without video. A picture skipped by the rate limit, or by a full
 * queue, is a frame dropped for that viewer.
 */
export class FallbackPictures {
  readonly #o: Required<FallbackPicturesOptions>;
  #transcoder: JpegFallback<FallbackTag> | undefined;
  /** When the last picture went out (performance.now()). */
  #lastMs = -Infinity;
  /** Each viewer's picture rate, adapted to its socket's backlog. */
  readonly #rates = new WeakMap<ViewerSession, AdaptiveRate>();
  #closed = false;

  constructor(options: FallbackPicturesOptions) {
    this.#o = {
      fps: options.fps ?? 10,
      quality: options.quality ?? JPEG_FALLBACK_DEFAULTS.quality,
      longSide: options.longSide ?? JPEG_FALLBACK_DEFAULTS.longSide,
      viewers: options.viewers,
      onError: options.onError ?? (() => undefined),
    };
  }

  /** FFmpeg is decoding the stream's H.264 for fallback pictures now. */
  get transcoding(): boolean {
    return this.#transcoder?.running === true;
  }

  /** Feeds one H.264 access unit (with its parameter sets) to the transcoder; its picture goes out when decoded. */
  fromVideo(video: Uint8Array, key: boolean, header: OutgoingHeader, overlay: boolean): void {
    if (this.#o.fps <= 0 || this.#closed) return;
    this.#transcoder ??= new JpegFallback<FallbackTag>({
      longSide: this.#o.longSide,
      quality: this.#o.quality,
      onPicture: (jpeg, tag) => this.#sendTranscoded(jpeg, tag),
      onError: (message) => this.#o.onError(message),
    });
    this.#transcoder.push(video, key, header.width, header.height, { header, overlay });
  }

  /** Encodes the frame's own pixels as the picture of `viewers` (a stream without H.264). */
  fromPixels(picture: RgbImage | undefined, header: OutgoingHeader, viewers: readonly ViewerSession[]): void {
    const usable = picture !== undefined && picture.width > 1 && picture.height > 1 && picture.data.length === picture.width * picture.height * 3;
    if (this.#o.fps <= 0 || !usable || this.#throttled(performance.now())) {
      for (const v of viewers) v.drop();
      return;
    }
    const ready = viewers.filter((v) => {
      if (v.congested) v.drop();
      return !v.congested;
    });
    if (ready.length === 0) return;
    const now = performance.now();
    this.#lastMs = now;
    let jpeg: Uint8Array;
    try {
      jpeg = encodeJpegRgb(picture, this.#o.quality);
    } catch (err) {
      this.#o.onError(`fallback JPEG failed: ${describeError(err)}`);
      return;
    }
    const base = jpegHeader(header, picture.width, picture.height);
    for (const v of ready) this.#offer(v, base, jpeg, now);
  }

  /** A viewer's picture rate now (pictures a second), adapted to its connection. */
  rateOf(viewer: ViewerSession): number {
    return this.#rates.get(viewer)?.fps ?? this.#o.fps;
  }

  /** Sends the picture if this viewer's adapted rate lets it go now; else it is a frame dropped for it. */
  #offer(v: ViewerSession, header: OutgoingHeader, jpeg: Uint8Array, now: number): void {
    let rate = this.#rates.get(v);
    if (rate === undefined) {
      rate = new AdaptiveRate({ maxFps: this.#o.fps });
      this.#rates.set(v, rate);
    }
    if (rate.admit(now, v.queuedBytes ?? 0, jpeg.byteLength)) v.offerPicture(header, jpeg);
    else v.drop();
  }

  /** The decoder lost a picture, or nobody needs the pictures: stop; it starts again at a key frame. */
  reset(): void {
    this.#transcoder?.reset();
  }

  /** Stops FFmpeg; safe to call twice. Pictures still being decoded are not sent. */
  close(): void {
    this.#closed = true;
    this.#transcoder?.close();
  }

  #throttled(now: number): boolean {
    return now - this.#lastMs < 1000 / this.#o.fps - 1;
  }

  #sendTranscoded(jpeg: Buffer, tag: FallbackTag): void {
    if (!tag.overlay || this.#closed) return;
    const viewers = this.#o.viewers();
    if (viewers.length === 0) return;
    const now = performance.now();
    if (this.#throttled(now)) {
      for (const v of viewers) v.drop();
      return;
    }
    this.#lastMs = now;
    const size = fallbackSize(tag.header.width, tag.header.height, this.#o.longSide);
    const base = jpegHeader(tag.header, size.width, size.height);
    for (const v of viewers) this.#offer(v, base, jpeg, now);
  }
}

/** A frame's header for its JPEG picture: stand-alone (key), no H.264 codec string. */
function jpegHeader(header: OutgoingHeader, width: number, height: number): OutgoingHeader {
  const base: OutgoingHeader = { ...header, codec: 'jpeg', width, height, key: true };
  delete base.codecString;
  return base;
}
