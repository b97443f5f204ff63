/** Prometheus text exposition (format 0.0.4) of the pipeline's figures, for the server's /metrics. */
import type { StreamMetrics } from './frame.js';

function esc(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function num(v: number): string {
  // 9 significant digits: ms → s divisions otherwise print as 0.10590000000000001.
  return Number.isFinite(v) ? String(Number.isInteger(v) ? v : Number(v.toPrecision(9))) : v > 0 ? '+Inf' : v < 0 ? '-Inf' : 'NaN';
}

export function renderPrometheus(metrics: readonly StreamMetrics[]): string {
  const out: string[] = [];
  const family = (name: string, type: 'counter' | 'gauge' | 'summary', help: string, rows: [labels: string, value: number][]): void => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of rows) out.push(`${name}${labels === '' ? '' : `{${labels}}`} ${num(value)}`);
  };
  const l = (m: StreamMetrics, extra = ''): string => `stream="${esc(m.streamId)}"${extra}`;
  family('sgus_frames_in_total', 'counter', 'Frames decoded from the source.', metrics.map((m) => [l(m), m.framesIn]));
  family('sgus_frames_out_total', 'counter', 'Frames segmented and sent to the sinks.', metrics.map((m) => [l(m), m.framesOut]));
  family('sgus_frames_dropped_total', 'counter', 'Stale frames dropped (live mode).', metrics.map((m) => [l(m), m.dropped]));
  family('sgus_frames_corrupt_total', 'counter', 'Frames FFmpeg reported damaged (concealed or undecodable).', metrics.map((m) => [l(m), m.corrupt]));
  family('sgus_frames_missing_total', 'counter', 'Frames missing from the source (gaps in its timestamps).', metrics.map((m) => [l(m), m.missing ?? 0]));
  family('sgus_frames_inference_failed_total', 'counter', 'Frames lost because the engine failed on their batch (recoverable; the stream went on).', metrics.map((m) => [l(m), m.inferenceFailed ?? 0]));
  family('sgus_fps_in', 'gauge', 'Current input frame rate.', metrics.map((m) => [l(m), m.fpsIn]));
  family('sgus_fps_out', 'gauge', 'Current output frame rate.', metrics.map((m) => [l(m), m.fpsOut]));
  const rows: [string, number][] = [];
  const sums: [string, number][] = [];
  const counts: [string, number][] = [];
  for (const m of metrics) {
    for (const [stage, s] of Object.entries(m.latency)) {
      for (const [q, v] of [['0.5', s.p50], ['0.95', s.p95], ['0.99', s.p99], ['1', s.max]] as const) rows.push([l(m, `,stage="${esc(stage)}",quantile="${q}"`), v / 1000]);
      sums.push([l(m, `,stage="${esc(stage)}"`), (s.mean * s.count) / 1000]);
      counts.push([l(m, `,stage="${esc(stage)}"`), s.count]);
    }
  }
  out.push('# HELP sgus_latency_seconds Latency per pipeline stage and end to end (frame at the source to overlay sent).', '# TYPE sgus_latency_seconds summary');
  for (const [labels, v] of rows) out.push(`sgus_latency_seconds{${labels}} ${num(v)}`);
  for (const [labels, v] of sums) out.push(`sgus_latency_seconds_sum{${labels}} ${num(v)}`);
  for (const [labels, v] of counts) out.push(`sgus_latency_seconds_count{${labels}} ${num(v)}`);
  family(
    'sgus_batch_frames_total',
    'counter',
    'Frames inferred, by the size of the batch they were in.',
    metrics.flatMap((m) => Object.entries(m.batchSizes).map(([size, n]) => [l(m, `,batch_size="${esc(size)}"`), n] as [string, number])),
  );
  family('sgus_model_info', 'gauge', 'Model, engine and device of the stream (value 1).', metrics.map((m) => [l(m, `,model="${esc(m.model)}",engine="${esc(m.engine)}",device="${esc(m.device)}"`), 1]));
  return `${out.join('\n')}\n`;
}
