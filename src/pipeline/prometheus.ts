/**
 * The one Prometheus renderer (text format 0.0.4), on prom-client: the pipeline's figures as metric
 * families of a registry, the process's own (CPU, memory, GC, event-loop lag) from prom-client's
 * default collectors, and the viewer hub's counters (src/server/hub-metrics.ts) in the same output.
 *
 * The pipeline keeps its figures itself (`StreamMetrics`, absolute counts and precomputed latency
 * quantiles), so its families are read from a snapshot at every scrape instead of being counted
 * here: counters and gauges through prom-client's `collect` hook, the latency summary as a family
 * that reports the quantiles it is given (prom-client's Summary computes its own, from observations
 * this module never sees).
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { Metric } from 'prom-client';
import type { StreamMetrics } from './frame.js';

/** Content-Type of GET /metrics. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

type Labels = Record<string, string>;
type Rows = (metrics: readonly StreamMetrics[]) => [labels: Labels, value: number][];

function num(v: number): number {
  // 9 significant digits: ms → s divisions otherwise print as 0.10590000000000001.
  return Number.isFinite(v) && !Number.isInteger(v) ? Number(v.toPrecision(9)) : v;
}

const stream = (m: StreamMetrics): Labels => ({ stream: m.streamId });

/** Counters and gauges of the pipeline: name, help, rows. */
const COUNTERS: [string, string, Rows][] = [
  ['sgus_frames_in_total', 'Frames decoded from the source.', (ms) => ms.map((m) => [stream(m), m.framesIn])],
  ['sgus_frames_out_total', 'Frames segmented and sent to the sinks.', (ms) => ms.map((m) => [stream(m), m.framesOut])],
  ['sgus_frames_dropped_total', 'Stale frames dropped (live mode).', (ms) => ms.map((m) => [stream(m), m.dropped])],
  ['sgus_frames_corrupt_total', 'Frames FFmpeg reported damaged (concealed or undecodable).', (ms) => ms.map((m) => [stream(m), m.corrupt])],
  ['sgus_frames_missing_total', 'Frames missing from the source (gaps in its timestamps).', (ms) => ms.map((m) => [stream(m), m.missing ?? 0])],
  ['sgus_frames_inference_failed_total', 'Frames lost because the engine failed on their batch (recoverable; the stream went on).', (ms) => ms.map((m) => [stream(m), m.inferenceFailed ?? 0])],
  [
    'sgus_batch_frames_total',
    'Frames inferred, by the size of the batch they were in.',
    (ms) => ms.flatMap((m) => Object.entries(m.batchSizes).map(([size, n]) => [{ ...stream(m), batch_size: size }, n] as [Labels, number])),
  ],
];
const GAUGES: [string, string, Rows][] = [
  ['sgus_fps_in', 'Current input frame rate.', (ms) => ms.map((m) => [stream(m), m.fpsIn])],
  ['sgus_fps_out', 'Current output frame rate.', (ms) => ms.map((m) => [stream(m), m.fpsOut])],
  ['sgus_model_info', 'Model, engine and device of the stream (value 1).', (ms) => ms.map((m) => [{ ...stream(m), model: m.model, engine: m.engine, device: m.device }, 1])],
];

/** A summary family whose quantiles, sum and count come ready-made from the pipeline's snapshot. */
function latencySummary(source: () => readonly StreamMetrics[]): Metric {
  const name = 'sgus_latency_seconds';
  const help = 'Latency per pipeline stage and end to end (frame at the source to overlay sent).';
  const family = {
    name,
    help,
    type: 'summary',
    aggregator: 'sum',
    get: async () => {
      const quantiles: { labels: Labels; value: number; metricName?: string }[] = [];
      const sums: typeof quantiles = [];
      const counts: typeof quantiles = [];
      for (const m of source()) {
        for (const [stage, s] of Object.entries(m.latency)) {
          const labels = { stream: m.streamId, stage };
          for (const [q, v] of [['0.5', s.p50], ['0.95', s.p95], ['0.99', s.p99], ['1', s.max]] as const) quantiles.push({ labels: { ...labels, quantile: q }, value: num(v / 1000) });
          sums.push({ labels, value: num((s.mean * s.count) / 1000), metricName: `${name}_sum` });
          counts.push({ labels, value: s.count, metricName: `${name}_count` });
        }
      }
      return { name, help, type: 'summary', aggregator: 'sum', values: [...quantiles, ...sums, ...counts] };
    },
    reset: () => undefined,
  };
  // prom-client's registry renders any object of this shape; its Metric type lists only its own classes.
  return family as unknown as Metric;
}

/** Adds the pipeline's families to `registry`, read from `source` at every scrape. */
export function registerPipelineMetrics(registry: Registry, source: () => readonly StreamMetrics[]): void {
  const labelNames = ['stream', 'batch_size', 'model', 'engine', 'device'];
  for (const [name, help, rows] of COUNTERS) {
    new Counter({
      name, help, labelNames, registers: [registry],
      collect() {
        this.reset();
        for (const [labels, v] of rows(source())) this.inc(labels, Number.isFinite(v) && v > 0 ? num(v) : 0);
      },
    });
  }
  for (const [name, help, rows] of GAUGES) {
    new Gauge({
      name, help, labelNames, registers: [registry],
      collect() {
        this.reset();
        for (const [labels, v] of rows(source())) this.set(labels, num(v));
      },
    });
  }
  registry.registerMetric(latencySummary(source));
}

let processRegistry: Registry | undefined;

/**
 * The process's figures (CPU, memory, handles, GC, event-loop lag), prom-client's default metrics:
 * one registry per process, collected once however many hubs render it.
 */
export function processMetrics(): Registry {
  if (processRegistry === undefined) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

/** The pipeline's figures alone, as Prometheus text (reports, tests; the hub serves them with its own). */
export async function renderPrometheus(metrics: readonly StreamMetrics[]): Promise<string> {
  const registry = new Registry();
  registerPipelineMetrics(registry, () => metrics);
  return registry.metrics();
}
