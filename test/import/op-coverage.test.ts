/**
 * The op table (`src/import/ops/`), checked end to end: the imported ONNX model (ONNX Runtime)
 * against TensorFlow.js running the same TF ops with TF's own semantics (resize modes, padding,
 * depthwise and dilated convolutions…), the ops that must fold away against a plain relu, and the
 * table itself: an op added to it without a graph here that uses it fails.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createEngine } from '../../src/engine/engine-factory.js';
import ort from 'onnxruntime-node';
import { convertFrozenGraph, importFrozen, parseFrozenGraph } from '../../src/import/import-frozen.js';
import type { ImportResult } from '../../src/import/import-frozen.js';
import { KEPT_OPS, OP_TABLE } from '../../src/import/ops/index.js';
import { deepSgusLikeGraph, randomArray } from '../helpers/tf-graph-builder.js';
import { elementwiseZooGraph, foldZooGraph, opZooGraph } from './op-graphs.js';
import { hasTfjs } from './tfjs-available.js';

/** Imports a graph x → out; a vector of every op's results, not a segmentation output: imported for the comparison only. */
async function importForComparison(dir: string, name: string, bytes: Uint8Array): Promise<ImportResult> {
  const file = path.join(dir, `${name}.pb`);
  await writeFile(file, bytes);
  const r = await importFrozen(file, { modelsDir: dir, name, input: 'x', output: 'out', requireSegmentation: false });
  assert.equal(r.tfjsModel, 'tfjs/model.json', r.notes.join('; '));
  return r;
}

interface EngineDiff {
  dims: readonly number[];
  /** Largest |onnx - tfjs|, divided by max(1, |tfjs|) when relative. */
  max: number;
  /** Where it is (flat index). */
  worst: number;
  /** The ONNX Runtime output. */
  onnx: Float32Array;
}

/** Runs an imported model in ONNX Runtime and in TF.js (WASM) on the same input `x` and compares output `out`. */
async function compareEngines(modelDir: string, input: { data: Float32Array; dims: number[] }, relative: boolean): Promise<EngineDiff> {
  const onnx = await createEngine(path.join(modelDir, 'model.onnx'), { threads: 1 });
  const tfjs = await createEngine(path.join(modelDir, 'model.onnx'), { engine: 'tfjs', device: 'wasm', threads: 1 });
  try {
    const a = await onnx.run({ x: input }, 'out');
    const b = await tfjs.run({ x: input }, 'out');
    assert.deepEqual(a.dims, b.dims);
    let max = 0;
    let worst = -1;
    for (let i = 0; i < a.data.length; i++) {
      const diff = Math.abs(a.data[i]! - b.data[i]!) / (relative ? Math.max(1, Math.abs(b.data[i]!)) : 1);
      // A NaN on either side (even on both) is a failure: the graphs are built to stay finite.
      const d = Number.isNaN(diff) ? Infinity : diff;
      if (d > max) {
        max = d;
        worst = i;
      }
    }
    return { dims: a.dims, max, worst, onnx: a.data as Float32Array };
  } finally {
    await onnx.dispose();
    await tfjs.dispose();
  }
}

describe('op coverage: ONNX Runtime vs TensorFlow.js on the same imported graph', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'sgus-ops-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('depthwise, dilated and strided convs, resizes, pads, reductions, matmul and softmax agree within 1e-4', async (t) => {
    if (!(await hasTfjs())) return t.skip('@tensorflow/tfjs-core not installed');
    const r = await importForComparison(dir, 'zoo', opZooGraph().bytes);
    const { dims, max, worst, onnx } = await compareEngines(r.modelDir, { data: randomArray(2 * 12 * 12 * 3, 9, 2), dims: [2, 12, 12, 3] }, false);
    const width = dims[1]!;
    assert.equal(width, 924 + 5 + 256 + 32 + 4 + 864 + 220 + 231 + 105 + 256);
    assert.ok(max < 1e-4, `max abs diff ${max} at column ${worst % width}`);
    process.stdout.write(`# ONNX vs TF.js max abs diff ${max.toExponential(2)}; ONNX ops ${JSON.stringify(r.onnx.opCounts)}; sample ${Array.from(onnx.subarray(925, 930), (v) => v.toFixed(4)).join(' ')}\n`);
  });
});

describe('op coverage: the op table', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'sgus-optable-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('every op in the table is used by a graph these tests import, every kept op by one checked against TF.js or a reference', () => {
    const checked = new Set([...opZooGraph().ops, ...elementwiseZooGraph().ops, ...deepSgusLikeGraph(16, 1).graph.nodes.map((n) => n.op)]);
    const folded = new Set(foldZooGraph().ops);
    const unused = [...OP_TABLE.keys()].filter((op) => !checked.has(op) && !folded.has(op));
    assert.deepEqual(unused, [], `ops in src/import/ops/ that no graph in test/import/op-graphs.ts uses: ${unused.join(', ')}`);
    const unchecked = [...KEPT_OPS].filter((op) => !checked.has(op));
    assert.deepEqual(unchecked, [], `kept ops whose ONNX output no test compares: ${unchecked.join(', ')}`);
  });

  test('the ops that fold away leave relu(x) flattened, and nothing of themselves', async () => {
    const zoo = foldZooGraph();
    const c = convertFrozenGraph(parseFrozenGraph(zoo.bytes, 'fold-zoo.pb'), { input: 'x', output: 'out' });
    assert.deepEqual(c.feeds, { TRAINING: false, keep_prob: 1 });
    assert.deepEqual([...new Set(c.folded.nodes.map((n) => n.op))].sort(), ['Const', 'Placeholder', 'Relu', 'Reshape']);
    assert.deepEqual(c.output.shape, [null, 48]);
    const x = randomArray(2 * 48, 21);
    const s = await ort.InferenceSession.create(c.onnx.bytes, { intraOpNumThreads: 1 });
    try {
      const r = await s.run({ x: new ort.Tensor('float32', x, [2, 4, 4, 3]) });
      assert.deepEqual(r.out!.dims, [2, 48]);
      assert.deepEqual(Array.from(r.out!.data as Float32Array), Array.from(x, (v) => Math.max(0, v)));
    } finally {
      await s.release();
    }
  });

  test('every one- and two-input op, batch norm without a convolution, AvgPool, PadV2, Min and a transposed conv agree with TF.js within 1e-4', async (t) => {
    if (!(await hasTfjs())) return t.skip('@tensorflow/tfjs-core not installed');
    const zoo = elementwiseZooGraph();
    const r = await importForComparison(dir, 'elementwise', zoo.bytes);
    const { dims, max, worst } = await compareEngines(r.modelDir, { data: randomArray(2 * 6 * 6 * 3, 22, 2), dims: [2, 6, 6, 3] }, true);
    assert.deepEqual(dims, [2, zoo.width]);
    assert.ok(max < 1e-4, `max relative diff ${max} at column ${worst % zoo.width}`);
    process.stdout.write(`# elementwise zoo: ONNX vs TF.js max relative diff ${max.toExponential(2)}; ONNX ops ${JSON.stringify(r.onnx.opCounts)}\n`);
  });
});
