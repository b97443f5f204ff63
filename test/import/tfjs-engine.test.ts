import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isSgusError } from '../../src/errors.js';
import { createEngine } from '../../src/engine/engine-factory.js';
import { importFrozen } from '../../src/import/import-frozen.js';
import { createSegmenter } from '../../src/segmenter/segmenter.js';
import { syntheticFrame } from '../../src/synthetic/ultrasound-frame.js';
import { deepSgusLikeGraph, randomArray } from '../helpers/tf-graph-builder.js';
import { hasTfjs } from './tfjs-available.js';

describe('TF.js engine on an imported frozen graph', () => {
  let dir = '';
  const net = deepSgusLikeGraph(32, 7);
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'sgus-tfjs-'));
    const file = path.join(dir, 'frozen_graph.pb');
    await writeFile(file, net.bytes);
    await importFrozen(file, { modelsDir: dir, name: 'logits', output: 'inference/logits' });
    await importFrozen(file, { modelsDir: dir, name: 'classes' });
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('runs the logits within 1e-4 of the reference, batch 2 on a batch-1 graph', async (t) => {
    if (!(await hasTfjs())) return t.skip('@tensorflow/tfjs-core not installed');
    const engine = await createEngine(path.join(dir, 'logits', 'model.onnx'), { engine: 'tfjs', device: 'wasm', threads: 1 });
    try {
      assert.equal(engine.info.engine, 'tfjs');
      assert.deepEqual(engine.inputNames, ['input_image']);
      assert.deepEqual(engine.outputNames, ['inference/logits']);
      const input = Float32Array.from(randomArray(2 * 32 * 32 * 3, 3), (v) => Math.round((v + 1) * 127.5));
      const out = await engine.run({ input_image: { data: input, dims: [2, 32, 32, 3] } }, 'inference/logits');
      assert.deepEqual(out.dims, [2, 32, 32, 2]);
      const ref = net.reference(input, 2);
      let max = 0;
      for (let i = 0; i < out.data.length; i++) max = Math.max(max, Math.abs(out.data[i]! - ref.logits.data[i]!));
      assert.ok(max < 1e-4, `max abs diff ${max}`);
    } finally {
      await engine.dispose();
      await engine.dispose();
    }
  });

  test('the Segmenter with engine tfjs gives the same class map as with onnxruntime', async (t) => {
    if (!(await hasTfjs())) return t.skip('@tensorflow/tfjs-core not installed');
    const frame = syntheticFrame({ width: 32, height: 32, seed: 8 }).image;
    const a = await createSegmenter({ model: path.join(dir, 'classes'), engine: 'tfjs', device: 'wasm', threads: 1 });
    const b = await createSegmenter({ model: path.join(dir, 'classes'), threads: 1 });
    try {
      assert.match(a.engineInfo.reason, /tfjs .*wasm/);
      const [pa] = await a.probabilities([frame]);
      const [pb] = await b.probabilities([frame]);
      assert.deepEqual(Array.from(pa!.data), Array.from(pb!.data));
    } finally {
      await a.close();
      await b.close();
    }
  });

  test('a model without a TF.js graph gets a clear error', async () => {
    await rm(path.join(dir, 'classes', 'tfjs'), { recursive: true, force: true });
    await assert.rejects(createEngine(path.join(dir, 'classes', 'model.onnx'), { engine: 'tfjs', device: 'wasm' }), (err: unknown) => {
      assert.ok(isSgusError(err, 'model-invalid'));
      assert.match(err.message, /no TF\.js graph model.*import-frozen/);
      return true;
    });
  });

  test('--device cuda is refused by the TF.js engine', async () => {
    await assert.rejects(createEngine(path.join(dir, 'logits', 'model.onnx'), { engine: 'tfjs', device: 'cuda' }), /supports devices cpu, gpu .* and wasm/);
  });
});
