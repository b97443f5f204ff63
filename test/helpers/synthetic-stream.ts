/**
 * A synthetic exam for the viewer hub's tests, independent of any model: synthetic ultrasound frames
 * (src/synthetic) encoded by FFmpeg to H.264 Annex B (libx264 baseline, AUD per access unit) and to
 * JPEG, each with the contours of its TRUE mask; and a publisher that feeds them to a
 * `ViewerHubPort` at the clip's frame rate, looping, as the pipeline would.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { findContours } from '../../src/core/contours.js';
import type { Contour } from '../../src/core/contours.js';
import type { GreyImage, RgbImage } from '../../src/core/image.js';
import { encodeJpegRgb } from '../../src/core/image-io.js';
import type { Frame, FrameResult, StreamInfo, ViewerHubPort } from '../../src/pipeline/frame.js';
import { AnnexBSplitter, codecStringFromSps } from '../../src/shared/h264-annexb.js';
import { syntheticFrame } from '../../src/synthetic/ultrasound-frame.js';

export const FFMPEG = process.env.FFMPEG_PATH ?? '/usr/bin/ffmpeg';

export function hasFfmpeg(): boolean {
  return existsSync(FFMPEG);
}

export interface ClipFrame {
  index: number;
  h264: Buffer;
  key: boolean;
  jpeg: Buffer;
  /** The picture itself (what the pipeline's `frame.pixels` would hold, at source size here). */
  image: RgbImage;
  mask: GreyImage;
  contours: Contour[];
  area: number;
}

export interface SyntheticClip {
  width: number;
  height: number;
  fps: number;
  codecString: string;
  frames: ClipFrame[];
}

export interface ClipOptions {
  width?: number;
  height?: number;
  fps?: number;
  frames?: number;
  /** Key frame interval. */
  gop?: number;
  seed?: number;
  /**
   * Cycle the layout seed over 3 values frame by frame, so neighbouring frames have the gland in
   * different places: an outline drawn on the wrong picture then shows (tests of frame matching).
   */
  alternate?: boolean;
}

function run(args: string[], input: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const p = spawn(FFMPEG, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    p.stdout.on('data', (b: Buffer) => out.push(b));
    p.stderr.on('data', (b: Buffer) => (err += b.toString()));
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve(Buffer.concat(out)) : reject(new Error(`ffmpeg exited ${code}: ${err.slice(-400)}`))));
    p.stdin.on('error', () => undefined);
    p.stdin.end(input);
  });
}

export async function makeSyntheticClip(options: ClipOptions = {}): Promise<SyntheticClip> {
  const width = options.width ?? 320;
  const height = options.height ?? 240;
  const fps = options.fps ?? 25;
  const n = options.frames ?? 50;
  const gop = options.gop ?? 25;
  const seed = options.seed ?? 3;
  const raw = Buffer.alloc(width * height * 3 * n);
  const frames: Omit<ClipFrame, 'h264' | 'key'>[] = [];
  for (let i = 0; i < n; i++) {
    const f = syntheticFrame({ width, height, t: i / fps, seed: options.alternate === true ? seed + (i % 3) : seed });
    raw.set(f.image.data, i * width * height * 3);
    let area = 0;
    for (const v of f.mask.data) if (v !== 0) area++;
    frames.push({ index: i, jpeg: encodeJpegRgb(f.image, 80), image: f.image, mask: f.mask, contours: findContours(f.mask), area });
  }
  const h264 = await run(
    ['-hide_banner', '-loglevel', 'error', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${width}x${height}`, '-r', String(fps), '-i', 'pipe:0',
      '-c:v', 'libx264', '-profile:v', 'baseline', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', String(gop), '-bf', '0',
      '-pix_fmt', 'yuv420p', '-bsf:v', 'h264_metadata=aud=insert', '-f', 'h264', 'pipe:1'],
    raw,
  );
  const splitter = new AnnexBSplitter();
  const units = [...splitter.push(h264), ...splitter.flush()];
  if (units.length !== n) throw new Error(`expected ${n} access units from ffmpeg, got ${units.length}`);
  return {
    width,
    height,
    fps,
    codecString: codecStringFromSps(h264) ?? 'avc1.42c01e',
    frames: frames.map((f, i) => ({ ...f, h264: Buffer.from(units[i]!.data), key: units[i]!.key })),
  };
}

export interface PublisherOptions {
  streamId?: string;
  title?: string;
  codec?: 'h264' | 'jpeg';
  /** What the stream is, for viewers: a recording ('replay') or a live source. Default 'replay'. */
  kind?: 'replay' | 'live';
  /** Frames to publish in all (looping the clip); default: forever until stop(). */
  frames?: number;
  /** Publish as fast as this rate, fps. Default the clip's fps. */
  fps?: number;
  /**
   * Act like a live pipeline that drops frames: every frame with `index % dropEvery === 1` goes to
   * the hub's `publishVideo` (picture only, when the hub has it) instead of `publishFrame`. Default never.
   */
  dropEvery?: number;
}

/** Feeds a clip to a hub in real time, looping; frame `i` carries the contours of clip frame `i % n`. */
export class TestPublisher {
  readonly streamId: string;
  readonly clip: SyntheticClip;
  published = 0;
  #timer: NodeJS.Timeout | undefined;
  readonly #hub: ViewerHubPort;
  readonly #options: PublisherOptions;

  constructor(hub: ViewerHubPort, clip: SyntheticClip, options: PublisherOptions = {}) {
    this.#hub = hub;
    this.clip = clip;
    this.#options = options;
    this.streamId = options.streamId ?? 'synthetic';
  }

  get info(): StreamInfo {
    const codec = this.#options.codec ?? 'h264';
    return {
      id: this.streamId,
      title: this.#options.title ?? `Synthetic ${codec.toUpperCase()}`,
      kind: this.#options.kind ?? 'replay',
      width: this.clip.width,
      height: this.clip.height,
      fps: this.clip.fps,
      codec,
      ...(codec === 'h264' ? { codecString: this.clip.codecString } : {}),
    };
  }

  /** The result the publisher sends for frame `index`. */
  result(index: number): FrameResult {
    const c = this.clip.frames[index % this.clip.frames.length]!;
    const codec = this.#options.codec ?? 'h264';
    const now = performance.timeOrigin + performance.now();
    return {
      frame: {
        streamId: this.streamId,
        index,
        pts: index / this.clip.fps,
        captureTs: now - 5,
        sourceWidth: this.clip.width,
        sourceHeight: this.clip.height,
        pixels: c.image,
        view: {
          codec,
          ...(codec === 'h264' ? { codecString: this.clip.codecString } : {}),
          key: codec === 'jpeg' ? true : c.key,
          data: codec === 'jpeg' ? c.jpeg : c.h264,
          width: this.clip.width,
          height: this.clip.height,
        },
      },
      contours: c.contours,
      area: c.area,
      batchSize: 1,
      timings: { decode: 1, queue: 0, inference: 3, postprocess: 1, send: 0 },
      doneTs: now,
    };
  }

  start(): this {
    this.#hub.addStream(this.info);
    const fps = this.#options.fps ?? this.clip.fps;
    const dropEvery = this.#options.dropEvery;
    this.#timer = setInterval(() => {
      const r = this.result(this.published);
      if (dropEvery !== undefined && this.published % dropEvery === 1) (this.#hub as Partial<{ publishVideo(f: Frame): void }>).publishVideo?.(r.frame);
      else this.#hub.publishFrame(r);
      this.published++;
      if (this.published % 25 === 0) this.#publishMetrics();
      if (this.#options.frames !== undefined && this.published >= this.#options.frames) this.stop('end of clip');
    }, 1000 / fps);
    return this;
  }

  #publishMetrics(): void {
    const l = { p50: 12, p95: 20, p99: 25, max: 30, mean: 13, count: this.published };
    this.#hub.publishMetrics({
      streamId: this.streamId,
      framesIn: this.published,
      framesOut: this.published,
      dropped: 0,
      corrupt: 0,
      fpsIn: this.clip.fps,
      fpsOut: this.clip.fps,
      latency: { decode: l, queue: l, inference: l, postprocess: l, send: l, e2e: l },
      batchSizes: { '1': this.published },
      model: 'synthetic-truth',
      engine: 'none (true masks)',
      device: 'cpu',
    });
  }

  stop(reason?: string): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    if (reason !== undefined) this.#hub.endStream(this.streamId, reason);
  }
}
