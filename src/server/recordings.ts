/**
 * Recordings a viewer asked for (key r): the annotated clip of one stream, from the start request
 * until stop, the stream's end, a duration or a size cap, or the hub's close — each a
 * `RecordingEncoder` MP4 in one folder. Names are made here (a time stamp and random digits), so a
 * request can only ever name a recording by its id, never a path.
 *
 * Pictures: a frame's full-size picture when the pipeline made one, a JPEG view decoded here, or,
 * for H.264, the stream's access units decoded by a `JpegFallback` at the source size (the same
 * order-matched decoder the fallback pictures use, so an outline is never put on another frame).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { decodeImage } from '../core/image-io.js';
import type { FrameResult, FullPicture } from '../pipeline/frame.js';
import { JpegFallback } from './jpeg-fallback.js';
import { RecordingEncoder } from './recording-encoder.js';
import type { WireRecording } from '../shared/protocol.js';

/** Defaults of the recordings; `sgus --help` shows them. */
export const RECORDINGS_DEFAULTS = {
  /** Folder of the clips, relative to the working directory. */
  dir: 'sgus-recordings',
  /** Longest clip, s (10 minutes). */
  maxSeconds: 600,
  /** Largest clip, bytes (1 GiB). */
  maxBytes: 1024 ** 3,
} as const;

/** A recording's id: its time stamp and 8 random hex digits; the file is `<id>.mp4`. */
const ID = /^rec-\d{8}-\d{6}-[0-9a-f]{8}$/;

export interface RecordingsOptions {
  /** Folder of the clips (made when missing). Default RECORDINGS_DEFAULTS.dir. */
  dir?: string;
  /** Longest clip, s. Default RECORDINGS_DEFAULTS.maxSeconds. */
  maxSeconds?: number;
  /** Largest clip, bytes. Default RECORDINGS_DEFAULTS.maxBytes. */
  maxBytes?: number;
  /** FFmpeg binary. Default $FFMPEG_PATH or 'ffmpeg'. */
  ffmpegPath?: string;
  /** A recording failed (one line). Default none. */
  onError?: (message: string) => void;
}

/** What the viewer lists about a recording (GET /recordings): the wire type. */
export type RecordingInfo = WireRecording;

interface Recording {
  info: RecordingInfo;
  file: string;
  encoder: RecordingEncoder;
  /** H.264 streams: decodes the access units fed since the start (from the next key frame on). */
  decoder: JpegFallback<FrameResult | undefined> | undefined;
  /** Stop asked (no more pictures); `info.active` turns false once the file is closed. */
  closed: Promise<void> | undefined;
}

export class Recordings {
  readonly #o: Required<Omit<RecordingsOptions, 'onError'>> & { onError: (m: string) => void };
  readonly #all = new Map<string, Recording>();
  #closed = false;

  constructor(options: RecordingsOptions = {}) {
    this.#o = {
      dir: path.resolve(options.dir ?? RECORDINGS_DEFAULTS.dir),
      maxSeconds: options.maxSeconds ?? RECORDINGS_DEFAULTS.maxSeconds,
      maxBytes: options.maxBytes ?? RECORDINGS_DEFAULTS.maxBytes,
      ffmpegPath: options.ffmpegPath ?? process.env.FFMPEG_PATH ?? 'ffmpeg',
      onError: options.onError ?? (() => undefined),
    };
  }

  /** The folder the clips go to. */
  get dir(): string {
    return this.#o.dir;
  }

  /** Starts recording `streamId` (or returns its running recording). */
  start(streamId: string, fps: number): RecordingInfo {
    const running = this.#active(streamId);
    if (running !== undefined) return this.#infoOf(running);
    mkdirSync(this.#o.dir, { recursive: true });
    const now = new Date();
    const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
    const id = `rec-${stamp}-${randomBytes(4).toString('hex')}`;
    const file = path.join(this.#o.dir, `${id}.mp4`);
    const rec: Recording = {
      info: { id, streamId, startedAt: now.toISOString(), active: true, bytes: 0, durationS: 0, frames: 0 },
      file,
      encoder: new RecordingEncoder({ path: file, fps: fps > 0 && fps <= 240 ? fps : 25, maxBytes: this.#o.maxBytes, ffmpegPath: this.#o.ffmpegPath }),
      decoder: undefined,
      closed: undefined,
    };
    this.#all.set(id, rec);
    return this.#infoOf(rec);
  }

  /** Stops a recording and waits for its file to be closed; undefined for an unknown id. */
  async stop(id: string, reason = 'stopped'): Promise<RecordingInfo | undefined> {
    const rec = this.#all.get(id);
    if (rec === undefined) return undefined;
    await this.#finish(rec, reason);
    return this.#infoOf(rec);
  }

  /** The stream ended (or restarted): its recording is closed. */
  streamEnded(streamId: string): void {
    const rec = this.#active(streamId);
    if (rec !== undefined) void this.#finish(rec, 'stream ended');
  }

  /** Recording `streamId` now. */
  recording(streamId: string): boolean {
    return this.#active(streamId) !== undefined;
  }

  /** An H.264 access unit of the stream (`result` undefined: a picture shown without outline). */
  video(streamId: string, accessUnit: Uint8Array, key: boolean, width: number, height: number, result: FrameResult | undefined): void {
    const rec = this.#active(streamId);
    if (rec === undefined) return;
    if (result !== undefined) rec.encoder.origin(result.frame.pts);
    rec.decoder ??= new JpegFallback<FrameResult | undefined>({
      quality: 92,
      ffmpegPath: this.#o.ffmpegPath,
      onPicture: (jpeg, tag) => {
        if (tag !== undefined) this.#picture(rec, decodeRgb(jpeg), tag);
      },
      onError: (m) => this.#o.onError(`recording ${rec.info.id}: ${m}`),
    });
    rec.decoder.push(accessUnit, key, width, height, result);
  }

  /** A frame of a stream without H.264: its full picture or JPEG view. */
  frame(result: FrameResult): void {
    const rec = this.#active(result.frame.streamId);
    if (rec === undefined) return;
    const f = result.frame;
    if (f.full !== undefined) this.#picture(rec, f.full, result);
    else if (f.view?.codec === 'jpeg' && f.view.width === f.sourceWidth && f.view.height === f.sourceHeight) this.#picture(rec, decodeRgb(f.view.data), result);
  }

  /** Every recording, newest first. */
  list(): RecordingInfo[] {
    return [...this.#all.values()].map((r) => this.#infoOf(r)).reverse();
  }

  /** The file of a finished recording with this id; undefined for anything else (no path is ever taken from a request). */
  fileOf(id: string): { file: string; bytes: number } | undefined {
    if (!ID.test(id)) return undefined;
    const rec = this.#all.get(id);
    if (rec === undefined || rec.info.active) return undefined;
    const info = this.#infoOf(rec);
    return info.bytes > 0 ? { file: rec.file, bytes: info.bytes } : undefined;
  }

  /** Closes every recording (their files stay playable); safe to call twice. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#all.values()].map((r) => this.#finish(r, 'server closed')));
  }

  #active(streamId: string): Recording | undefined {
    if (this.#closed) return undefined;
    for (const r of this.#all.values()) if (r.info.streamId === streamId && r.closed === undefined) return r;
    return undefined;
  }

  #picture(rec: Recording, picture: FullPicture | undefined, result: FrameResult): void {
    if (picture === undefined || rec.closed !== undefined) return;
    rec.encoder.write(picture, result.contours, result.frame.pts);
    if (!rec.encoder.running) void this.#finish(rec, rec.encoder.failure ?? 'stopped');
    else if (rec.encoder.durationS >= this.#o.maxSeconds) void this.#finish(rec, 'duration cap');
  }

  #finish(rec: Recording, reason: string): Promise<void> {
    rec.closed ??= (async () => {
      rec.decoder?.close();
      await rec.encoder.close();
      rec.info.stopReason = rec.encoder.failure ?? reason;
      rec.info.active = false;
      if (rec.encoder.failure !== undefined && rec.encoder.failure !== 'size cap reached') this.#o.onError(`recording ${rec.info.id}: ${rec.encoder.failure}`);
    })();
    return rec.closed;
  }

  #infoOf(rec: Recording): RecordingInfo {
    let bytes = 0;
    try {
      bytes = statSync(rec.file).size;
    } catch {
      // Not written yet.
    }
    return { ...rec.info, bytes, durationS: Math.round(rec.encoder.durationS * 100) / 100, frames: rec.encoder.frames };
  }
}

function decodeRgb(jpeg: Uint8Array): FullPicture | undefined {
  try {
    const img = decodeImage(jpeg, 'recording picture');
    return { format: 'rgb24', width: img.width, height: img.height, data: img.data };
  } catch {
    // A damaged picture: the next one fills its time.
    return undefined;
  }
}
