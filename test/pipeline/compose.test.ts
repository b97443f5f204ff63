import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ErrorCode, SgusError } from '../../src/errors.js';
import { Pipeline } from '../../src/pipeline/compose.js';
import { runningFfmpegCount } from '../../src/pipeline/ffmpeg-source.js';
import type { FrameResult, StreamInfo, StreamMetrics, ViewerHubPort } from '../../src/pipeline/frame.js';
import { probeVideo } from '../../src/pipeline/probe.js';
import { renderPrometheus } from '../../src/pipeline/prometheus.js';
import { createSegmenter } from '../../src/segmenter/segmenter.js';
import { clip, countFrames, fakeSegmenter, sleep, TMP } from '../helpers/pipeline.js';
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

describe('Pipeline with a failing engine', () => {
  /** The fake segmenter, throwing `error` on its third engine call and answering every other. */
  function failingOnThirdCall(error: SgusError): { seg: ReturnType<typeof fakeSegmenter>; failedFrames: () => number } {
    const base = fakeSegmenter();
    let calls = 0;
    let failed = 0;
    const seg = {
      ...base,
      probabilities: (images: Parameters<typeof base.probabilities>[0]) => {
        if (++calls !== 3) return base.probabilities(images);
        failed = images.length;
        return Promise.reject(error);
      },
    };
    return { seg, failedFrames: () => failed };
  }

  it('a non-fatal inference error drops that batch only: every other frame is segmented, the drop is counted and logged once', async () => {
    const file = await clip();
    const out = path.join(TMP, 'compose-engine-recoverable');
    const { seg, failedFrames } = failingOnThirdCall(new SgusError(ErrorCode.EngineFailure, 'inference failed: out of memory', { where: 'fake', fatal: false }));
    const p = new Pipeline({ streams: [{ id: 'replay', source: { type: 'file', path: file }, probe: await probeVideo(file), outputs: { ndjson: path.join(out, 'r.ndjson') } }], segmenter: seg });
    const logs: string[] = [];
    p.on('log', (l) => logs.push(l));
    const summary = await p.done;
    const source = await countFrames(file);
    const lost = failedFrames();
    assert.ok(lost > 0, 'the third batch failed');
    const m = summary.metrics[0]!;
    assert.equal(m.inferenceFailed, lost);
    assert.equal(m.framesOut, source - lost);
    const lines = (await readFile(path.join(out, 'r.ndjson'), 'utf8')).trim().split('\n');
    assert.equal(lines.length, source - lost);
    assert.deepEqual(logs.filter((l) => /out of memory/.test(l)), [`replay: fake: inference failed: out of memory; batch of ${lost} frame${lost === 1 ? '' : 's'} dropped, the stream goes on`]);
    assert.match(await renderPrometheus(summary.metrics), new RegExp(`^sgus_frames_inference_failed_total\\{stream="replay"\\} ${lost}$`, 'm'));
  });

  it('a fatal inference error still ends the pipeline with that error, even with isolateFailures', async () => {
    const file = await clip();
    const error = new SgusError(ErrorCode.EngineFailure, 'inference failed: device lost', { where: 'fake' });
    const { seg } = failingOnThirdCall(error);
    const p = new Pipeline({ streams: [{ id: 'replay', source: { type: 'file', path: file } }], segmenter: seg, isolateFailures: true });
    await assert.rejects(p.done, (e) => e === error);
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
    await assert.rejects(p.done, /missing\.mp4\): cannot open: no such file$/);
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

describe('Pipeline in live mode behind its source', () => {
  it('shows no frame more than max-age behind the source when inference cannot keep up, reopening the source and counting what it drops', async () => {
    // The source's clock, independent of the pipeline's: lavfi at 25 fps read at real time shows
    // frame pts p no earlier than t0 + p (FFmpeg starts after t0).
    const t0 = performance.timeOrigin + performance.now();
    const maxAgeMs = 1000;
    const shown: { at: number; pts: number; run: number }[] = [];
    let run = 0;
    const hub = new (class extends FakeHub {
      override publishFrame(r: FrameResult): void {
        shown.push({ at: performance.timeOrigin + performance.now(), pts: r.frame.pts, run });
      }
    })();
    // 400 ms per frame on the main thread and big model frames (512², 0.8 MB): the pipes are read
    // at a fraction of the source's rate, FFmpeg's writes back up and, unchecked, the content falls
    // a second further behind every second while the latency from FFmpeg's output stays ~1 s.
    const slow = fakeSegmenter({ msPerFrame: 400, blocking: true });
    const segmenter = { ...slow, card: { ...slow.card, input: { ...slow.card.input, width: 512, height: 512 } } };
    const p = new Pipeline({
      streams: [{ id: 'cam', mode: 'live', source: { type: 'lavfi', graph: 'testsrc2=size=160x120:rate=25' }, realtime: true, viewCodec: 'jpeg' }],
      segmenter,
      maxDelayMs: 0,
      maxAgeMs,
      hub,
    });
    p.on('started', (_id, info) => (run = info.run));
    const logs: string[] = [];
    p.on('log', (l) => logs.push(l));
    // Bounded by events, not a deadline: until a frame of the third run is shown (~9 s), at most 450 polls.
    for (let k = 0; k < 450 && !shown.some((f) => f.run >= 2); k++) await sleep(200);
    const s = (await p.stop()).metrics[0]!;
    assert.ok(shown.some((f) => f.run >= 2), `the source was reopened to catch up and shown again: ${logs.join(' | ')}`);
    const worst = Math.max(...shown.map((f) => f.at - (t0 + f.pts * 1000)));
    // max-age, plus FFmpeg's start-up (the independent clock above starts before it).
    assert.ok(worst < maxAgeMs + 1500, `a frame was shown ${Math.round(worst)} ms behind the source`);
    assert.ok(logs.some((l) => /source lost \(fell [\d.]+ s behind the source\); reconnecting/.test(l)), logs.join(' | '));
    assert.ok(s.dropped > 10, `dropped ${s.dropped}`);
    assert.equal(s.framesIn, s.framesOut + s.dropped);
    assert.ok((s.missing ?? 0) > 0, 'frames the source showed while it was reopened are counted missing');
    // Latency counts from the source: at least the inference, never above max-age (stale frames are not shown).
    assert.ok(s.latency.e2e.max > 400 && s.latency.e2e.max <= maxAgeMs, `e2e max ${s.latency.e2e.max} ms`);
    assert.equal(s.corrupt, 0, 'a run the source ended itself leaves no corrupt frame');
  });
});
