/**
 * The offline training tool (models/training, PyTorch) end to end: a tiny run on generated frames
 * exports an ONNX model and a card that the TypeScript runtime loads, and onnxruntime-node gives
 * the same logits as PyTorch on the same input.
 */
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { OnnxEngine } from '../../src/engine/onnx-engine.js';
import { loadCard } from '../../src/segmenter/model-card.js';
import type { LoadedCard } from '../../src/segmenter/model-card.js';
import { PACKAGE_ROOT } from '../../src/segmenter/model-registry.js';
import { createSegmenter } from '../../src/segmenter/segmenter.js';
import { syntheticFrame } from '../../src/synthetic/ultrasound-frame.js';

const PYTHON = process.env.SGUS_PYTHON ?? '/usr/bin/python3';

function torchAvailable(): boolean {
  return spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
}

interface Reference {
  input: { shape: number[]; data: number[] };
  logits: { shape: number[]; data: number[] };
  tolerance?: { abs?: number };
}

async function tinyRunMatchesPyTorch(t: TestContext, extra: string[]): Promise<LoadedCard> {
  const out = await mkdtemp(path.join(os.tmpdir(), 'sgus-tiny-'));
  const r = spawnSync(PYTHON, [path.join(PACKAGE_ROOT, 'models', 'training', 'train.py'), '--tiny', '--out', out, ...extra], { encoding: 'utf8', timeout: 280_000 });
  assert.equal(r.status, 0, `training failed:\n${r.stderr.slice(-2000)}`);

  const loaded = await loadCard(out);
  assert.equal(loaded.card.input.width, 224);
  assert.ok((loaded.card.parameters ?? 0) > 0, 'card counts parameters');
  assert.ok((loaded.card.flopsPerFrame ?? 0) > 0, 'card counts FLOPs');

  const ref = JSON.parse(await readFile(path.join(out, 'reference.json'), 'utf8')) as Reference;
  const engine = await OnnxEngine.create(loaded.modelPath, { threads: 1 });
  const res = await engine.run({ [loaded.card.input.name]: { data: Float32Array.from(ref.input.data), dims: ref.input.shape } }, loaded.card.output.name);
  await engine.dispose();
  assert.deepEqual([...res.dims], ref.logits.shape);
  let maxDiff = 0;
  for (let i = 0; i < res.data.length; i++) maxDiff = Math.max(maxDiff, Math.abs(res.data[i]! - ref.logits.data[i]!));
  t.diagnostic(`max |onnxruntime - PyTorch| = ${maxDiff.toExponential(2)} over ${res.data.length} logits`);
  assert.ok(maxDiff < (ref.tolerance?.abs ?? 1e-3), `max difference ${maxDiff}`);

  // The exported model also runs through the whole Segmenter (card normalisation, post-processing).
  const seg = await createSegmenter({ model: out, threads: 1 });
  const s = await seg.segment(syntheticFrame({ width: 200, height: 150 }).image);
  assert.equal(s.classMap.width, 200);
  await seg.close();
  return loaded;
}

test('a tiny training run exports an ONNX model whose onnxruntime output matches PyTorch', { timeout: 300_000 }, async (t) => {
  if (!torchAvailable()) {
    t.skip(`PyTorch not importable by ${PYTHON} (run scripts/setup.sh)`);
    return;
  }
  await tinyRunMatchesPyTorch(t, []);
});

test('a MobileNetV2 U-Net exported with flip averaging and one-region clean-up matches PyTorch and its card says both', { timeout: 300_000 }, async (t) => {
  if (!torchAvailable()) {
    t.skip(`PyTorch not importable by ${PYTHON} (run scripts/setup.sh)`);
    return;
  }
  // --tiny skips the ImageNet weights (no download in tests): this checks the graph, not accuracy.
  const loaded = await tinyRunMatchesPyTorch(t, ['--variant', 'mobilenet-v2', '--flip-average', '--single-region']);
  assert.match(loaded.card.variant ?? '', /MobileNetV2 encoder.*flip averaging/);
  assert.equal(loaded.card.output.singleRegion, true);
});
