import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { lastValueFrom, of, toArray } from 'rxjs';
import type { FrameResult } from '../../src/pipeline/frame.js';
import { ndjsonSink } from '../../src/pipeline/ndjson-sink.js';
import { fakeFrame, TMP } from '../helpers/pipeline.js';

function result(index: number, score?: FrameResult['score']): FrameResult {
  return {
    frame: fakeFrame('s', index),
    contours: [{ hole: false, parent: -1, points: [[1, 1], [5, 1], [5, 5], [1, 5]] }],
    area: 16,
    batchSize: 1,
    timings: { decode: 0, queue: 0, inference: 1, postprocess: 1, send: 0 },
    doneTs: 0,
    ...(score !== undefined ? { score } : {}),
  };
}

describe('ndjsonSink', () => {
  it('writes the score of a scored frame (grade, confidence, research-aid label) and none for an unscored one', async () => {
    const file = path.join(TMP, 'ndjson-score', 'out.ndjson');
    const score = {
      omeract: { grade: 2, confidence: 0.612345, probabilities: [0.1, 0.2, 0.612345, 0.087655] },
      deVita: { grade: 1, confidence: 0.5, probabilities: [0.25, 0.5, 0.25, 0] },
      label: 'research aid, not a diagnosis' as const,
    };
    await lastValueFrom(of(result(0, score), result(1)).pipe(ndjsonSink({ path: file }), toArray()));
    const lines = (await readFile(file, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(lines.length, 2);
    assert.deepEqual(lines[0]!.score, { omeract: { grade: 2, confidence: 0.6123 }, deVita: { grade: 1, confidence: 0.5 }, label: 'research aid, not a diagnosis' });
    assert.equal('score' in lines[1]!, false);
  });
});
