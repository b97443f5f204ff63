/**
 * The data that flows through the streaming pipeline, and the contract between the pipeline and
 * the viewer hub (src/server). Keep it small: it is the one module both sides import.
 */
import type { Contour } from '../core/contours.js';
import type { ModelWindow } from '../core/field-of-view.js';
import type { RgbImage } from '../core/image.js';
import type { ScoreFigures } from '../score/score-record.js';
import type { GlandScore } from '../score/scorer.js';

/** Compressed video for viewers, one access unit (H.264 Annex B) or one JPEG per frame. */
export interface ViewPayload {
  codec: 'h264' | 'jpeg';
  /** WebCodecs codec string for H.264, e.g. 'avc1.42001f'; undefined for JPEG. */
  codecString?: string;
  /** True for an IDR (H.264) frame; always true for JPEG. */
  key: boolean;
  /** Encoded bytes. */
  data: Buffer;
  /** Size of the encoded picture. */
  width: number;
  height: number;
}

/** A full-size picture: 'rgb24' interleaved, or 'yuv420p' planar (Y w×h, then U and V ⌈w/2⌉×⌈h/2⌉). */
export interface FullPicture {
  format: 'rgb24' | 'yuv420p';
  width: number;
  height: number;
  data: Uint8Array;
}

/** Bytes of a full picture. */
export function fullPictureBytes(format: FullPicture['format'], width: number, height: number): number {
  return format === 'rgb24' ? width * height * 3 : width * height + 2 * Math.ceil(width / 2) * Math.ceil(height / 2);
}

/** A decoded frame as it leaves a source. */
export interface Frame {
  /** Id of the stream (preset name, or 'replay' / 'live'). */
  streamId: string;
  /** 0-based index in the stream, in presentation order. */
  index: number;
  /** Presentation time in seconds from the stream start (FFmpeg's timestamps, continuous across reconnects). */
  pts: number;
  /**
   * When the frame arrived at its source, `performance.timeOrigin + performance.now()` scale, ms.
   * Live: its pts against the wall clock at stream start, so a source read late shows its lag;
   * replay: when its bytes arrived from FFmpeg (a file is read ahead of real time).
   */
  captureTs: number;
  /** Size of the source picture; contours are reported in these coordinates. */
  sourceWidth: number;
  sourceHeight: number;
  /** Pixels at the model's input size (scaled by FFmpeg, or cut from its window by the field-of-view stage). */
  pixels: RgbImage;
  /** What the model sees of the frame, in source pixels, for a model trained on model windows. */
  window?: ModelWindow;
  /** Video for viewers, when the stream has viewers / an annotated output. */
  view?: ViewPayload;
  /**
   * The picture at the source size, only when an annotated video is written (costly: decoded on
   * request). YUV 4:2:0 by default: FFmpeg's native decode format, half the bytes of RGB, and what
   * the encoder takes, so no colour conversion happens on either side.
   */
  full?: FullPicture;
  /** When every part of the frame had arrived and it left the source, same clock as `captureTs`. */
  decodedTs?: number;
  /**
   * How many times a viewer moved the replay (seek, play after a pause) before this frame was read;
   * absent: never. Frames of an older epoch still in flight are no longer what viewers asked for.
   */
  epoch?: number;
}

/** Per-stage timings of one frame, ms. */
export interface StageTimings {
  decode: number;
  queue: number;
  inference: number;
  postprocess: number;
  send: number;
}

/** A segmented frame: what sinks receive. */
export interface FrameResult {
  frame: Frame;
  /** Contours in source pixel coordinates. */
  contours: Contour[];
  /** Gland area in source pixels. */
  area: number;
  /** Size of the batch this frame was inferred in. */
  batchSize: number;
  timings: StageTimings;
  /** End of post-processing, same clock as `captureTs`. */
  doneTs: number;
  /** The gland's ultrasound score (score stage), when scored: a research aid, not a diagnosis. */
  score?: GlandScore & { validation?: ScoreFigures };
}

/** What the viewer hub needs to know about a stream when it starts. */
export interface StreamInfo {
  id: string;
  /** Human label (preset title, file name). */
  title: string;
  kind: 'replay' | 'live';
  width: number;
  height: number;
  fps: number;
  codec: 'h264' | 'jpeg';
  codecString?: string;
}

/** Figures a pipeline publishes about a stream (to the console, viewers, /metrics, metrics JSON). */
export interface StreamMetrics {
  streamId: string;
  framesIn: number;
  framesOut: number;
  dropped: number;
  /** Frames FFmpeg reported damaged (decoded with errors concealed, or undecodable). */
  corrupt: number;
  /** Frames missing from the source: gaps in its timestamps (a recording's holes, frames lost upstream). */
  missing?: number;
  /** Frames lost because the engine failed on their batch with a non-fatal error (the stream went on). */
  inferenceFailed?: number;
  fpsIn: number;
  fpsOut: number;
  /** Percentiles in ms per stage and end to end ('e2e': frame at the source (`captureTs`) → overlay sent). */
  latency: Record<keyof StageTimings | 'e2e', { p50: number; p95: number; p99: number; max: number; mean: number; count: number }>;
  batchSizes: Record<string, number>;
  model: string;
  engine: string;
  device: string;
}

/**
 * What viewers are told about a stream (web-viewer/PROTOCOL.md, `stream-state`): 'live' and
 * 'replay' while frames flow (a replay is a recording, never shown as live), 'starting' before its
 * source first opened, 'stalled' when no frame came for a while without any word from FFmpeg,
 * 'reconnecting' while a lost live source is retried, 'ended' for good.
 */
export type StreamStateKind = 'starting' | 'live' | 'replay' | 'stalled' | 'reconnecting' | 'ended';

/** Why a stream is in its state. */
export interface StreamStateDetail {
  /** One line: the reconnect or end reason ('ffmpeg exited with code 1', 'end of file'). */
  reason: string;
  /** 'ended' by an error (the source failed or could not be opened): the stream is down, not done. */
  failed?: boolean;
  /** 'reconnecting': the attempt number and the wait before it, ms. */
  attempt?: number;
  retryInMs?: number;
}

/**
 * The viewer hub as the pipeline sees it. The WebSocket hub in `src/server/` implements it; the
 * pipeline's viewer sink calls it. Calls never block: a hub drops frames for slow viewers itself.
 */
export interface ViewerHubPort {
  addStream(info: StreamInfo): void;
  /** One frame: its video payload (if any) and its overlay, keyed by frame index. */
  publishFrame(result: FrameResult): void;
  /**
   * The video of a frame the pipeline dropped before segmenting it (live mode): H.264 pictures
   * depend on the previous one, so viewers need it to decode the next frame. Optional.
   */
  publishVideo?(frame: Frame): void;
  publishMetrics(metrics: StreamMetrics): void;
  /** The stream ended (file finished, source gone). */
  endStream(streamId: string, reason: string): void;
  /**
   * The stream's state changed (source opened again, lost and reconnecting, ended, failed), for
   * viewers and /healthz. Optional: a hub without it only learns of starts and ends.
   */
  setStreamState?(streamId: string, state: StreamStateKind, detail: StreamStateDetail): void;
  /**
   * A replay's playback moved without a viewer asking (a file held paused at its end), for every
   * viewer's controls and timeline. Optional: a hub without it learns playback from controls only.
   */
  setPlayback?(streamId: string, playback: { paused: boolean; speed: number; index: number; pts: number }): void;
}
