import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Subject, lastValueFrom, toArray } from 'rxjs';
import { batchStage } from '../../src/pipeline/batch-stage.js';
import type { Frame } from '../../src/pipeline/frame.js';
import type { Batch } from '../../src/pipeline/stage-types.js';
import { fakeFrame, sleep } from '../helpers/pipeline.js';

describe('batchStage', () => {
  it('never emits a batch larger than maxBatchSize', async () => {
    const input = new Subject<Frame>();
    const out = lastValueFrom(input.pipe(batchStage({ maxBatchSize: 3, maxDelayMs: 1000 }), toArray()));
    for (let i = 0; i < 10; i++) input.next(fakeFrame('a', i));
    input.complete();
    const batches = await out;
    assert.deepEqual(batches.map((b) => b.frames.length), [3, 3, 3, 1]);
    assert.deepEqual(batches.flatMap((b) => b.frames.map((f) => f.index)), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('lets a partial batch go once the oldest frame waited maxDelayMs', async () => {
    const input = new Subject<Frame>();
    const got: { batch: Batch; at: number }[] = [];
    const t0 = performance.now();
    const sub = input.pipe(batchStage({ maxBatchSize: 8, maxDelayMs: 30 })).subscribe((batch) => got.push({ batch, at: performance.now() - t0 }));
    input.next(fakeFrame('a', 0));
    input.next(fakeFrame('a', 1));
    await sleep(10);
    assert.equal(got.length, 0, 'waits for more frames before maxDelayMs');
    await sleep(60);
    assert.equal(got.length, 1);
    assert.equal(got[0]!.batch.frames.length, 2);
    assert.ok(got[0]!.at >= 28 && got[0]!.at < 200, `emitted after ${got[0]!.at} ms`);
    sub.unsubscribe();
  });

  it('holds frames while the downstream has no capacity and batches them when it frees', async () => {
    const input = new Subject<Frame>();
    const poke = new Subject<void>();
    // Credits as the pipeline gives them: taken by each batch, returned when frames leave.
    let credits = 0;
    const got: Batch[] = [];
    const sub = input.pipe(batchStage({ maxBatchSize: 4, maxDelayMs: 0, capacity: () => credits, poke$: poke })).subscribe((b) => {
      credits -= b.frames.length;
      got.push(b);
    });
    for (let i = 0; i < 6; i++) input.next(fakeFrame('a', i));
    assert.equal(got.length, 0);
    credits = 5;
    poke.next();
    assert.deepEqual(got.map((b) => b.frames.length), [4, 1]);
    credits = 4;
    poke.next();
    assert.deepEqual(got.map((b) => b.frames.length), [4, 1, 1]);
    sub.unsubscribe();
  });

  it('mixes streams in one batch', async () => {
    const input = new Subject<Frame>();
    const out = lastValueFrom(input.pipe(batchStage({ maxBatchSize: 4, maxDelayMs: 5 }), toArray()));
    input.next(fakeFrame('a', 0));
    input.next(fakeFrame('b', 0));
    input.complete();
    const batches = await out;
    assert.deepEqual(batches[0]!.frames.map((f) => f.streamId), ['a', 'b']);
  });

  it('live mode keeps only the latest frame per stream and counts the superseded ones', async () => {
    const input = new Subject<Frame>();
    const poke = new Subject<void>();
    let capacity = 0;
    const dropped: number[] = [];
    const got: Batch[] = [];
    const sub = input
      .pipe(batchStage({ mode: 'live', maxBatchSize: 4, maxDelayMs: 0, capacity: () => capacity, poke$: poke, onDrop: (f) => dropped.push(f.index) }))
      .subscribe((b) => got.push(b));
    for (let i = 0; i < 5; i++) input.next(fakeFrame('a', i));
    input.next(fakeFrame('b', 0));
    capacity = 4;
    poke.next();
    assert.deepEqual(dropped, [0, 1, 2, 3]);
    assert.deepEqual(got[0]!.frames.map((f) => `${f.streamId}${f.index}`), ['a4', 'b0']);
    sub.unsubscribe();
  });

  it('live mode drops frames older than maxAgeMs as stale', async () => {
    const input = new Subject<Frame>();
    const reasons: string[] = [];
    const got: Batch[] = [];
    const old = performance.timeOrigin + performance.now() - 5000;
    const sub = input.pipe(batchStage({ mode: 'live', maxAgeMs: 100, maxDelayMs: 0, onDrop: (_f, r) => reasons.push(r) })).subscribe((b) => got.push(b));
    input.next(fakeFrame('a', 0, old));
    input.next(fakeFrame('b', 0));
    assert.deepEqual(reasons, ['stale']);
    assert.deepEqual(got.flatMap((b) => b.frames.map((f) => f.streamId)), ['b']);
    sub.unsubscribe();
  });

  it('replay mode fails loudly instead of dropping when the queue bound is exceeded', async () => {
    const input = new Subject<Frame>();
    let error: Error | undefined;
    input.pipe(batchStage({ maxBatchSize: 2, maxQueue: 4, capacity: () => 0 })).subscribe({ error: (e: Error) => (error = e) });
    for (let i = 0; i < 5; i++) input.next(fakeFrame('a', i));
    assert.match(error?.message ?? '', /batch queue over its bound of 4 frames/);
  });

  it('rejects bad options at construction', () => {
    assert.throws(() => batchStage({ maxBatchSize: 0 }), /maxBatchSize must be an integer >= 1/);
    assert.throws(() => batchStage({ maxDelayMs: -1 }), /maxDelayMs must be >= 0/);
    assert.throws(() => batchStage({ mode: 'fast' as 'live' }), /mode must be replay or live/);
  });
});

describe('batchStage with mixed modes', () => {
  it('drops superseded frames of live streams only, never of replay streams', () => {
    const input = new Subject<Frame>();
    const poke = new Subject<void>();
    let credits = 0;
    const dropped: string[] = [];
    const got: Batch[] = [];
    const sub = input
      .pipe(batchStage({ mode: (id) => (id === 'cam' ? 'live' : 'replay'), maxBatchSize: 8, maxDelayMs: 0, capacity: () => credits, poke$: poke, onDrop: (f) => dropped.push(`${f.streamId}${f.index}`) }))
      .subscribe((b) => {
        credits -= b.frames.length;
        got.push(b);
      });
    for (let i = 0; i < 3; i++) {
      input.next(fakeFrame('cam', i));
      input.next(fakeFrame('file', i));
    }
    credits = 8;
    poke.next();
    assert.deepEqual(dropped, ['cam0', 'cam1']);
    assert.deepEqual(got[0]!.frames.map((f) => `${f.streamId}${f.index}`).sort(), ['cam2', 'file0', 'file1', 'file2']);
    sub.unsubscribe();
  });

  it('puts a live frame in the next batch ahead of older replay frames, so a busy replay cannot starve a live stream', () => {
    const input = new Subject<Frame>();
    const poke = new Subject<void>();
    let credits = 0;
    const dropped: string[] = [];
    const got: string[][] = [];
    const sub = input
      .pipe(batchStage({ mode: (id) => (id === 'cam' ? 'live' : 'replay'), maxBatchSize: 2, maxDelayMs: 0, capacity: () => credits, poke$: poke, onDrop: (f) => dropped.push(`${f.streamId}${f.index}`) }))
      .subscribe((b) => {
        credits -= b.frames.length;
        got.push(b.frames.map((f) => `${f.streamId}${f.index}`));
      });
    // The engine is busy: the replay's frames queue up, then the camera's latest arrives (each
    // newer one superseding the last at the back of the queue).
    for (let i = 0; i < 6; i++) input.next(fakeFrame('file', i));
    for (let round = 0; round < 3; round++) {
      input.next(fakeFrame('cam', round));
      credits = 2;
      poke.next();
    }
    assert.deepEqual(got, [['file0', 'cam0'], ['file1', 'cam1'], ['file2', 'cam2']], 'every batch carries the camera\'s frame; the replay keeps its order');
    assert.deepEqual(dropped, []);
    sub.unsubscribe();
  });
});
