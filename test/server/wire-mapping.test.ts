import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FrameResult, StreamInfo } from '../../src/pipeline/frame.js';
import { frameHeader } from '../../src/server/wire-mapping.js';
import { fakeFrame } from '../helpers/pipeline.js';

const stream: StreamInfo = { id: 's', title: 's', kind: 'replay', width: 8, height: 8, fps: 25, codec: 'jpeg' };

function result(score?: FrameResult['score']): FrameResult {
  return { frame: fakeFrame('s', 3), contours: [], area: 10, batchSize: 1, timings: { decode: 0, queue: 0, inference: 0, postprocess: 0, send: 0 }, doneTs: 0, ...(score !== undefined ? { score } : {}) };
}

test('the frame header carries the score (grades, rounded confidences, label, validation figures) only when scored', () => {
  const validation = { method: 'leave-one-centre-out' as const, omeractKappa: 0.69, deVitaKappa: 0.68, publishedModelKappa: 0.7, cliniciansKappa: 0.67, intraReaderKappa: 0.71 };
  const r = result({
    omeract: { grade: 3, confidence: 0.876543, probabilities: [0.05, 0.03, 0.043457, 0.876543] },
    deVita: { grade: 0, confidence: 0.4, probabilities: [0.4, 0.3, 0.2, 0.1] },
    label: 'research aid, not a diagnosis',
    validation,
  });
  const h = frameHeader(r.frame, undefined, r, stream);
  assert.deepEqual(h.score, { omeract: { grade: 3, confidence: 0.877 }, deVita: { grade: 0, confidence: 0.4 }, label: 'research aid, not a diagnosis', validation });
  assert.equal('score' in frameHeader(r.frame, undefined, result(), stream), false);
  assert.equal('score' in frameHeader(r.frame, undefined, undefined, stream), false);
});
