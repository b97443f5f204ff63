import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Observable, concatMap, delay, map, merge, of, tap } from 'rxjs';
import type { OperatorFunction } from 'rxjs';
import type { FloatMap, RgbImage } from '../../src/core/image.js';
import { ErrorCode, SgusError } from '../../src/errors.js';
import { batchStage } from '../../src/pipeline/batch-stage.js';
import { CREDIT_FLOW_DEFAULTS, CreditFlow } from '../../src/pipeline/credit-flow.js';
import type { CreditPort } from '../../src/pipeline/credit-flow.js';
import type { Frame } from '../../src/pipeline/frame.js';
import { inferenceStage } from '../../src/pipeline/inference-stage.js';
import { nowTs } from '../../src/pipeline/stage-types.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * A source with credits, as FfmpegSource in replay mode: it emits (one frame a tick) only while
 * fewer than `credits` frames are out, and a release lets it go on. Counts what the loop does to it.
 */
class FakeSource implements CreditPort {
  out = 0;
  maxOut = 0;
  emitted = 0;
  released = 0;
  recycled = 0;
  pauses = 0;
  #paused = false;
  #resume: (() => void) | undefined;
  constructor(
    readonly id: string,
    readonly total: number,
    readonly credits: number,
    readonly failAt?: number,
    /** Between frames, ms (0: as fast as the event loop goes). */
    readonly intervalMs = 0,
  ) {}

  frames(): Observable<Frame> {
    return new Observable<Frame>((subscriber) => {
      let stopped = false;
      const step = (): void => {
        if (stopped) return;
        if (this.failAt !== undefined && this.emitted === this.failAt) {
          subscriber.error(new SgusError(ErrorCode.SourceFailure, 'source died', { where: this.id }));
          return;
        }
        if (this.emitted === this.total) {
          subscriber.complete();
          return;
        }
        if (this.out >= this.credits) {
          if (!this.#paused) this.pauses++;
          this.#paused = true;
          this.#resume = step;
          return;
        }
        this.#paused = false;
        this.out++;
        this.maxOut = Math.max(this.maxOut, this.out);
        const pixels: RgbImage = { width: 2, height: 2, data: new Uint8Array(12) };
        subscriber.next({ streamId: this.id, index: this.emitted++, pts: 0, captureTs: nowTs(), sourceWidth: 2, sourceHeight: 2, pixels, full: { width: 2, height: 2, format: 'yuv420p', data: new Uint8Array(6) } } as Frame);
        if (this.intervalMs > 0) setTimeout(step, this.intervalMs);
        else setImmediate(step);
      };
      setImmediate(step);
      return () => {
        stopped = true;
      };
    });
  }

  release(): void {
    this.out--;
    this.released++;
    assert.ok(this.out >= 0, `${this.id}: more credits returned than granted`);
    const resume = this.#resume;
    this.#resume = undefined;
    if (resume !== undefined) setImmediate(resume);
  }

  recycle(): void {
    this.recycled++;
  }
}

/** An engine that takes `ms` per batch. */
function engine(ms: number, batches: number[]): { probabilities(images: readonly RgbImage[]): Promise<FloatMap[]> } {
  return {
    async probabilities(images) {
      batches.push(images.length);
      await sleep(ms);
      return images.map(() => ({ width: 2, height: 2, data: new Float32Array(4) }) as unknown as FloatMap);
    },
  };
}

/** The loop as compose wires it: sources → batcher → admit → inference → sink → done. */
function loop(options: {
  sources: FakeSource[];
  live?: boolean;
  maxBatchSize: number;
  engineMs: number;
  sinkMs: number;
  maxInFlight?: number;
}): { flow: CreditFlow; run: Promise<Frame[]>; batches: number[]; inFlightSeen: number[] } {
  const byId = new Map(options.sources.map((s) => [s.id, s]));
  const live = options.live ?? false;
  const flow = new CreditFlow({ maxBatchSize: options.maxBatchSize, boundBySources: !live, portOf: (id) => byId.get(id)!, ...(options.maxInFlight !== undefined ? { maxInFlight: options.maxInFlight } : {}) });
  const batches: number[] = [];
  const inFlightSeen: number[] = [];
  const sink: OperatorFunction<Frame, Frame> = concatMap((f: Frame) => of(f).pipe(delay(options.sinkMs)));
  const run = new Promise<Frame[]>((resolve, reject) => {
    const done: Frame[] = [];
    merge(...options.sources.map((s) => s.frames()))
      .pipe(
        batchStage({ maxBatchSize: options.maxBatchSize, maxDelayMs: 0, mode: live ? 'live' : 'replay', capacity: flow.capacity, poke$: flow.poke$, onDrop: (f) => flow.release(f) }),
        flow.admit(),
        tap(() => inFlightSeen.push(flow.inFlight)),
        inferenceStage({ model: engine(options.engineMs, batches), onBusy: flow.engineBusy, onIdle: flow.engineIdle }),
        map((r) => r.frame),
        sink,
      )
      .subscribe({
        next: (f) => {
          flow.done(f);
          done.push(f);
        },
        error: reject,
        complete: () => resolve(done),
      });
  });
  return { flow, run, batches, inFlightSeen };
}

describe('CreditFlow', () => {
  it('returns every credit it was granted: each frame released and recycled once, none left in flight', async () => {
    const a = new FakeSource('a', 40, 8);
    const b = new FakeSource('b', 25, 8);
    const { flow, run } = loop({ sources: [a, b], maxBatchSize: 4, engineMs: 2, sinkMs: 0 });
    const done = await run;
    assert.equal(done.length, 65);
    for (const s of [a, b]) {
      assert.equal(s.released, s.total, `${s.id} released`);
      assert.equal(s.recycled, s.total, `${s.id} recycled`);
      assert.equal(s.out, 0, `${s.id} credits out at the end`);
    }
    assert.equal(flow.inFlight, 0);
    assert.ok(done.every((f) => f.full === undefined), 'pixels of the full picture are taken off a finished frame');
  });

  it('a slow consumer throttles the source: it pauses, and never has more frames out than its credits', async () => {
    const s = new FakeSource('replay', 30, 6);
    const { run } = loop({ sources: [s], maxBatchSize: 2, engineMs: 1, sinkMs: 8 });
    await run;
    assert.equal(s.maxOut, 6, 'the source used its credits, and no more');
    assert.ok(s.pauses >= 3, `the source paused for the sink, ${s.pauses} times`);
    assert.equal(s.released, 30);
  });

  it('live: never more frames in flight than the window, whatever the credits', async () => {
    const s = new FakeSource('live', 60, 1000, undefined, 2);
    const window = 3;
    const { flow, run, inFlightSeen } = loop({ sources: [s], live: true, maxBatchSize: 2, engineMs: 1, sinkMs: 5, maxInFlight: window });
    const done = await run;
    assert.ok(inFlightSeen.length > 0);
    assert.ok(Math.max(...inFlightSeen) <= window, `in flight at most ${window}, saw ${Math.max(...inFlightSeen)}`);
    assert.equal(flow.peakInFlight, Math.max(...inFlightSeen));
    assert.ok(flow.peakInFlight >= 2, 'the window was used');
    // Live drops what the window does not take: every frame's credit still comes back.
    assert.ok(done.length < 60, 'some frames were superseded');
    assert.equal(s.released, 60);
  });

  it('holds a batch while the engine is busy: capacity 0 between onBusy and onIdle', () => {
    const flow = new CreditFlow({ maxBatchSize: 4, portOf: () => ({ release() {}, recycle() {} }) });
    assert.equal(flow.capacity(), 4 * CREDIT_FLOW_DEFAULTS.inFlightBatches);
    let pokes = 0;
    flow.poke$.subscribe(() => pokes++);
    flow.engineBusy();
    assert.equal(flow.capacity(), 0);
    flow.engineIdle();
    assert.equal(pokes, 1, 'an idle engine pokes the batcher');
    assert.equal(flow.capacity(), 8);
  });

  it('replay-only: bound by the sources, the batcher may always fill a batch', () => {
    const flow = new CreditFlow({ maxBatchSize: 4, boundBySources: true, portOf: () => ({ release() {}, recycle() {} }) });
    flow.admit()(of({ frames: Array.from({ length: 12 }, () => ({}) as Frame), formedTs: 0 })).subscribe();
    assert.equal(flow.inFlight, 12);
    assert.equal(flow.capacity(), 4);
  });

  it('a frame that leaves early (stale, failed batch) frees room and is recycled', () => {
    let released = 0;
    let recycled = 0;
    const flow = new CreditFlow({ maxBatchSize: 2, portOf: () => ({ release: () => released++, recycle: () => recycled++ }) });
    const frames = [{}, {}, {}, {}].map((x) => x as Frame);
    flow.admit()(of({ frames, formedTs: 0 })).subscribe();
    assert.equal(flow.capacity(), 0, 'window of 4 full');
    flow.settle(frames[0]!);
    assert.equal(flow.capacity(), 1);
    assert.equal(recycled, 1);
    assert.equal(released, 0, 'settling leaves the credit to the caller (the picture may still go to viewers)');
    flow.release(frames[0]!);
    assert.equal(released, 1);
  });

  it('completion and errors pass through the loop: the run ends when the sources end, and fails with a source', async () => {
    const ok = new FakeSource('ok', 5, 4);
    assert.equal((await loop({ sources: [ok], maxBatchSize: 2, engineMs: 1, sinkMs: 0 }).run).length, 5);
    const bad = new FakeSource('bad', 50, 4, 7);
    await assert.rejects(loop({ sources: [bad], maxBatchSize: 2, engineMs: 1, sinkMs: 0 }).run, (e: unknown) => e instanceof SgusError && e.message.includes('source died'));
  });

  it('refuses a batch size or window below 1', () => {
    const portOf = (): CreditPort => ({ release() {}, recycle() {} });
    assert.throws(() => new CreditFlow({ maxBatchSize: 0, portOf }), /maxBatchSize/);
    assert.throws(() => new CreditFlow({ maxBatchSize: 2, maxInFlight: 0, portOf }), /maxInFlight/);
  });
});
