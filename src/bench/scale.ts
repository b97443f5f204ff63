/**
 * The benchmark's scale section: how cost grows with live streams (1, 2, 4, 8, one viewer each)
 * and with viewers of one stream (1 … 200), each cell a short `runLiveCell`; and the plot of it, a
 * hand-written SVG (two small line charts, no dependency) written next to the report.
 */
import { runLiveCell } from './pipeline-runs.js';
import type { BenchVideo, LiveCell } from './pipeline-runs.js';
import type { Segmenter } from '../segmenter/segmenter.js';

export const SCALE_STREAMS: readonly number[] = [1, 2, 4, 8];
export const SCALE_VIEWERS: readonly number[] = [1, 10, 50, 100, 200];

export interface ScaleRow {
  streams: number;
  viewers: number;
  /** Frames segmented per stream per second. */
  fpsPerStream: number;
  /** Frame messages each viewer received per second. */
  fpsPerViewer: number;
  /** Viewer latency p99, ms (bytes from FFmpeg → frame message received). */
  p99: number;
  cpuPercent: number;
  dropped: number;
}

export interface ScaleResult {
  model: string;
  video: string;
  cellSeconds: number;
  streams: ScaleRow[];
  viewers: ScaleRow[];
}

function row(c: LiveCell): ScaleRow {
  return {
    streams: c.streams,
    viewers: c.viewers,
    fpsPerStream: c.fpsOutPerStream,
    fpsPerViewer: c.viewers > 0 && c.seconds > 0 ? Math.round((c.viewerFramesReceived / c.viewers / c.seconds) * 100) / 100 : 0,
    p99: c.viewer.p99,
    cpuPercent: c.cpuPercent,
    dropped: c.dropped,
  };
}

export async function runScale(
  seg: Segmenter,
  feed: BenchVideo,
  o: { cellSeconds: number; warmupSeconds: number; maxBatchSize: number; streams?: readonly number[]; viewers?: readonly number[]; onProgress?: (line: string) => void },
): Promise<Omit<ScaleResult, 'model' | 'video'>> {
  const streams: ScaleRow[] = [];
  const viewers: ScaleRow[] = [];
  const cell = (s: number, v: number): Promise<LiveCell> => runLiveCell(seg, feed, { streams: s, viewers: v, batching: true, maxBatchSize: o.maxBatchSize, seconds: o.cellSeconds, warmupSeconds: o.warmupSeconds });
  for (const s of o.streams ?? SCALE_STREAMS) {
    const r = row(await cell(s, s));
    streams.push(r);
    o.onProgress?.(`scale: ${s} streams: ${r.fpsPerStream} fps each, viewer p99 ${r.p99} ms, CPU ${r.cpuPercent} %`);
  }
  for (const v of o.viewers ?? SCALE_VIEWERS) {
    const r = row(await cell(1, v));
    viewers.push(r);
    o.onProgress?.(`scale: 1 stream, ${v} viewers: ${r.fpsPerViewer} fps at each viewer, p99 ${r.p99} ms, CPU ${r.cpuPercent} %`);
  }
  return { cellSeconds: o.cellSeconds, streams, viewers };
}

interface Series {
  label: string;
  color: string;
  values: number[];
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** A nice upper bound for an axis (1, 2, 5 × 10^k). */
function niceMax(v: number): number {
  if (!(v > 0) || !Number.isFinite(v)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}

/** One chart: x categories spaced evenly (1, 2, 4, 8 reads better so than on a linear axis), a left and a right axis. */
function chart(x0: number, title: string, xLabel: string, xs: readonly number[], left: Series, right: Series): string {
  const W = 380;
  const H = 260;
  const m = { l: 48, r: 48, t: 28, b: 44 };
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b;
  const px = (i: number): number => m.l + (xs.length > 1 ? (i * pw) / (xs.length - 1) : pw / 2);
  const out: string[] = [`<g transform="translate(${x0},0)">`];
  out.push(`<text x="${W / 2}" y="16" text-anchor="middle" font-size="13" font-weight="bold">${esc(title)}</text>`);
  out.push(`<rect x="${m.l}" y="${m.t}" width="${pw}" height="${ph}" fill="none" stroke="#999"/>`);
  for (const [s, side] of [[left, 'l'], [right, 'r']] as const) {
    const finite = s.values.filter((v) => Number.isFinite(v));
    const max = niceMax(Math.max(0, ...finite));
    const py = (v: number): number => m.t + ph - (Math.max(0, v) / max) * ph;
    for (let k = 0; k <= 4; k++) {
      const v = (max * k) / 4;
      const y = py(v);
      const tx = side === 'l' ? m.l - 4 : m.l + pw + 4;
      out.push(`<text x="${tx}" y="${(y + 4).toFixed(1)}" text-anchor="${side === 'l' ? 'end' : 'start'}" font-size="10" fill="${s.color}">${Number(v.toPrecision(3))}</text>`);
      if (side === 'l' && k > 0 && k < 4) out.push(`<line x1="${m.l}" x2="${m.l + pw}" y1="${y.toFixed(1)}" y2="${y.toFixed(1)}" stroke="#eee"/>`);
    }
    const pts = s.values.map((v, i) => (Number.isFinite(v) ? `${px(i).toFixed(1)},${py(v).toFixed(1)}` : '')).filter((p) => p !== '');
    if (pts.length > 0) out.push(`<polyline points="${pts.join(' ')}" fill="none" stroke="${s.color}" stroke-width="2"/>`);
    for (const p of pts) {
      const [cx, cy] = p.split(',');
      out.push(`<circle cx="${cx}" cy="${cy}" r="3" fill="${s.color}"/>`);
    }
  }
  xs.forEach((x, i) => out.push(`<text x="${px(i).toFixed(1)}" y="${m.t + ph + 14}" text-anchor="middle" font-size="10">${x}</text>`));
  out.push(`<text x="${m.l + pw / 2}" y="${H - 14}" text-anchor="middle" font-size="11">${esc(xLabel)}</text>`);
  out.push(`<text x="${m.l}" y="${H - 2}" font-size="10" fill="${left.color}">${esc(left.label)}</text>`);
  out.push(`<text x="${m.l + pw}" y="${H - 2}" text-anchor="end" font-size="10" fill="${right.color}">${esc(right.label)}</text>`);
  out.push('</g>');
  return out.join('\n');
}

/** The scale plot: streams → fps each and p99; viewers → fps at each viewer and process CPU. */
export function renderScaleSvg(s: Pick<ScaleResult, 'streams' | 'viewers'>, caption: string): string {
  const parts = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<svg xmlns="http://www.w3.org/2000/svg" width="780" height="280" viewBox="0 0 780 280" font-family="sans-serif">`,
    `<title>${esc(caption)}</title>`,
    '<rect width="780" height="280" fill="#fff"/>',
    chart(0, 'Live streams (1 viewer each)', 'streams', s.streams.map((r) => r.streams), { label: 'fps per stream', color: '#1f77b4', values: s.streams.map((r) => r.fpsPerStream) }, { label: 'viewer p99 ms', color: '#d62728', values: s.streams.map((r) => r.p99) }),
    chart(400, 'Viewers of one stream', 'viewers', s.viewers.map((r) => r.viewers), { label: 'fps at each viewer', color: '#1f77b4', values: s.viewers.map((r) => r.fpsPerViewer) }, { label: 'CPU % of one core', color: '#2ca02c', values: s.viewers.map((r) => r.cpuPercent) }),
    '</svg>',
    '',
  ];
  return parts.join('\n');
}
