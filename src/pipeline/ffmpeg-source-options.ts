/**
 * The options of an FFmpeg source: what each means, its default (the one home of the defaults the
 * pipeline and `--help` read), and their check, as one pure function the source calls first.
 */
import { ErrorCode, SgusError } from '../errors.js';
import type { ViewMode } from './ffmpeg-args.js';
import type { StdinFeed } from './dicom-source.js';
import { describeSource } from './source-spec.js';
import type { SourceSpec } from './source-spec.js';

/** The one home of these defaults: the pipeline and the command line's `--help` read them here. */
export const FFMPEG_SOURCE_DEFAULTS = {
  highWaterMark: 8,
  stallTimeoutS: 5,
  reconnectInitialMs: 500,
  reconnectMaxMs: 10_000,
} as const;

/** Options of an FFmpeg source. */
export interface FfmpegSourceOptions {
  /** Stream id put on every frame. Default 'replay' or 'live' (the mode). */
  streamId?: string;
  source: SourceSpec;
  /** 'replay': lossless, paused when behind, failure is fatal. 'live': never paused, reconnects. Default 'replay'. */
  mode?: 'replay' | 'live';
  /** Model input size FFmpeg scales to. Default 224×224. */
  modelWidth?: number;
  modelHeight?: number;
  /** Read a file at its frame rate. Default false. */
  realtime?: boolean;
  /** Loop a file forever. Default false. */
  loop?: boolean;
  /** Viewer video: 'auto' passes H.264 through when possible else libx264; 'none' saves the CPU. Default 'none'. */
  view?: ViewMode;
  /** Also decode full-size frames (for the annotated video). Default false. */
  fullFrames?: boolean;
  /** Pixel format of the full-size frames. Default 'yuv420p' (no conversion in FFmpeg or the encoder). */
  fullFormat?: 'yuv420p' | 'rgb24';
  /** Source facts known beforehand (ffprobe of a file): size, rate, codec, B-frames. Default: read from FFmpeg's log. */
  known?: { width: number; height: number; fps: number; codec: string; hasBFrames: boolean };
  /** Replay: frames out before decoding pauses. Default `FFMPEG_SOURCE_DEFAULTS.highWaterMark`. */
  highWaterMark?: number;
  /** No data for this many seconds (while not paused) is a failure. Default `FFMPEG_SOURCE_DEFAULTS.stallTimeoutS`. */
  stallTimeoutS?: number;
  /**
   * Longest wait for the first frame of a run, s: joining a network stream mid-GOP waits for the
   * next key frame, which can be 10 s away in scanner recordings. Default max(20, stallTimeoutS).
   */
  startTimeoutS?: number;
  /** Live and looping replay: first reconnect delay, ms; doubles per failed try. Default `FFMPEG_SOURCE_DEFAULTS.reconnectInitialMs`. */
  reconnectInitialMs?: number;
  /** Live and looping replay: longest reconnect delay, ms. Default `FFMPEG_SOURCE_DEFAULTS.reconnectMaxMs`. */
  reconnectMaxMs?: number;
  /** Live and looping replay: give up after this many consecutive failed tries. Default Infinity. */
  maxReconnects?: number;
  /** FFmpeg binary. Default $FFMPEG_PATH or 'ffmpeg'. */
  ffmpegPath?: string;
  /**
   * Live: a run whose frames keep arriving more than this behind the source (pts against the wall
   * clock; for a second on end) has fallen behind for good, as FFmpeg's reads back up: it
   * is reopened to join the source's present (a file given as live input is not rewound, only
   * reported), ms. Default Infinity (never).
   */
  maxLagMs?: number;
  /** What FFmpeg reads from its stdin, for a source that is not a file FFmpeg opens (a DICOM cine loop). Default none. */
  stdin?: StdinFeed;
  /**
   * A file replayed in real time that reaches its end holds its last frame, paused, instead of
   * ending: viewers can still seek, step back and play it again (a clinician reviews the exam after
   * it played); `close()` ends it. Default false (the stream ends with the file).
   */
  holdAtEnd?: boolean;
}

/** The options with every default applied, checked. */
export interface ResolvedSourceOptions {
  mode: 'replay' | 'live';
  streamId: string;
  /** '<stream id> (<source as the user named it>)', for error messages. */
  where: string;
  known: FfmpegSourceOptions['known'];
  o: Required<Omit<FfmpegSourceOptions, 'known' | 'streamId' | 'mode' | 'stdin'>> & { stdin: StdinFeed | undefined };
}

/** Applies the defaults and checks the values; an `SgusError` (InvalidArgument) naming the stream when one is wrong. */
export function resolveSourceOptions(options: FfmpegSourceOptions): ResolvedSourceOptions {
  if (options === null || typeof options !== 'object' || options.source === undefined) {
    throw new SgusError(ErrorCode.InvalidArgument, 'FfmpegSource needs a source');
  }
  const mode = options.mode ?? 'replay';
  if (mode !== 'replay' && mode !== 'live') throw new SgusError(ErrorCode.InvalidArgument, `mode must be replay or live, got '${String(options.mode)}'`);
  const streamId = options.streamId ?? mode;
  const o: ResolvedSourceOptions['o'] = {
    source: options.source,
    modelWidth: options.modelWidth ?? 224,
    modelHeight: options.modelHeight ?? 224,
    realtime: options.realtime ?? false,
    loop: options.loop ?? false,
    view: options.view ?? 'none',
    fullFrames: options.fullFrames ?? false,
    fullFormat: options.fullFormat ?? 'yuv420p',
    highWaterMark: options.highWaterMark ?? FFMPEG_SOURCE_DEFAULTS.highWaterMark,
    stallTimeoutS: options.stallTimeoutS ?? FFMPEG_SOURCE_DEFAULTS.stallTimeoutS,
    startTimeoutS: options.startTimeoutS ?? Math.max(20, options.stallTimeoutS ?? FFMPEG_SOURCE_DEFAULTS.stallTimeoutS),
    reconnectInitialMs: options.reconnectInitialMs ?? FFMPEG_SOURCE_DEFAULTS.reconnectInitialMs,
    reconnectMaxMs: options.reconnectMaxMs ?? FFMPEG_SOURCE_DEFAULTS.reconnectMaxMs,
    maxReconnects: options.maxReconnects ?? Infinity,
    ffmpegPath: options.ffmpegPath ?? process.env.FFMPEG_PATH ?? 'ffmpeg',
    maxLagMs: options.maxLagMs ?? Infinity,
    stdin: options.stdin,
    holdAtEnd: options.holdAtEnd ?? false,
  };
  const where = `${streamId} (${describeSource(options.source)})`;
  for (const [k, v, min] of [['modelWidth', o.modelWidth, 8], ['modelHeight', o.modelHeight, 8], ['highWaterMark', o.highWaterMark, 1]] as const) {
    if (!Number.isInteger(v) || v < min) throw new SgusError(ErrorCode.InvalidArgument, `${k} must be an integer >= ${min}, got ${String(v)}`, { where });
  }
  if (!(o.stallTimeoutS > 0)) throw new SgusError(ErrorCode.InvalidArgument, `stallTimeoutS must be > 0`, { where });
  if (o.fullFormat !== 'yuv420p' && o.fullFormat !== 'rgb24') throw new SgusError(ErrorCode.InvalidArgument, `fullFormat must be yuv420p or rgb24, got '${String(o.fullFormat)}'`, { where });
  if (o.source.type === 'dicom' && o.stdin === undefined) throw new SgusError(ErrorCode.InvalidArgument, 'a DICOM source needs its stdin feed', { where });
  if (!['none', 'auto', 'h264', 'jpeg'].includes(o.view)) throw new SgusError(ErrorCode.InvalidArgument, `view must be none, auto, h264 or jpeg, got '${o.view}'`, { where });
  return { mode, streamId, where, known: options.known, o };
}
