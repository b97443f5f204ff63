import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { lastValueFrom, Subject, tap, toArray } from 'rxjs';
import { annotatedVideoSink, drawContoursYuv420, encodedSize } from '../../src/pipeline/annotated-video-sink.js';
import { probeVideo } from '../../src/pipeline/probe.js';
import type { FrameResult } from '../../src/pipeline/frame.js';
import { countFrames, fakeFrame, sleep, TMP } from '../helpers/pipeline.js';

describe('drawContoursYuv420', () => {
  it('draws a closed outline in luma and in the 2x2 chroma blocks it covers, leaving the rest untouched', () => {
    const w = 20;
    const h = 10;
    const pic = { format: 'yuv420p' as const, width: w, height: h, data: new Uint8Array(w * h * 1.5).fill(128) };
    drawContoursYuv420(pic, [{ points: [[2, 2], [12, 2], [12, 6], [2, 6]], hole: false, parent: -1 }], 1, [0, 255, 0]);
    const Y = (x: number, y: number): number => pic.data[y * w + x]!;
    const U = (x: number, y: number): number => pic.data[w * h + (y >> 1) * (w / 2) + (x >> 1)]!;
    assert.equal(Y(2, 2), 145);
    assert.equal(Y(7, 6), 145);
    assert.equal(Y(12, 4), 145);
    assert.equal(Y(7, 4), 128, 'inside untouched');
    assert.equal(Y(15, 8), 128, 'outside untouched');
    assert.equal(U(2, 2), 54);
    assert.equal(U(16, 8), 128);
  });
});

describe('annotatedVideoSink when its encoder dies', () => {
  it('keeps the frames encoded before the kill playable, reports the failure once and passes every frame on', async () => {
    const file = path.join(TMP, 'encoder-killed', 'a.mp4');
    const w = 64;
    const h = 48;
    const failures: string[] = [];
    const input = new Subject<FrameResult>();
    const passed: number[] = [];
    const done = lastValueFrom(
      input.pipe(
        annotatedVideoSink({ path: file, fps: 25, fragmentMs: 80, picture: { width: w, height: h, format: 'yuv420p' }, onEncoderFailure: (e) => failures.push(e.message) }),
        tap((r) => passed.push(r.frame.index)),
        toArray(),
      ),
    );
    const result = (i: number): FrameResult => {
      const frame = fakeFrame('s', i);
      // A moving grey ramp: x264 gives every frame a packet.
      frame.full = { format: 'yuv420p', width: w, height: h, data: new Uint8Array(w * h * 1.5).map((_, k) => (k + i * 7) & 0xff) };
      return { frame, contours: [], area: 0, batchSize: 1, timings: { decode: 0, queue: 0, inference: 0, postprocess: 0, send: 0 }, doneTs: 0 };
    };
    for (let i = 0; i < 30; i++) input.next(result(i));
    // Wait (bounded by count, not time) until the file holds most of them, then kill the encoder.
    let held = 0;
    for (let k = 0; k < 300 && held < 20; k++) {
      await sleep(100);
      // NaN (no fragment yet) counts as none.
      if (existsSync(file)) held = (await countFrames(file).catch(() => 0)) || 0;
    }
    assert.ok(held >= 20, `the encoder wrote ${held} frames before the kill`);
    const pids = execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(process.pid)], { encoding: 'utf8' })
      .split('\n')
      .filter((l) => l.includes('ffmpeg') && l.includes(file))
      .map((l) => Number(l.trim().split(/\s+/)[0]));
    assert.equal(pids.length, 1, 'one encoder running for the file');
    process.kill(pids[0]!, 'SIGKILL');
    for (let k = 0; k < 300 && execFileSync('ps', ['-o', 'pid=', '--ppid', String(process.pid)], { encoding: 'utf8' }).split('\n').some((l) => Number(l.trim()) === pids[0]); k++) await sleep(50);
    for (let i = 30; i < 50; i++) input.next(result(i));
    input.complete();
    const out = await done;
    assert.equal(out.length, 50, 'every frame passed on');
    assert.deepEqual(passed, Array.from({ length: 50 }, (_, i) => i));
    assert.equal(failures.length, 1, failures.join(' | '));
    assert.match(failures[0]!, /a\.mp4: encoder failed: ffmpeg exited with signal SIGKILL/);
    // Playable: ffprobe decodes it without error, with the frames written before the kill.
    const frames = await countFrames(file);
    assert.ok(frames >= held && frames <= 30, `${frames} frames in the file, ${held} seen before the kill`);
  });

  it('without onEncoderFailure, a dead encoder is an error of the stream naming the file', async () => {
    const file = path.join(TMP, 'encoder-missing', 'b.mp4');
    const input = new Subject<FrameResult>();
    const done = lastValueFrom(input.pipe(annotatedVideoSink({ path: file, ffmpegPath: '/nonexistent/ffmpeg' }), toArray()));
    const frame = fakeFrame('s', 0);
    frame.full = { format: 'yuv420p', width: 16, height: 16, data: new Uint8Array(16 * 16 * 1.5) };
    input.next({ frame, contours: [], area: 0, batchSize: 1, timings: { decode: 0, queue: 0, inference: 0, postprocess: 0, send: 0 }, doneTs: 0 });
    input.complete();
    await assert.rejects(done, /b\.mp4: encoder failed: cannot start ffmpeg/);
  });
});

describe('annotatedVideoSink encoded size', () => {
  it('encodedSize keeps the source size by default and below the limit, else scales the long side down to even sizes', () => {
    assert.deepEqual(encodedSize(1280, 720, 0), { width: 1280, height: 720 });
    assert.deepEqual(encodedSize(640, 360, 960), { width: 640, height: 360 }, 'never scaled up');
    assert.deepEqual(encodedSize(1280, 720, 640), { width: 640, height: 360 });
    assert.deepEqual(encodedSize(854, 478, 640), { width: 640, height: 358 });
    assert.deepEqual(encodedSize(480, 640, 320), { width: 240, height: 320 }, 'portrait: the height is the long side');
  });

  it('refuses an odd or negative long side with a one-line error', () => {
    assert.throws(() => annotatedVideoSink({ path: path.join(TMP, 'x.mp4'), longSide: 641 }), /longSide .*must be an even integer >= 0, got 641/);
    assert.throws(() => annotatedVideoSink({ path: path.join(TMP, 'x.mp4'), niceness: 20 }), /niceness must be an integer in 0\.\.19/);
  });

  it('with longSide, writes every frame at the smaller size', async () => {
    const file = path.join(TMP, 'annotated-long-side', 'a.mp4');
    const w = 128;
    const h = 96;
    const input = new Subject<FrameResult>();
    const done = lastValueFrom(input.pipe(annotatedVideoSink({ path: file, fps: 25, longSide: 64 }), toArray()));
    for (let i = 0; i < 10; i++) {
      const frame = fakeFrame('s', i);
      frame.full = { format: 'yuv420p', width: w, height: h, data: new Uint8Array(w * h * 1.5).map((_, k) => (k + i * 7) & 0xff) };
      input.next({ frame, contours: [{ points: [[10, 10], [100, 10], [100, 80], [10, 80]], hole: false, parent: -1 }], area: 0, batchSize: 1, timings: { decode: 0, queue: 0, inference: 0, postprocess: 0, send: 0 }, doneTs: 0 });
    }
    input.complete();
    assert.equal((await done).length, 10);
    const p = await probeVideo(file);
    assert.deepEqual([p.width, p.height], [64, 48]);
    assert.equal(await countFrames(file), 10);
  });
});
