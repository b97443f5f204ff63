/**
 * The benchmark's pipeline sections, each through the same `Pipeline` (src/pipeline/compose.ts)
 * the CLI uses: end to end at max speed, live latency at real-time pace with several streams and
 * headless viewers, and a soak (looping replay with viewers, memory and latency over time).
 */
import { Pipeline } from '../pipeline/compose.js';
import type { StreamConfig } from '../pipeline/compose.js';
import { LatencyMeter } from '../pipeline/latency-meter.js';
import type { LatencySummary } from '../pipeline/latency-meter.js';
import type { VideoProbe } from '../pipeline/probe.js';
import { nowTs } from '../pipeline/stage-types.js';
import type { Segmenter } from '../segmenter/segmenter.js';
import { ViewerServer } from '../server/viewer-server.js';
import { openViewers } from './viewer-clients.js';
import type { HeadlessViewer } from './viewer-clients.js';

export interface BenchVideo {
  path: string;
  probe: VideoProbe;
  /** 'real exam' or 'synthetic clip'. */
  kind: string;
}

export interface E2eResult {
  video: string;
  videoKind: string;
  width: number;
  height: number;
  batch: number;
  frames: number;
  seconds: number;
  fps: number;
  /** Frames per engine call actually formed. */
  meanBatch: number;
  latency: LatencySummary;
  /** Medians per stage, ms: where the time goes (inference is per engine call). */
  stages: { decode: number; queue: number; inferencePerBatch: number; postprocess: number; send: number };
  /** Stopped early after this many seconds (quick runs); undefined: the whole video. */
  cappedAtSeconds: number | undefined;
}

/** Replays the video at max speed, no outputs, no viewers: what `sgus replay FILE` does. */
export async function runE2e(seg: Segmenter, video: BenchVideo, o: { batch: number; maxSeconds?: number }): Promise<E2eResult> {
  const stream: StreamConfig = { id: 'replay', source: { type: 'file', path: video.path }, mode: 'replay', realtime: false, probe: video.probe };
  const pipeline = new Pipeline({ streams: [stream], segmenter: seg, maxBatchSize: o.batch, metricsIntervalMs: 1000 });
  let capped = false;
  const timer = o.maxSeconds !== undefined ? setTimeout(() => {
    capped = true;
    void pipeline.stop().catch(() => undefined);
  }, o.maxSeconds * 1000) : undefined;
  try {
    const summary = await pipeline.done;
    const m = summary.metrics[0]!;
    let calls = 0;
    for (const [size, frames] of Object.entries(m.batchSizes)) calls += frames / Number(size);
    return {
      video: video.path,
      videoKind: video.kind,
      width: video.probe.width,
      height: video.probe.height,
      batch: o.batch,
      frames: m.framesOut,
      seconds: round(summary.seconds),
      fps: round(summary.seconds > 0 ? m.framesOut / summary.seconds : 0),
      meanBatch: round(calls > 0 ? m.framesOut / calls : 0),
      latency: m.latency.e2e,
      stages: { decode: m.latency.decode.p50, queue: m.latency.queue.p50, inferencePerBatch: m.latency.inference.p50, postprocess: m.latency.postprocess.p50, send: m.latency.send.p50 },
      cappedAtSeconds: capped ? o.maxSeconds : undefined,
    };
  } finally {
    clearTimeout(timer);
    pipeline.close();
  }
}

export interface LiveCell {
  streams: number;
  viewers: number;
  batching: boolean;
  maxBatchSize: number;
  seconds: number;
  /** Pipeline end to end: bytes arrived from FFmpeg → overlay handed to the hub. */
  pipeline: LatencySummary;
  /** At the headless viewers: bytes arrived from FFmpeg → frame message received. */
  viewer: LatencySummary;
  framesOut: number;
  fpsOutPerStream: number;
  dropped: number;
  /** Frames the hub did not send to slow viewers. */
  viewerFramesReceived: number;
  /**
   * CPU time of this process over the measured window, % of one core (process.cpuUsage): the
   * pipeline, the hub and the in-process headless viewers together (FFmpeg children not counted).
   */
  cpuPercent: number;
}

export interface LiveOptions {
  streams: number;
  viewers: number;
  batching: boolean;
  /** Batch size when batching is on. */
  maxBatchSize: number;
  /** Measured seconds, after `warmupSeconds`. */
  seconds: number;
  warmupSeconds: number;
}

/** Streams of the video at its frame rate in live mode (as a camera would send it), viewers on the hub. */
export async function runLiveCell(seg: Segmenter, video: BenchVideo, o: LiveOptions): Promise<LiveCell> {
  const server = await ViewerServer.start({ host: '127.0.0.1', port: 0, token: '', model: seg.card.name, engine: seg.engineInfo.engine, device: seg.engineInfo.device, maxViewers: Math.max(64, o.viewers + 8) });
  const streams: StreamConfig[] = Array.from({ length: o.streams }, (_, i) => ({
    id: `live-${i + 1}`,
    source: { type: 'file', path: video.path },
    mode: 'live',
    realtime: true,
    // The feed outlasts a cell, and a looping file cannot pass its H.264 through (see FfmpegSource).
    loop: false,
    probe: video.probe,
  }));
  const pipeline = new Pipeline({ streams, segmenter: seg, hub: server, maxBatchSize: o.batching ? o.maxBatchSize : 1, isolateFailures: true });
  pipeline.on('log', () => undefined);
  let viewers: HeadlessViewer[] = [];
  const pipeMeter = new LatencyMeter();
  let measuring = false;
  let framesOut = 0;
  pipeline.on('frame', (r) => {
    if (!measuring) return;
    framesOut++;
    pipeMeter.record(nowTs() - r.frame.captureTs);
  });
  try {
    const wsUrl = `ws://127.0.0.1:${server.port}/ws`;
    // Viewer i watches stream i mod N; they connect before the streams start (subscribed on stream-added).
    for (let i = 0; i < o.viewers; i++) {
      const { viewers: v } = await openViewers(1, { url: wsUrl, streamId: streams[i % streams.length]!.id });
      viewers.push(...v);
    }
    await sleep(o.warmupSeconds * 1000);
    const viewerMeter = new LatencyMeter();
    for (const v of viewers) v.latency = viewerMeter;
    const before = pipeline.metrics().reduce((a, m) => a + m.dropped, 0);
    const received0 = viewers.reduce((a, v) => a + v.frames, 0);
    measuring = true;
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    await sleep(o.seconds * 1000);
    measuring = false;
    const cpu = process.cpuUsage(cpu0);
    const seconds = (performance.now() - t0) / 1000;
    const dropped = pipeline.metrics().reduce((a, m) => a + m.dropped, 0) - before;
    return {
      streams: o.streams,
      viewers: o.viewers,
      batching: o.batching,
      maxBatchSize: o.batching ? o.maxBatchSize : 1,
      seconds: round(seconds),
      pipeline: pipeMeter.summary(),
      viewer: viewerMeter.summary(),
      framesOut,
      fpsOutPerStream: round(framesOut / seconds / o.streams),
      dropped,
      viewerFramesReceived: viewers.reduce((a, v) => a + v.frames, 0) - received0,
      cpuPercent: round(seconds > 0 ? ((cpu.user + cpu.system) / 1e6 / seconds) * 100 : 0),
    };
  } finally {
    for (const v of viewers) v.close();
    viewers = [];
    await stopPipeline(pipeline);
    await server.close();
  }
}

export interface MemorySample {
  t: number;
  rssMiB: number;
  heapUsedMiB: number;
}

export interface SoakWindow {
  fromS: number;
  toS: number;
  rssMiB: number;
  heapUsedMiB: number;
  pipeline: LatencySummary;
  viewer: LatencySummary;
  frames: number;
}

export interface SoakResult {
  seconds: number;
  viewers: number;
  frames: number;
  dropped: number;
  /** Memory every few seconds. */
  samples: MemorySample[];
  first: SoakWindow;
  last: SoakWindow;
  rssGrowthMiB: number;
  heapGrowthMiB: number;
  /** p95 latency of the last window minus the first, ms (pipeline). */
  p95GrowthMs: number;
  viewerFramesReceived: number;
}

/** Replays the video in a loop at real-time pace with viewers, for `seconds`. */
export async function runSoak(seg: Segmenter, video: BenchVideo, o: { seconds: number; viewers: number; maxBatchSize: number; onProgress?: (line: string) => void }): Promise<SoakResult> {
  const server = await ViewerServer.start({ host: '127.0.0.1', port: 0, token: '', model: seg.card.name, engine: seg.engineInfo.engine, device: seg.engineInfo.device });
  const stream: StreamConfig = { id: 'soak', source: { type: 'file', path: video.path }, mode: 'replay', realtime: true, loop: true, probe: video.probe };
  // Viewers connect first and subscribe when the stream is announced, so they get its first key
  // frame (recordings may have 10 s between key frames; a viewer waits for one).
  const firstViewer = new LatencyMeter();
  const { viewers } = await openViewers(o.viewers, { url: `ws://127.0.0.1:${server.port}/ws`, streamId: 'soak', latency: firstViewer });
  const pipeline = new Pipeline({ streams: [stream], segmenter: seg, hub: server, maxBatchSize: o.maxBatchSize });
  pipeline.on('log', () => undefined);
  // First and last minute (a third of the run when it is shorter than 3 minutes).
  const windowS = Math.min(60, o.seconds / 3);
  const samples: MemorySample[] = [];
  const t0 = performance.now();
  const elapsed = (): number => (performance.now() - t0) / 1000;
  const firstPipe = new LatencyMeter();
  const lastPipe = new LatencyMeter();
  const lastViewer = new LatencyMeter();
  let frames = 0;
  pipeline.on('frame', (r) => {
    frames++;
    const t = elapsed();
    const ms = nowTs() - r.frame.captureTs;
    if (t < windowS) firstPipe.record(ms);
    if (t >= o.seconds - windowS) lastPipe.record(ms);
  });
  const sample = (): void => {
    const mu = process.memoryUsage();
    samples.push({ t: round(elapsed()), rssMiB: mib(mu.rss), heapUsedMiB: mib(mu.heapUsed) });
  };
  let switched = false;
  const timer = setInterval(() => {
    sample();
    const t = elapsed();
    if (!switched && t >= o.seconds - windowS) {
      switched = true;
      for (const v of viewers) v.latency = lastViewer;
    }
    if (Math.floor(t) % 30 === 0 || t < 5.5) o.onProgress?.(`soak: ${t.toFixed(0)} / ${o.seconds} s, ${frames} frames, rss ${samples[samples.length - 1]!.rssMiB} MiB`);
  }, 5000);
  try {
    sample();
    await sleep(o.seconds * 1000);
    sample();
    const m = pipeline.metrics()[0]!;
    const avg = (from: number, to: number, key: 'rssMiB' | 'heapUsedMiB'): number => {
      const s = samples.filter((x) => x.t >= from && x.t <= to);
      return round(s.length > 0 ? s.reduce((a, x) => a + x[key], 0) / s.length : 0);
    };
    const win = (from: number, to: number, p: LatencyMeter, v: LatencyMeter): SoakWindow => ({
      fromS: round(from),
      toS: round(to),
      rssMiB: avg(from, to, 'rssMiB'),
      heapUsedMiB: avg(from, to, 'heapUsedMiB'),
      pipeline: p.summary(),
      viewer: v.summary(),
      frames: p.count,
    });
    const first = win(0, windowS, firstPipe, firstViewer);
    const last = win(o.seconds - windowS, o.seconds, lastPipe, lastViewer);
    return {
      seconds: o.seconds,
      viewers: o.viewers,
      frames,
      dropped: m.dropped,
      samples,
      first,
      last,
      rssGrowthMiB: round(last.rssMiB - first.rssMiB),
      heapGrowthMiB: round(last.heapUsedMiB - first.heapUsedMiB),
      p95GrowthMs: round(last.pipeline.p95 - first.pipeline.p95),
      viewerFramesReceived: viewers.reduce((a, v) => a + v.frames, 0),
    };
  } finally {
    clearInterval(timer);
    for (const v of viewers) v.close();
    await stopPipeline(pipeline);
    await server.close();
  }
}

/**
 * Drains and stops a pipeline. `close()` alone unsubscribes, after which `done` may never settle;
 * `stop()` lets the frames in flight through and resolves it. Bounded, then closed regardless.
 */
async function stopPipeline(p: Pipeline): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p.stop().catch(() => undefined), new Promise<void>((r) => (timer = setTimeout(r, 10_000)))]);
  clearTimeout(timer);
  p.close();
}

function mib(bytes: number): number {
  return Math.round((bytes / 2 ** 20) * 10) / 10;
}

function round(v: number): number {
  return Math.round(v * 100) / 100;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
