import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { from, lastValueFrom, toArray } from 'rxjs';
import type { FloatMap, RgbImage } from '../../src/core/image.js';
import { ErrorCode, SgusError } from '../../src/errors.js';
import { inferenceStage } from '../../src/pipeline/inference-stage.js';
import type { Batch } from '../../src/pipeline/stage-types.js';
import { fakeFrame } from '../helpers/pipeline.js';

const batches = (n: number): Batch[] => Array.from({ length: n }, (_, b) => ({ frames: [fakeFrame('a', 2 * b), fakeFrame('a', 2 * b + 1)], formedTs: 0 }));

/** A model that throws `error` on its `failOn`-th call (1-based) and answers every other call. */
function modelFailingOn(failOn: number, error: unknown): { probabilities(images: readonly RgbImage[]): Promise<FloatMap[]> } {
  let calls = 0;
  return {
    probabilities: (images) => {
      if (++calls === failOn) return Promise.reject(error);
      return Promise.resolve(images.map((i) => ({ width: i.width, height: i.height, data: new Float32Array(i.width * i.height) })));
    },
  };
}

describe('inferenceStage', () => {
  it('a non-fatal SgusError drops that batch only: it goes to onBatchFailed, the engine is idle again, the other batches come out', async () => {
    const error = new SgusError(ErrorCode.EngineFailure, 'inference failed: out of memory', { fatal: false });
    const failed: { indexes: number[]; error: SgusError }[] = [];
    let idle = 0;
    const out = await lastValueFrom(
      from(batches(3)).pipe(
        inferenceStage({ model: modelFailingOn(2, error), onBatchFailed: (b, e) => failed.push({ indexes: b.frames.map((f) => f.index), error: e }), onIdle: () => idle++ }),
        toArray(),
      ),
    );
    assert.deepEqual(out.map((r) => r.frame.index), [0, 1, 4, 5]);
    assert.deepEqual(failed, [{ indexes: [2, 3], error }]);
    assert.equal(idle, 3);
  });

  it('a fatal SgusError ends the stage with that error', async () => {
    const error = new SgusError(ErrorCode.EngineFailure, 'inference failed: device lost');
    let failedCalls = 0;
    await assert.rejects(lastValueFrom(from(batches(3)).pipe(inferenceStage({ model: modelFailingOn(2, error), onBatchFailed: () => failedCalls++ }), toArray())), (e) => e === error);
    assert.equal(failedCalls, 0);
  });

  it('a plain Error is fatal, wrapped as an engine failure', async () => {
    await assert.rejects(
      lastValueFrom(from(batches(2)).pipe(inferenceStage({ model: modelFailingOn(1, new Error('boom')), onBatchFailed: () => assert.fail('not recoverable') }), toArray())),
      (e) => e instanceof SgusError && e.code === ErrorCode.EngineFailure && e.fatal && /inference failed: boom/.test(e.message),
    );
  });
});
