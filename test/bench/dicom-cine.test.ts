/** The DICOM cine-loop bench on a short synthetic clip (runs dist/: build first). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runDicomCineBench } from '../../src/bench/dicom-cine.js';
import { clip } from '../helpers/pipeline.js';

test('dicom-cine bench: a 60-frame JPEG cine loop and its MP4 both replay every frame, timed, with the ratio of their times', async () => {
  // 40 frames of clip, looped to 60: the bench loops a shorter exam.
  const video = await clip({ seconds: 1.6 });
  const lines: string[] = [];
  const r = await runDicomCineBench({ video, frames: 60, model: 'unet-m-synth', onProgress: (l) => lines.push(l) });
  assert.equal(r.frames, 60);
  assert.equal(r.size, '160x120');
  assert.deepEqual(r.ndjsonLines, { dicom: 60, mp4: 60 }, 'both replays write one NDJSON line per frame');
  assert.ok(r.dicomSeconds > 0 && r.mp4Seconds > 0);
  assert.equal(r.ratio, Math.round((r.dicomSeconds / r.mp4Seconds) * 1000) / 1000);
  assert.ok(r.dicomBytes > 0 && r.mp4Bytes > 0);
  assert.ok(lines.some((l) => /replaying the DICOM file/.test(l)), 'progress is reported');
});

test('dicom-cine bench refuses a frame count below 1 in one line', async () => {
  await assert.rejects(runDicomCineBench({ video: 'x.mp4', frames: 0 }), /frames must be an integer >= 1, got 0/);
});
