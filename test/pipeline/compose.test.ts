import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { Pipeline } from '../../src/pipeline/compose.js';
import { runningFfmpegCount } from '../../src/pipeline/ffmpeg-source.js';
import type { FrameResult, StreamInfo, StreamMetrics, ViewerHubPort } from '../../src/pipeline/frame.js';
import { probeVideo } from '../../src/pipeline/probe.js';
import { createSegmenter } from '../../src/segmenter/segmenter.js';
import { clip, countFrames, fakeSegmenter, TMP } from '../helpers/pipeline.js';
import { testModelSpec } from '../helpers/test-model.js';

class FakeHub implements ViewerHubPort {
  streams: StreamInfo[] = [];
  frames: FrameResult[] = [];
  metrics: StreamMetrics[] = [];
  ended: string[] = [];
  addStream(info: StreamInfo): void {
    this.streams.push(info);
  }
  publishFrame(result: FrameResult): void {
    this.frames.push(result);
  }
  publishMetrics(metrics: StreamMetrics): void {
    this.metrics.push(metrics);
  }
  endStream(streamId: string, reason: string): void {
    this.ended.push(`${streamId}: ${reason}`);
  }
}

describe('Pipeline', () => {
  it('segments every frame: NDJSON lines = annotated MP4 frames = source frames', async () => {
    const file = await clip();
    const out = path.join(TMP, 'compose-count');
    const p = new Pipeline({
      streams: [{ id: 'replay', source: { type: 'file', path: file }, probe: await probeVideo(file), outputs: { ndjson: path.join(out, 'c.ndjson'), annotated: path.join(out, 'c.mp4') } }],
      segmenter: fakeSegmenter({ msPerFrame: 2 }),
    });
    const summary = await p.done;
    const lines = (await readFile(path.join(out, 'c.ndjson'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { index: number; contours: unknown[]; area: number; latencyMs: { total: number } });
    const source = await countFrames(file);
    assert.equal(lines.length, source);
    assert.equal(await countFrames(path.join(out, 'c.mp4')), source);
    assert.deepEqual(lines.map((l) => l.index), lines.map((_, i) => i));
    assert.ok(lines.every((l) => l.area > 0 && l.contours.length > 0 && l.latencyMs.total > 0));
    const m = summary.metrics[0]!;
    assert.equal(m.framesOut, source);
    assert.equal(m.dropped, 0);
    assert.equal(m.latency.e2e.count, source);
    assert.equal(runningFfmpegCount(), 0);
  });

  it('shares one batcher between streams and never exceeds the max batch size', async () => {
    const file = await clip();
    const seg = fakeSegmenter({ msPerBatch: 15 });
    const p = new Pipeline({
      streams: [
        { id: 'a', source: { type: 'file', path: file } },
        { id: 'b', source: { type: 'file', path: file } },
      ],
      segmenter: seg,
      maxBatchSize: 3,
    });
    const summary = await p.done;
    assert.deepEqual(summary.metrics.map((m) => m.framesOut), [50, 50]);
    assert.ok(seg.batches.every((n) => n <= 3));
    assert.ok(seg.batches.some((n) => n > 1), `batches grow when the engine is the bottleneck: ${seg.batches.join(',')}`);
  });

  it('publishes frames with their H.264 access units, metrics and the end to the viewer hub', async () => {
    const file = await clip();
    const hub = new FakeHub();
    const p = new Pipeline({ streams: [{ id: 'exam', title: 'Exam', source: { type: 'file', path: file }, probe: await probeVideo(file) }], segmenter: fakeSegmenter(), hub, metricsIntervalMs: 100 });
    await p.done;
    assert.equal(hub.streams.length, 1);
    assert.deepEqual({ ...hub.streams[0]!, fps: Math.round(hub.streams[0]!.fps) }, { id: 'exam', title: 'Exam', kind: 'replay', width: 160, height: 120, fps: 25, codec: 'h264' });
    assert.equal(hub.frames.length, 50);
    assert.ok(hub.frames.every((r, i) => r.frame.index === i && r.frame.view?.codec === 'h264'));
    assert.ok(hub.metrics.length >= 1);
    assert.deepEqual(hub.ended, ['exam: end of stream']);
  });

  it('stop() drains and finalises outputs: a playable MP4 with as many frames as NDJSON lines', async () => {
    const file = await clip({ seconds: 6 });
    const out = path.join(TMP, 'compose-stop');
    const p = new Pipeline({
      streams: [{ id: 'replay', source: { type: 'file', path: file }, realtime: true, outputs: { ndjson: path.join(out, 's.ndjson'), annotated: path.join(out, 's.mp4') } }],
      segmenter: fakeSegmenter(),
    });
    setTimeout(() => void p.stop(), 1000);
    await p.done;
    const lines = (await readFile(path.join(out, 's.ndjson'), 'utf8')).trim().split('\n').length;
    assert.ok(lines > 5 && lines < 150, `${lines} lines`);
    assert.equal(await countFrames(path.join(out, 's.mp4')), lines);
    assert.equal(runningFfmpegCount(), 0);
  });

  it('a source failing in replay rejects with a clear error after finalising the outputs', async () => {
    const file = await clip({ seconds: 4 });
    const out = path.join(TMP, 'compose-fail');
    const p = new Pipeline({ streams: [{ id: 'replay', source: { type: 'file', path: file }, realtime: true, outputs: { ndjson: path.join(out, 'f.ndjson') } }], segmenter: fakeSegmenter() });
    p.once('frame', () => setTimeout(() => process.kill(p.source('replay')!.pid!, 'SIGKILL'), 200));
    await assert.rejects(p.done, (err: Error) => /^replay \(.*\): ffmpeg exited with signal SIGKILL$/.test(err.message));
    const text = await readFile(path.join(out, 'f.ndjson'), 'utf8');
    assert.ok(text.endsWith('\n') && text.split('\n').length > 2);
  });

  it('runs the real test model end to end with contours in source pixels', async () => {
    const seg = await createSegmenter({ model: testModelSpec() });
    try {
      const file = await clip();
      const p = new Pipeline({ streams: [{ id: 'replay', source: { type: 'file', path: file } }], segmenter: seg, postprocess: { maxWorkingSize: 0 } });
      const results: FrameResult[] = [];
      p.on('frame', (r) => results.push(r));
      await p.done;
      assert.equal(results.length, 50);
      for (const r of results) for (const c of r.contours) for (const [x, y] of c.points) assert.ok(x >= 0 && x < 160 && y >= 0 && y < 120);
    } finally {
      await seg.close();
    }
  });
});

describe('Pipeline.close', () => {
  it('settles done at once with the figures so far and leaves no FFmpeg running', async () => {
    const file = await clip({ seconds: 6 });
    const p = new Pipeline({ streams: [{ id: 'replay', source: { type: 'file', path: file }, realtime: true }], segmenter: fakeSegmenter() });
    await new Promise((r) => p.once('frame', r));
    p.close();
    p.close();
    const s = await p.done;
    assert.ok(s.metrics[0]!.framesOut >= 1);
    const t0 = Date.now();
    while (runningFfmpegCount() > 0 && Date.now() - t0 < 3000) await new Promise((r) => setTimeout(r, 50));
    assert.equal(runningFfmpegCount(), 0);
  });
});

describe('Pipeline with an early encoder', () => {
  it('leaves no encoder running and no empty video when the source fails before any frame', async () => {
    const file = await clip();
    const out = path.join(TMP, 'compose-early');
    const p = new Pipeline({
      streams: [{ id: 'replay', source: { type: 'file', path: path.join(TMP, 'missing.mp4') }, probe: await probeVideo(file), outputs: { annotated: path.join(out, 'm.mp4') } }],
      segmenter: fakeSegmenter(),
    });
    await assert.rejects(p.done, /missing\.mp4.*No such file/);
    await new Promise((r) => setTimeout(r, 300));
    const children = execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(process.pid)], { encoding: 'utf8' }).split('\n').filter((l) => l.includes('ffmpeg'));
    assert.deepEqual(children, []);
    assert.equal(existsSync(path.join(out, 'm.mp4')), false);
  });
});

describe('Pipeline in live mode', () => {
  it('drops stale frames when inference is slower than the source, keeping latency bounded', async () => {
    const p = new Pipeline({
      streams: [{ id: 'cam', mode: 'live', source: { type: 'lavfi', graph: 'testsrc2=size=160x120:rate=25' }, realtime: true }],
      // 120 ms per frame: a third of the source rate at most.
      segmenter: fakeSegmenter({ msPerFrame: 120 }),
      maxDelayMs: 0,
    });
    setTimeout(() => void p.stop(), 3000);
    const s = (await p.done).metrics[0]!;
    assert.ok(s.dropped > 10, `dropped ${s.dropped}`);
    assert.equal(s.framesIn, s.framesOut + s.dropped);
    assert.ok(s.latency.e2e.max < 600, `e2e max ${s.latency.e2e.max} ms`);
  });
});
