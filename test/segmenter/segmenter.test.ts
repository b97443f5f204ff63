import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createSegmenter } from '../../src/segmenter/segmenter.js';
import type { Segmenter } from '../../src/segmenter/segmenter.js';
import { syntheticFrame } from '../../src/synthetic/ultrasound-frame.js';
import { resizeRgb } from '../../src/core/resize.js';
import { isSgusError } from '../../src/errors.js';
import { OnnxEngine } from '../../src/engine/onnx-engine.js';
import { testModelSpec } from '../helpers/test-model.js';

let seg: Segmenter;
before(async () => {
  seg = await createSegmenter({ model: testModelSpec(), threads: 1 });
});
after(async () => {
  await seg.close();
});

test('outputs are at the input size: class map of 0/1, contours inside the image, area = class map count', async () => {
  const f = syntheticFrame({ width: 400, height: 300, seed: 3 });
  const s = await seg.segment(f.image);
  assert.equal(s.width, 400);
  assert.equal(s.height, 300);
  assert.equal(s.classMap.data.length, 400 * 300);
  assert.ok(s.classMap.data.every((v) => v === 0 || v === 1));
  let count = 0;
  for (const v of s.classMap.data) count += v;
  assert.equal(s.area, count);
  for (const c of s.contours) for (const [x, y] of c.points) assert.ok(x >= 0 && x < 400 && y >= 0 && y < 300);
  // Every outer contour point lies on a gland pixel.
  for (const c of s.contours.filter((c) => !c.hole)) for (const [x, y] of c.points) assert.equal(s.classMap.data[y * 400 + x], 1);
});

test('a batch gives the same segmentations as one image at a time', async () => {
  const frames = [1, 2, 3].map((seed) => syntheticFrame({ width: 256, height: 192, seed }).image);
  const batch = await seg.segmentBatch(frames);
  for (let k = 0; k < frames.length; k++) {
    const one = await seg.segment(frames[k]!);
    let diff = 0;
    for (let i = 0; i < one.classMap.data.length; i++) if (one.classMap.data[i] !== batch[k]!.classMap.data[i]) diff++;
    // Batched kernels may round differently at the threshold: allow a handful of pixels.
    assert.ok(diff <= 0.001 * one.classMap.data.length, `frame ${k}: ${diff} pixels differ`);
  }
});

test('a frame pre-scaled to the model input segments into the target size given', async () => {
  const f = syntheticFrame({ width: 640, height: 480, seed: 5 });
  const small = resizeRgb(f.image, seg.card.input.width, seg.card.input.height);
  const s = await seg.segment(small, { width: 640, height: 480 });
  assert.equal(s.classMap.width, 640);
  assert.equal(s.classMap.height, 480);
  const direct = await seg.segment(f.image);
  let same = 0;
  for (let i = 0; i < s.classMap.data.length; i++) if (s.classMap.data[i] === direct.classMap.data[i]) same++;
  assert.ok(same / s.classMap.data.length > 0.98);
});

test('grey (replicated channel) and tiny 1x1 inputs segment without error', async () => {
  const s = await seg.segment({ width: 1, height: 1, data: Uint8Array.from([50, 50, 50]) });
  assert.equal(s.classMap.data.length, 1);
});

test('closing twice is safe and a closed segmenter says so', async () => {
  const s2 = await createSegmenter({ model: testModelSpec(), threads: 1 });
  await s2.close();
  await s2.close();
  await assert.rejects(s2.segment(syntheticFrame({ width: 32, height: 32 }).image), (e: unknown) => isSgusError(e) && /closed/.test(e.message));
});

test('an unknown model name is refused with the list of shipped models', async () => {
  await assert.rejects(createSegmenter({ model: 'no-such-model' }), /unknown model 'no-such-model' \(shipped: /);
});

test('an unavailable device is refused with the install hint, or falls back when asked', async () => {
  await assert.rejects(createSegmenter({ model: testModelSpec(), device: 'cuda' }), /no 'cuda' execution provider/);
  const s = await createSegmenter({ model: testModelSpec(), device: 'cuda', fallbackToCpu: true, threads: 1 });
  assert.equal(s.engineInfo.device, 'cpu');
  assert.match(s.engineInfo.reason, /requested cuda/);
  await s.close();
});

/**
 * Records the batch size of every engine call while `body` runs. The segmenter makes its engine
 * itself (no injection point), so the recording wraps the ONNX engine's `run` for the duration.
 */
async function recordingEngineRuns<T>(inputName: string, body: () => Promise<T>): Promise<{ result: T; framesPerRun: number[] }> {
  const framesPerRun: number[] = [];
  const original = OnnxEngine.prototype.run;
  OnnxEngine.prototype.run = function (this: OnnxEngine, feeds, outputName) {
    framesPerRun.push(feeds[inputName]?.dims[0] ?? -1);
    return original.call(this, feeds, outputName);
  };
  try {
    return { result: await body(), framesPerRun };
  } finally {
    OnnxEngine.prototype.run = original;
  }
}

test('a card with maxBatch 1 gets a batch in single-frame engine calls, with the same results', async () => {
  const { mkdtemp, readFile, writeFile, copyFile, rm } = await import('node:fs/promises');
  const os = await import('node:os');
  const path = await import('node:path');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sgus-maxbatch-'));
  const card = JSON.parse(await readFile(path.join(path.dirname(seg.modelPath), 'card.json'), 'utf8')) as { input: Record<string, unknown>; file: string };
  card.input.maxBatch = 1;
  await copyFile(seg.modelPath, path.join(dir, card.file));
  await writeFile(path.join(dir, 'card.json'), JSON.stringify(card));
  const one = await createSegmenter({ model: dir, threads: 1 });
  try {
    assert.equal(one.engineInfo.engine, 'onnxruntime', 'the recording wraps the ONNX Runtime engine');
    const frames = [7, 8, 9].map((seed) => syntheticFrame({ width: 128, height: 96, seed }).image);
    const single = await recordingEngineRuns(one.card.input.name, () => one.segmentBatch(frames));
    const whole = await recordingEngineRuns(seg.card.input.name, () => seg.segmentBatch(frames));
    // The card's limit splits the batch into one engine call per frame; without one it is one call.
    assert.deepEqual(single.framesPerRun, [1, 1, 1]);
    const limit = seg.card.input.maxBatch ?? frames.length;
    assert.deepEqual(whole.framesPerRun, limit >= 3 ? [3] : limit === 2 ? [2, 1] : [1, 1, 1]);
    const a = single.result;
    const b = whole.result;
    assert.equal(a.length, 3);
    for (let k = 0; k < 3; k++) assert.ok(Math.abs(a[k]!.area - b[k]!.area) <= 0.001 * 128 * 96, `frame ${k}`);
  } finally {
    await one.close();
    await rm(dir, { recursive: true, force: true });
  }
});
