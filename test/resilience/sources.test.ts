/**
 * Resilience to failing sources, through the same Pipeline the CLI composes: FFmpeg killed mid-stream
 * (replay: a fatal error naming the stream, outputs finalised; live: reconnect, frames flow again), a
 * UDP network stream that stalls and comes back, a capture device that does not exist (a clear error;
 * the other streams keep serving their viewers). No FFmpeg process or file descriptor is left behind.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { HeadlessViewer } from '../../src/bench/viewer-clients.js';
import { isSgusError } from '../../src/errors.js';
import { Pipeline } from '../../src/pipeline/compose.js';
import { runningFfmpegCount } from '../../src/pipeline/ffmpeg-source.js';
import { probeVideo } from '../../src/pipeline/probe.js';
import { ViewerServer } from '../../src/server/viewer-server.js';
import { clip, countFrames, fakeSegmenter, sleep } from '../helpers/pipeline.js';

function fdCount(): number {
  return readdirSync('/proc/self/fd').length;
}

async function until(what: string, cond: () => boolean, timeoutMs = 15_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

async function noFfmpegLeft(): Promise<void> {
  await until('every FFmpeg this process started to exit', () => runningFfmpegCount() === 0, 5000);
}

describe('sources that fail', () => {
  const dirs: string[] = [];
  after(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('replay: FFmpeg killed mid-stream is a fatal error naming the stream; NDJSON and annotated MP4 are finalised and agree', async (t) => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'sgus-res-kill-'));
    dirs.push(dir);
    const file = await clip({ seconds: 4 });
    const fd0 = fdCount();
    const outputs = { ndjson: path.join(dir, 'exam.contours.ndjson'), annotated: path.join(dir, 'exam.annotated.mp4') };
    const pipeline = new Pipeline({ streams: [{ id: 'exam', source: { type: 'file', path: file }, realtime: true, outputs, probe: await probeVideo(file) }], segmenter: fakeSegmenter() });
    let frames = 0;
    let killed = false;
    pipeline.on('frame', () => {
      if (++frames === 15 && !killed) {
        killed = true;
        process.kill(pipeline.source('exam')!.pid!, 'SIGKILL');
      }
    });
    const err = await pipeline.done.then(
      () => undefined,
      (e: unknown) => e,
    );
    t.diagnostic(`killed FFmpeg after ${frames} frames in replay: ${String((err as Error | undefined)?.message)}`);
    assert.ok(isSgusError(err, 'source-failure'), `a source-failure error, got ${String(err)}`);
    assert.match(err.message, /exam/);
    assert.match(err.message, /signal|SIGKILL|exited|killed/i);
    assert.ok(!err.message.includes('\n'));
    const lines = (await readFile(outputs.ndjson, 'utf8')).trim().split('\n');
    const recs = lines.map((l) => JSON.parse(l) as { index: number });
    assert.ok(recs.length >= 15 && recs.length < 100, `${recs.length} records`);
    assert.deepEqual(recs.map((r) => r.index), recs.map((_, i) => i));
    assert.equal(await countFrames(outputs.annotated), recs.length, 'the annotated MP4 is playable with every segmented frame');
    pipeline.close();
    await noFfmpegLeft();
    await sleep(100);
    assert.ok(fdCount() <= fd0 + 2, `file descriptors ${fd0} → ${fdCount()}`);
  });

  it('live: FFmpeg killed mid-stream reconnects and frames flow again, indices still counting', async (t) => {
    const file = await clip({ seconds: 2 });
    const pipeline = new Pipeline({ streams: [{ id: 'cam', source: { type: 'file', path: file }, mode: 'live', realtime: true, loop: true, reconnectInitialMs: 100 }], segmenter: fakeSegmenter() });
    const indices: number[] = [];
    const reconnects: string[] = [];
    let started = 0;
    pipeline.on('started', () => started++);
    pipeline.on('reconnecting', (_id, info) => reconnects.push(info.reason));
    pipeline.on('frame', (r) => indices.push(r.frame.index));
    try {
      await until('frames', () => indices.length >= 10);
      process.kill(pipeline.source('cam')!.pid!, 'SIGKILL');
      const n = indices.length;
      await until('a reconnect', () => reconnects.length > 0);
      await until('frames after the reconnect', () => indices.length >= n + 15);
      t.diagnostic(`live kill: reconnected (${reconnects[0]}), ${started} starts, ${indices.length} frames`);
      assert.equal(started, 2);
      assert.ok(indices.every((v, i) => i === 0 || v > indices[i - 1]!), 'indices keep increasing across the reconnect');
    } finally {
      await pipeline.stop().catch(() => undefined);
      pipeline.close();
    }
    await noFfmpegLeft();
  });

  it('a looping replay whose FFmpeg is killed restarts like a live source: one log line, frames keep coming, indices still counting', async (t) => {
    const file = await clip({ seconds: 2 });
    const pipeline = new Pipeline({ streams: [{ id: 'loop', source: { type: 'file', path: file }, realtime: true, loop: true, probe: await probeVideo(file), reconnectInitialMs: 100 }], segmenter: fakeSegmenter() });
    const indices: number[] = [];
    const reconnects: string[] = [];
    const logs: string[] = [];
    const ended: string[] = [];
    pipeline.on('reconnecting', (_id, info) => reconnects.push(info.reason));
    pipeline.on('log', (l) => logs.push(l));
    pipeline.on('streamEnded', (_id, reason) => ended.push(reason));
    pipeline.on('frame', (r) => indices.push(r.frame.index));
    try {
      await until('frames', () => indices.length >= 10, 30_000);
      const pid = pipeline.source('loop')!.pid!;
      process.kill(pid, 'SIGKILL');
      const n = indices.length;
      await until('a restart', () => reconnects.length > 0, 15_000);
      await until('frames after the restart', () => indices.length >= n + 15, 30_000);
      const lost = logs.filter((l) => /source lost/.test(l));
      t.diagnostic(`looping replay kill: ${lost[0]}; ${indices.length} frames; new pid ${String(pipeline.source('loop')!.pid)} (was ${pid})`);
      assert.deepEqual(ended, [], 'the stream did not end');
      assert.equal(reconnects.length, 1);
      assert.match(reconnects[0]!, /SIGKILL/);
      assert.equal(lost.length, 1, logs.join(' | '));
      assert.match(lost[0]!, /^loop: source lost \(ffmpeg exited with signal SIGKILL\); reconnecting in 0\.1 s \(attempt 1\)$/);
      assert.notEqual(pipeline.source('loop')!.pid, pid);
      assert.ok(indices.every((v, i) => i === 0 || v > indices[i - 1]!), 'indices keep increasing across the restart');
    } finally {
      await pipeline.stop().catch(() => undefined);
      pipeline.close();
    }
    await noFfmpegLeft();
  });

  it('a UDP network stream that stalls and comes back: the live source reconnects and frames flow again', async (t) => {
    const file = await clip({ seconds: 2 });
    const port = 20000 + Math.floor(Math.random() * 20000);
    const url = `udp://127.0.0.1:${port}`;
    let sender: ChildProcess | undefined;
    const startSender = (): void => {
      sender = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-nostdin', '-re', '-stream_loop', '-1', '-i', file, '-c', 'copy', '-f', 'mpegts', `${url}?pkt_size=1316`], { stdio: 'ignore' });
    };
    const stopSender = async (): Promise<void> => {
      const s = sender;
      sender = undefined;
      if (s === undefined || s.exitCode !== null) return;
      const gone = new Promise((r) => s.once('exit', r));
      s.kill('SIGKILL');
      await gone;
    };
    const pipeline = new Pipeline({
      streams: [{ id: 'net', source: { type: 'url', url }, mode: 'live', stallTimeoutS: 1, reconnectInitialMs: 200, reconnectMaxMs: 800 }],
      segmenter: fakeSegmenter(),
    });
    const reconnects: string[] = [];
    let frames = 0;
    let starts = 0;
    pipeline.on('reconnecting', (_id, info) => reconnects.push(info.reason));
    pipeline.on('started', () => starts++);
    pipeline.on('frame', () => frames++);
    try {
      startSender();
      await until('frames from the network stream', () => frames >= 10, 30_000);
      await stopSender(); // the stream stalls
      const atStall = frames;
      await until('the stall is noticed', () => reconnects.length > 0, 10_000);
      await sleep(1500);
      const duringOutage = frames - atStall;
      startSender(); // and comes back
      await until('frames again after the sender restarts', () => frames >= atStall + 25, 40_000);
      t.diagnostic(`udp: stalled after ${atStall} frames (${duringOutage} during the outage), ${reconnects.length} reconnect attempts (${reconnects[0]}), ${starts} starts, ${frames} frames in all`);
      assert.ok(duringOutage < 10, 'no frames while the sender is down');
      assert.ok(starts >= 2, 'the source opened again');
      assert.match(reconnects[0]!, /no data|stall|exited|no picture/i);
    } finally {
      await stopSender();
      await pipeline.stop().catch(() => undefined);
      pipeline.close();
    }
    await noFfmpegLeft();
  });

  it('a looping replay keeps sending viewer video across the loop, latency unchanged', async (t) => {
    // Regression: with FFmpeg 5.1, H.264 passed through with -stream_loop stopped at the first loop.
    const file = await clip({ seconds: 1 });
    const server = await ViewerServer.start({ host: '127.0.0.1', port: 0, token: '' });
    const viewer = new HeadlessViewer({ url: `ws://127.0.0.1:${server.port}/ws`, streamId: 'loop' });
    await viewer.opened();
    const pipeline = new Pipeline({ streams: [{ id: 'loop', source: { type: 'file', path: file }, realtime: true, loop: true, probe: await probeVideo(file) }], segmenter: fakeSegmenter(), hub: server });
    const late: number[] = [];
    let last = -1;
    pipeline.on('frame', (r) => {
      last = r.frame.index;
      if (r.frame.index >= 30) late.push(Date.now() - r.frame.captureTs);
    });
    try {
      await until('three loops of the clip', () => last >= 75, 20_000);
      const f0 = viewer.frames;
      await until('viewer frames after the loops', () => viewer.frames >= f0 + 10, 5000);
      t.diagnostic(`loop: ${last + 1} frames over 3 loops, viewer got ${viewer.frames}, latency after the first loop max ${Math.max(...late).toFixed(0)} ms`);
      assert.ok(viewer.frames >= 60, `viewer frames ${viewer.frames}`);
      assert.ok(Math.max(...late) < 1500, `latency after the first loop: max ${Math.max(...late).toFixed(0)} ms`);
    } finally {
      viewer.close();
      await pipeline.stop().catch(() => undefined);
      pipeline.close();
      await server.close();
    }
    await noFfmpegLeft();
  });

  it('a capture device that does not exist: a clear error naming it, while another stream keeps serving its viewer to the end', async (t) => {
    const file = await clip({ seconds: 2 });
    const fd0 = fdCount();
    const server = await ViewerServer.start({ host: '127.0.0.1', port: 0, token: '' });
    const logs: string[] = [];
    const ended = new Map<string, string>();
    const viewer = new HeadlessViewer({ url: `ws://127.0.0.1:${server.port}/ws`, streamId: 'exam' });
    await viewer.opened();
    const pipeline = new Pipeline({
      streams: [
        { id: 'cam', source: { type: 'device', path: '/dev/video99' }, mode: 'live', reconnectInitialMs: 100, reconnectMaxMs: 400 },
        { id: 'exam', source: { type: 'file', path: file }, mode: 'replay', realtime: true, probe: await probeVideo(file) },
      ],
      segmenter: fakeSegmenter(),
      hub: server,
      isolateFailures: true,
      maxAgeMs: 5000,
    });
    pipeline.on('log', (l) => logs.push(l));
    pipeline.on('streamEnded', (id, reason) => ended.set(id, reason));
    try {
      await until('the file stream to end', () => ended.has('exam'), 30_000);
      // Its last frames may still be in inference when its source ends.
      const accounted = (): number => pipeline.metrics().filter((x) => x.streamId === 'exam').reduce((a, x) => a + x.framesOut + x.dropped, 0);
      await until('every frame of the file stream out of the pipeline', () => accounted() >= 50, 5000).catch(() => undefined);
      const m = pipeline.metrics();
      const exam = m.find((x) => x.streamId === 'exam')!;
      const cam = m.find((x) => x.streamId === 'cam')!;
      const camLines = logs.filter((l) => l.startsWith('cam:'));
      t.diagnostic(`device: ${camLines.length} error/reconnect lines for /dev/video99, e.g. '${camLines[0]}'; exam ${exam.framesOut} frames out, viewer got ${viewer.frames}`);
      assert.ok(camLines.length > 0 && camLines.every((l) => !l.includes('\n')));
      assert.ok(camLines.some((l) => l.includes('/dev/video99') && /No such file|not found|cannot open/i.test(l)), `a clear error: ${camLines[0]}`);
      assert.equal(cam.framesOut, 0);
      assert.equal(exam.framesOut + exam.dropped, 50, 'every frame of the other stream accounted for');
      assert.ok(exam.framesOut >= 45, `the other stream kept going: ${exam.framesOut} frames`);
      await until('the viewer to get the other stream', () => viewer.frames >= 40, 5000);
      assert.equal(ended.get('exam'), 'end of stream');
    } finally {
      viewer.close();
      await pipeline.stop().catch(() => undefined);
      pipeline.close();
      await server.close();
    }
    await noFfmpegLeft();
    await sleep(200);
    assert.ok(fdCount() <= fd0 + 2, `file descriptors ${fd0} → ${fdCount()}`);
  });
});
