/**
 * GET /metrics of the viewer hub: one prom-client registry with the pipeline's families
 * (src/pipeline/prometheus.ts), the hub's own viewer counters (`sgus_viewer_hub_*`, names the
 * pipeline does not use) and the process's default metrics, rendered as one text.
 */
import { Counter, Gauge, Registry } from 'prom-client';
import type { StreamMetrics } from '../pipeline/frame.js';
import { processMetrics, registerPipelineMetrics } from '../pipeline/prometheus.js';

/** A stream's figures the hub keeps itself. */
export interface HubStreamFigures {
  id: string;
  framesPublished: number;
  videoGaps: number;
}

export interface HubMetricsOptions {
  /** Connected viewers now. Required. */
  viewers: () => number;
  /** The hub's streams now. Required. */
  streams: () => Iterable<HubStreamFigures>;
  /** The pipeline's figures, read at every scrape. Required. */
  pipeline: () => readonly StreamMetrics[];
  /**
   * Deprecated: Prometheus text that stands in for the pipeline's families (callers that rendered
   * them themselves). Default none: the families are rendered here from `pipeline`.
   */
  pipelineText?: (() => string | Promise<string>) | undefined;
}

export class HubMetrics {
  readonly #registry = new Registry();
  readonly #dropped: Counter;
  readonly #bytes: Counter;
  readonly #pipelineText: (() => string | Promise<string>) | undefined;

  constructor(options: HubMetricsOptions) {
    this.#pipelineText = options.pipelineText;
    if (this.#pipelineText === undefined) registerPipelineMetrics(this.#registry, options.pipeline);
    const registers = [this.#registry];
    new Gauge({
      name: 'sgus_viewer_hub_viewers', help: 'Connected viewers.', registers,
      collect() {
        this.set(options.viewers());
      },
    });
    this.#dropped = new Counter({ name: 'sgus_viewer_hub_frames_dropped_total', help: 'Frames not sent to slow viewers (all viewers together).', registers });
    this.#bytes = new Counter({ name: 'sgus_viewer_hub_bytes_sent_total', help: 'Bytes of frame messages queued to viewers.', registers });
    // Per stream, counted by the stream's own state (a restarted stream counts from 0 again).
    const perStream = (name: string, help: string, value: (s: HubStreamFigures) => number): void => {
      new Counter({
        name, help, labelNames: ['stream'], registers,
        collect() {
          this.reset();
          for (const s of options.streams()) this.inc({ stream: s.id }, value(s));
        },
      });
    };
    perStream('sgus_viewer_hub_video_gaps_total', 'H.264 pictures missing or out of order in what the pipeline published (viewers wait for a key frame).', (s) => s.videoGaps);
    perStream('sgus_viewer_hub_frames_published_total', 'Frames the pipeline published to the hub.', (s) => s.framesPublished);
  }

  /** A frame a viewer did not get (slow link, waiting for a key frame, the JPEG fallback's rate). */
  frameDropped(): void {
    this.#dropped.inc();
  }

  /** Bytes of a frame message queued to a viewer. */
  bytesSent(bytes: number): void {
    this.#bytes.inc(bytes);
  }

  /** The Prometheus text of GET /metrics. */
  async render(): Promise<string> {
    const own = await Registry.merge([this.#registry, processMetrics()]).metrics();
    if (this.#pipelineText === undefined) return own;
    return `${(await this.#pipelineText()).trimEnd()}\n\n${own}`;
  }
}
