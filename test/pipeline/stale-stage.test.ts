import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { from, lastValueFrom, toArray } from 'rxjs';
import type { FrameResult } from '../../src/pipeline/frame.js';
import { staleStage } from '../../src/pipeline/stale-stage.js';
import { fakeFrame } from '../helpers/pipeline.js';

const result = (streamId: string, index: number, ageMs: number): FrameResult => ({
  frame: fakeFrame(streamId, index, performance.timeOrigin + performance.now() - ageMs),
  contours: [],
  area: 0,
  batchSize: 1,
  timings: { decode: 0, queue: 0, inference: 0, postprocess: 0, send: 0 },
  doneTs: 0,
});

describe('staleStage', () => {
  it('drops live frames older than max-age (reporting each), never replay frames', async () => {
    const dropped: number[] = [];
    const out = await lastValueFrom(
      from([result('cam', 0, 100), result('cam', 1, 5000), result('file', 2, 5000), result('cam', 3, 900)]).pipe(
        staleStage({ maxAgeMs: 1000, isLive: (id) => id === 'cam', onDrop: (r, age) => dropped.push(r.frame.index) && assert.ok(age > 1000) }),
        toArray(),
      ),
    );
    assert.deepEqual(out.map((r) => r.frame.index), [0, 2, 3]);
    assert.deepEqual(dropped, [1]);
  });

  it('refuses a max-age that is not positive', () => {
    assert.throws(() => staleStage({ maxAgeMs: 0, isLive: () => true }), /maxAgeMs must be > 0/);
  });
});
