/**
 * The one place the streaming pipeline is wired:
 *
 *   FFmpeg sources (source-events.ts) ─merge─▶ batch ─▶ inference (one Segmenter) ─▶ postprocess
 *   ─▶ stale (live) ─▶ viewer hub ─▶ per-stream file sinks (NDJSON, annotated MP4) ─▶ metrics, credit back
 *
 * Flow control is a credit loop closed here (credit-flow.ts): a frame holds a credit of its source
 * until it leaves the last sink (or is dropped), and the batcher lets a batch go only when the loop
 * has room. Nothing in the pipeline grows without bound.
 *
 * A little over 400 lines: the constructor checks and builds every stream's source and the run
 * wires them; each stage, the credit loop, the metrics clock and the source events are their own files.
 */
import { filter, merge, share, tap } from 'rxjs';
import type { Observable, OperatorFunction, Subscription } from 'rxjs';
import { describeError, ErrorCode, isSgusError, SgusError } from '../errors.js';
import type { Segmenter } from '../segmenter/segmenter.js';
import { TypedEmitter } from '../typed-emitter.js';
import { annotatedVideoSink } from './annotated-video-sink.js';
import { BATCH_STAGE_DEFAULTS, batchStage } from './batch-stage.js';
import { CreditFlow } from './credit-flow.js';
import { dicomFeed } from './dicom-source.js';
import { FfmpegSource } from './ffmpeg-source.js';
import type { ViewMode } from './ffmpeg-args.js';
import type { SourceStarted } from './ffmpeg-source.js';
import type { Frame, FrameResult, StreamMetrics, ViewerHubPort } from './frame.js';
import type { Batch, Inferred } from './stage-types.js';
import { FOV_ANALYSIS_SIZE, fovStage } from './fov-stage.js';
import { inferenceStage } from './inference-stage.js';
import { LogThrottle } from './log-throttle.js';
import { startMetricsTimer } from './metrics-timer.js';
import { ndjsonSink } from './ndjson-sink.js';
import { postprocessStage } from './postprocess-stage.js';
import { scoreStage } from './score-stage.js';
import type { FrameScorer } from './score-stage.js';
import { staleStage } from './stale-stage.js';
import { postprocessDefaults } from '../segmenter/postprocess.js';
import type { PostprocessStageOptions } from './postprocess-stage.js';
import type { VideoProbe } from './probe.js';
import { sourceFrames } from './source-events.js';
import type { SourceSpec } from './source-spec.js';
import { nowTs } from './stage-types.js';
import { StreamMetricsCollector } from './stream-metrics.js';
import { viewerSink } from './viewer-sink.js';

/** One stream of a pipeline. */
export interface StreamConfig {
  /** Stream id (preset name, 'replay', 'live'). */
  id: string;
  /** Label for viewers. Default: the id. */
  title?: string;
  source: SourceSpec;
  /** Default 'replay'. */
  mode?: 'replay' | 'live';
  /** Read a file at its frame rate. Default false. */
  realtime?: boolean;
  /** Loop a file. Default false. */
  loop?: boolean;
  /** A file replayed in real time holds its last frame at its end, for review, until stopped. Default false. */
  holdAtEnd?: boolean;
  /** ffprobe facts of a file, when probed (enables H.264 pass-through and progress). */
  probe?: VideoProbe;
  /** Output files of this stream. Default: none. */
  /** `annotatedLongSide`: the annotated video's long side, px (0: the source's). Default the sink's. */
  outputs?: { ndjson?: string; annotated?: string; annotatedLongSide?: number };
  /**
   * The source's pixel size (the user's --mm-per-px, a preset's, the scanner's depth ruler), for
   * the figures the NDJSON gives per frame. Default: none (figures in pixels, labelled so).
   */
  calibration?: { mmPerPxX: number; mmPerPxY: number; source: string };
  /** Viewer video codec when a hub is attached: 'auto' (H.264 pass-through or libx264) or 'jpeg'. Default 'auto'. */
  viewCodec?: 'auto' | 'jpeg';
  /** Seconds without data before the source counts as stalled. Default `FFMPEG_SOURCE_DEFAULTS.stallTimeoutS`. */
  stallTimeoutS?: number;
  /** Live reconnect backoff, ms. Defaults `FFMPEG_SOURCE_DEFAULTS.reconnectInitialMs` and `.reconnectMaxMs`. */
  reconnectInitialMs?: number;
  reconnectMaxMs?: number;
}

export interface PipelineOptions {
  streams: StreamConfig[];
  /** The model every stream shares. */
  segmenter: Segmenter;
  /** Most frames per engine call. Default `BATCH_STAGE_DEFAULTS.maxBatchSize`. */
  maxBatchSize?: number;
  /** Longest a frame waits for a fuller batch, ms. Default `BATCH_STAGE_DEFAULTS.maxDelayMs`. */
  maxDelayMs?: number;
  /**
   * Live: a frame older than this (since it arrived at the source, by its pts) is dropped and
   * counted, never shown; a source read more than half this late for a second on end is reopened, ms.
   * Default `BATCH_STAGE_DEFAULTS.maxAgeMs`.
   */
  maxAgeMs?: number;
  /** Post-processing (threshold, working size, smoothing). */
  postprocess?: PostprocessStageOptions;
  /** The gland's ultrasound score of every segmented frame (a GlandScorer). Default none: outlines only. */
  scorer?: FrameScorer;
  /** Viewer hub; when set, viewer video is decoded and every result is published. Default none. */
  hub?: ViewerHubPort;
  /** A failing stream ends alone (serve) instead of failing the pipeline (replay CLI). Default false. */
  isolateFailures?: boolean;
  /** Period of metrics events and hub metrics, ms. Default `PIPELINE_DEFAULTS.metricsIntervalMs`. */
  metricsIntervalMs?: number;
}

/** Defaults of `PipelineOptions` that no stage owns (the others: `BATCH_STAGE_DEFAULTS`, `FFMPEG_SOURCE_DEFAULTS`). */
export const PIPELINE_DEFAULTS = {
  metricsIntervalMs: 1000,
} as const;

export interface PipelineEvents {
  /** A source opened (again, after a reconnect). */
  started: [streamId: string, info: SourceStarted];
  /** A frame left the last sink. Its pixel buffers are reused afterwards: keep contours, not pixels. */
  frame: [result: FrameResult];
  metrics: [metrics: StreamMetrics[]];
  reconnecting: [streamId: string, info: { attempt: number; delayMs: number; reason: string }];
  /** A stream ended; `error` when it failed. */
  streamEnded: [streamId: string, reason: string, error?: SgusError];
  /** FFmpeg warnings, corrupt frames, hub errors: one line each. */
  log: [line: string];
}

export interface PipelineSummary {
  metrics: StreamMetrics[];
  seconds: number;
  /** Outputs whose writer died mid-run (the annotated video's encoder): they hold fewer frames than the rest. */
  incompleteOutputs: IncompleteOutput[];
}

export interface IncompleteOutput {
  streamId: string;
  path: string;
  reason: string;
}

interface StreamState {
  config: StreamConfig;
  source: FfmpegSource;
  metrics: StreamMetricsCollector;
}

export class Pipeline extends TypedEmitter<PipelineEvents> {
  readonly #o: PipelineOptions;
  readonly #streams = new Map<string, StreamState>();
  readonly #done: Promise<PipelineSummary>;
  #subscription: Subscription | undefined;
  #stopTimer: () => void = () => undefined;
  #closed = false;
  #stopping = false;
  #abort: (() => void) | undefined;
  readonly #t0 = performance.now();
  readonly #postprocess: OperatorFunction<Inferred, FrameResult>;
  readonly #fov: OperatorFunction<Frame, Frame> | undefined;
  readonly #incomplete: IncompleteOutput[] = [];

  constructor(options: PipelineOptions) {
    super();
    if (options === undefined || !Array.isArray(options.streams) || options.streams.length === 0) throw new SgusError(ErrorCode.InvalidArgument, 'a pipeline needs at least one stream', { where: 'pipeline' });
    if (options.segmenter === undefined) throw new SgusError(ErrorCode.InvalidArgument, 'a pipeline needs a segmenter', { where: 'pipeline' });
    const ids = new Set<string>();
    for (const s of options.streams) {
      if (typeof s.id !== 'string' || s.id === '') throw new SgusError(ErrorCode.InvalidArgument, 'every stream needs an id', { where: 'pipeline' });
      if (ids.has(s.id)) throw new SgusError(ErrorCode.InvalidArgument, `stream id '${s.id}' used twice`, { where: 'pipeline' });
      ids.add(s.id);
    }
    this.#o = options;
    const maxBatchSize = options.maxBatchSize ?? BATCH_STAGE_DEFAULTS.maxBatchSize;
    const seg = options.segmenter;
    // Built (and its options checked) before any FFmpeg process starts. The segmenter's card says
    // how its model was validated (e.g. one region per frame); the caller's options override it.
    this.#postprocess = postprocessStage(postprocessDefaults(seg.card, options.postprocess ?? {}));
    this.#fov = seg.card.input.fieldOfView === true
      ? fovStage({
          modelWidth: seg.card.input.width,
          modelHeight: seg.card.input.height,
          tracker: { fit: seg.card.input.fieldOfViewFit ?? 'letterbox' },
          onChange: (id, w) => this.emit('log', `${id}: field of view changed: now ${Math.round(w.fov.width)}x${Math.round(w.fov.height)} at (${Math.round(w.fov.x)}, ${Math.round(w.fov.y)})`),
        })
      : undefined;
    for (const cfg of options.streams) {
      const mode = cfg.mode ?? 'replay';
      const view: ViewMode = options.hub !== undefined ? (cfg.viewCodec === 'jpeg' ? 'jpeg' : 'auto') : 'none';
      const src = new FfmpegSource({
        streamId: cfg.id,
        source: cfg.source,
        mode,
        // A model that sees the field of view gets frames with room to cut it from.
        modelWidth: seg.card.input.fieldOfView === true ? FOV_ANALYSIS_SIZE : seg.card.input.width,
        modelHeight: seg.card.input.fieldOfView === true ? FOV_ANALYSIS_SIZE : seg.card.input.height,
        realtime: cfg.realtime ?? false,
        loop: cfg.loop ?? false,
        holdAtEnd: cfg.holdAtEnd ?? false,
        view,
        fullFrames: cfg.outputs?.annotated !== undefined,
        ...(cfg.probe !== undefined ? { known: cfg.probe } : {}),
        highWaterMark: CreditFlow.sourceCredits(maxBatchSize),
        ...(cfg.stallTimeoutS !== undefined ? { stallTimeoutS: cfg.stallTimeoutS } : {}),
        ...(cfg.reconnectInitialMs !== undefined ? { reconnectInitialMs: cfg.reconnectInitialMs } : {}),
        ...(cfg.reconnectMaxMs !== undefined ? { reconnectMaxMs: cfg.reconnectMaxMs } : {}),
        // A DICOM cine loop: FFmpeg reads its frames from stdin (dicom-source.ts).
        ...(cfg.source.type === 'dicom' ? { stdin: dicomFeed(cfg.source) } : {}),
        // Latest frame wins all the way to the source: FFmpeg's reads must not back up. A frame
        // that leaves FFmpeg half its age allowance late rarely makes it through inference.
        ...(mode === 'live' ? { maxLagMs: (options.maxAgeMs ?? BATCH_STAGE_DEFAULTS.maxAgeMs) / 2 } : {}),
      });
      const metrics = new StreamMetricsCollector({ streamId: cfg.id, model: seg.card.name, engine: seg.engineInfo.engine, device: seg.engineInfo.device });
      this.#streams.set(cfg.id, { config: cfg, source: src, metrics });
    }
    this.#done = this.#run(maxBatchSize);
  }

  /** Resolves when every stream has ended and every output is finalised; rejects on a fatal error (outputs finalised first). */
  get done(): Promise<PipelineSummary> {
    return this.#done;
  }

  metrics(): StreamMetrics[] {
    return [...this.#streams.values()].map((s) => {
      s.metrics.corrupt = s.source.corrupt;
      s.metrics.missing = s.source.missing;
      return s.metrics.snapshot();
    });
  }

  /** Outputs whose writer died so far (also in the summary). */
  get incompleteOutputs(): IncompleteOutput[] {
    return [...this.#incomplete];
  }

  /** Seconds since the pipeline started. */
  get elapsedS(): number {
    return (performance.now() - this.#t0) / 1000;
  }

  /** One console line per stream. */
  lines(): string[] {
    return [...this.#streams.values()].map((s) => {
      s.metrics.corrupt = s.source.corrupt;
      s.metrics.missing = s.source.missing;
      return s.metrics.line();
    });
  }

  source(streamId: string): FfmpegSource | undefined {
    return this.#streams.get(streamId)?.source;
  }

  /** Stops reading, lets frames in flight through, finalises every output. Safe to call twice. */
  async stop(): Promise<PipelineSummary> {
    if (!this.#stopping) {
      this.#stopping = true;
      for (const s of this.#streams.values()) s.source.close();
    }
    return this.#done;
  }

  /**
   * Stops at once: `done` resolves with the figures so far; file sinks finalise in the background
   * (use `stop()` to wait for them). Safe to call twice.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopTimer();
    for (const s of this.#streams.values()) s.source.close();
    this.#subscription?.unsubscribe();
    this.#abort?.();
  }

  #run(maxBatchSize: number): Promise<PipelineSummary> {
    const o = this.#o;
    const hub = o.hub;
    const maxAgeMs = o.maxAgeMs ?? BATCH_STAGE_DEFAULTS.maxAgeMs;
    const streamOf = (id: string): StreamState => this.#streams.get(id)!;
    const flow = new CreditFlow({
      maxBatchSize,
      boundBySources: [...this.#streams.values()].every((st) => st.source.mode === 'replay'),
      portOf: (id) => streamOf(id).source,
    });
    const sentAt = new WeakMap<FrameResult, number>();
    const sources = [...this.#streams.values()].map((st) => this.#frames(st));
    const sinks = this.#fileSinks();
    /** A frame that leaves the credit loop unsegmented ('dropped', 'failed'); settled already when it was in flight. */
    const letGo = (frame: Frame, how: string): void => {
      // Viewers still need the picture: the next H.264 frame is coded against it.
      if (hub?.publishVideo !== undefined && frame.view !== undefined) {
        try {
          hub.publishVideo(frame);
        } catch (err) {
          this.emit('log', `${frame.streamId}: viewer hub refused a ${how} frame's picture: ${describeError(err)}`);
        }
      }
      flow.release(frame);
    };
    const dropFrame = (frame: Frame): void => {
      streamOf(frame.streamId).metrics.dropped++;
      letGo(frame, 'dropped');
    };
    // A recoverable engine failure costs its batch only: the frames leave the credit loop as if
    // dropped (viewers still get their pictures), counted per stream, one (bounded) log line.
    const failedLog = new LogThrottle();
    const scoreLog = new LogThrottle();
    const batchFailed = (batch: Batch, error: SgusError): void => {
      const streams = new Set<string>();
      for (const frame of batch.frames) {
        streams.add(frame.streamId);
        streamOf(frame.streamId).metrics.inferenceFailed++;
        flow.settle(frame);
        letGo(frame, 'failed');
      }
      const n = batch.frames.length;
      for (const l of failedLog.push(`${[...streams].join(', ')}: ${error.message}; batch of ${n} frame${n === 1 ? '' : 's'} dropped, the stream goes on`)) this.emit('log', l);
    };

    const postprocessed$ = merge(...sources).pipe(
      batchStage({
        maxBatchSize,
        maxDelayMs: o.maxDelayMs ?? BATCH_STAGE_DEFAULTS.maxDelayMs,
        mode: (id) => streamOf(id).source.mode,
        maxAgeMs,
        capacity: flow.capacity,
        poke$: flow.poke$,
        onDrop: dropFrame,
      }),
      flow.admit(),
      inferenceStage({ model: o.segmenter, onBatchFailed: batchFailed, onBusy: flow.engineBusy, onIdle: flow.engineIdle }),
      this.#postprocess,
      (src$: Observable<FrameResult>) => (o.scorer !== undefined ? src$.pipe(scoreStage({ scorer: o.scorer, onError: (e, r) => scoreLog.push(`${r.frame.streamId}: frame ${r.frame.index} not scored: ${describeError(e)}`).forEach((l) => this.emit('log', l)) })) : src$),
      // Live: aged past the limit in inference: dropped and counted, never shown.
      staleStage({
        maxAgeMs,
        isLive: (id) => streamOf(id).source.mode === 'live',
        onDrop: (r) => {
          flow.settle(r.frame);
          dropFrame(r.frame);
          flow.poke();
        },
      }),
      // Viewers first: the overlay goes out as soon as it exists, never behind a file encoder.
      (src$: Observable<FrameResult>) =>
        hub !== undefined
          ? src$.pipe(
              viewerSink({ hub, onError: (e) => this.emit('log', e.message) }),
              tap((r) => sentAt.set(r, nowTs())),
            )
          : src$,
      share(),
    );
    // Every stream's sinks subscribe up front (not on its first frame), so each one is finalised
    // even when its stream ends before any frame.
    const results$ = merge(
      ...[...this.#streams.keys()].map((id) =>
        (sinks.get(id) ?? []).reduce<Observable<FrameResult>>((acc, op) => acc.pipe(op), postprocessed$.pipe(filter((r) => r.frame.streamId === id))),
      ),
    );

    return new Promise<PipelineSummary>((resolve, reject) => {
      this.#stopTimer = startMetricsTimer({ periodMs: o.metricsIntervalMs ?? PIPELINE_DEFAULTS.metricsIntervalMs, snapshot: () => this.metrics(), onMetrics: (m) => this.emit('metrics', m), hub });
      const finish = (): PipelineSummary => {
        this.#stopTimer();
        this.#closed = true;
        for (const s of this.#streams.values()) s.source.close();
        return { metrics: this.metrics(), seconds: (performance.now() - this.#t0) / 1000, incompleteOutputs: this.incompleteOutputs };
      };
      this.#abort = () => resolve(finish());
      this.#subscription = results$.subscribe({
        next: (r) => {
          // End to end = bytes arrived → overlay sent: the viewer publish when there are viewers,
          // else the last file write.
          const sent = sentAt.get(r) ?? nowTs();
          r.timings.send = Math.max(0, sent - r.doneTs);
          streamOf(r.frame.streamId).metrics.frameOut(r, sent);
          // Sinks are done with the pixels: back to the source's pool, and off the result (listeners
          // of 'frame' and the hub get contours and view, never pixels).
          flow.done(r.frame);
          this.emit('frame', r);
        },
        error: (err: unknown) => {
          finish();
          reject(isSgusError(err) ? err : new SgusError(ErrorCode.SourceFailure, describeError(err), { where: 'pipeline', cause: err }));
        },
        complete: () => resolve(finish()),
      });
    });
  }

  /** A stream's frames, its source's events turned into pipeline events, log lines and hub states. */
  #frames(st: StreamState): Observable<Frame> {
    const { config } = st;
    return sourceFrames({
      id: config.id,
      title: config.title ?? config.id,
      spec: config.source,
      source: st.source,
      metrics: st.metrics,
      hub: this.#o.hub,
      frames: this.#fov,
      isolateFailures: this.#o.isolateFailures ?? false,
      stopping: () => this.#stopping,
      onStarted: (info) => this.emit('started', config.id, info),
      onReconnecting: (info) => this.emit('reconnecting', config.id, info),
      onEnded: (reason, error) => this.emit('streamEnded', config.id, reason, error),
      log: (line) => this.emit('log', line),
    });
  }

  /** Each stream's file sinks, built before any frame flows, so an encoder whose picture size is known starts right away. */
  #fileSinks(): Map<string, OperatorFunction<FrameResult, FrameResult>[]> {
    const sinks = new Map<string, OperatorFunction<FrameResult, FrameResult>[]>();
    for (const st of this.#streams.values()) {
      const out = st.config.outputs ?? {};
      const ops: OperatorFunction<FrameResult, FrameResult>[] = [];
      if (out.ndjson !== undefined) ops.push(ndjsonSink({ path: out.ndjson, ...(st.config.calibration !== undefined ? { calibration: st.config.calibration } : {}) }));
      if (out.annotated !== undefined) {
        const probe = st.config.probe;
        ops.push(
          annotatedVideoSink({
            path: out.annotated,
            ...(out.annotatedLongSide !== undefined ? { longSide: out.annotatedLongSide } : {}),
            ...(probe !== undefined ? { fps: probe.fps, picture: { width: probe.width, height: probe.height, format: 'yuv420p' as const } } : {}),
            // The video alone stops: segmentation, NDJSON and viewers go on, the file is reported.
            onEncoderFailure: (e) => {
              this.#incomplete.push({ streamId: st.config.id, path: out.annotated!, reason: e.message });
              this.emit('log', `${st.config.id}: ${e.message}; annotated video stopped, the rest goes on`);
            },
          }),
        );
      }
      sinks.set(st.config.id, ops);
    }
    return sinks;
  }
}
