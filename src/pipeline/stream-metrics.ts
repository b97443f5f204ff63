/** Collects one stream's figures (meters, counters) and renders them as `StreamMetrics`. */
import type { FrameResult, StageTimings, StreamMetrics } from './frame.js';
import { FpsMeter } from './fps-meter.js';
import { LatencyMeter } from './latency-meter.js';

const STAGES = ['decode', 'queue', 'inference', 'postprocess', 'send', 'e2e'] as const;
type StageKey = (typeof STAGES)[number];

export interface StreamMetricsOptions {
  streamId: string;
  model: string;
  engine: string;
  device: string;
}

export class StreamMetricsCollector {
  readonly streamId: string;
  readonly fpsIn = new FpsMeter();
  readonly fpsOut = new FpsMeter();
  readonly latency: Record<StageKey, LatencyMeter>;
  readonly #o: StreamMetricsOptions;
  readonly #batchSizes = new Map<number, number>();
  dropped = 0;
  corrupt = 0;
  missing = 0;
  /** Frames of batches the engine failed on (non-fatal): dropped, not segmented. */
  inferenceFailed = 0;

  constructor(options: StreamMetricsOptions) {
    this.#o = options;
    this.streamId = options.streamId;
    this.latency = Object.fromEntries(STAGES.map((s) => [s, new LatencyMeter()])) as Record<StageKey, LatencyMeter>;
  }

  frameIn(): void {
    this.fpsIn.add();
  }

  /** A frame whose sinks are done: every stage's time and the end-to-end time. */
  frameOut(r: FrameResult, sentTs: number): void {
    this.fpsOut.add();
    const t: StageTimings = r.timings;
    for (const s of ['decode', 'queue', 'inference', 'postprocess', 'send'] as const) this.latency[s].record(t[s]);
    this.latency.e2e.record(sentTs - r.frame.captureTs);
    this.#batchSizes.set(r.batchSize, (this.#batchSizes.get(r.batchSize) ?? 0) + 1);
  }

  snapshot(): StreamMetrics {
    const latency = Object.fromEntries(STAGES.map((s) => [s, this.latency[s].summary()])) as StreamMetrics['latency'];
    const batchSizes: Record<string, number> = {};
    for (const [k, v] of [...this.#batchSizes].sort((a, b) => a[0] - b[0])) batchSizes[String(k)] = v;
    return {
      streamId: this.streamId,
      framesIn: this.fpsIn.total,
      framesOut: this.fpsOut.total,
      dropped: this.dropped,
      corrupt: this.corrupt,
      missing: this.missing,
      inferenceFailed: this.inferenceFailed,
      fpsIn: this.fpsIn.fps,
      fpsOut: this.fpsOut.fps,
      latency,
      batchSizes,
      model: this.#o.model,
      engine: this.#o.engine,
      device: this.#o.device,
    };
  }

  /** One console line: fps and recent latency. */
  line(): string {
    const e = this.latency.e2e;
    return `${this.streamId}: in ${this.fpsIn.fps.toFixed(1)} fps, out ${this.fpsOut.fps.toFixed(1)} fps, latency p50 ${e.recent(0.5).toFixed(0)} ms p95 ${e.recent(0.95).toFixed(0)} ms, inference ${this.latency.inference.recent(0.5).toFixed(1)} ms, post ${this.latency.postprocess.recent(0.5).toFixed(1)} ms, dropped ${this.dropped}, corrupt ${this.corrupt}, missing ${this.missing}${this.inferenceFailed > 0 ? `, inference failed ${this.inferenceFailed}` : ''}, frames ${this.fpsOut.total}`;
  }
}
