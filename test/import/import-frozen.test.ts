import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import ort from 'onnxruntime-node';
import { isSgusError } from '../../src/errors.js';
import { createEngine } from '../../src/engine/engine-factory.js';
import { foldGraph } from '../../src/import/graph-fold.js';
import { convertFrozenGraph, importFrozen, parseFrozenGraph, summarizeGraph } from '../../src/import/import-frozen.js';
import { TfDType, decodeGraphDef } from '../../src/import/tf-graphdef.js';
import { createSegmenter } from '../../src/segmenter/segmenter.js';
import { syntheticFrame } from '../../src/synthetic/ultrasound-frame.js';
import { FROZEN_GRAPHS_DIR } from '../helpers/data.js';
import { GraphBuilder, T_FLOAT, deepSgusLikeGraph, randomArray } from '../helpers/tf-graph-builder.js';

const REAL_GRAPH = path.join(FROZEN_GRAPHS_DIR, 'small-cnn-classifier.frozen.pb');

async function runOnnx(bytes: Uint8Array, feeds: Record<string, { data: Float32Array; dims: number[] }>, output: string): Promise<ort.Tensor> {
  const s = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
  const f: Record<string, ort.Tensor> = {};
  for (const [k, v] of Object.entries(feeds)) f[k] = new ort.Tensor('float32', v.data, v.dims);
  const r = await s.run(f);
  await s.release();
  const t = r[output];
  assert.ok(t, `model has output ${output} (has ${Object.keys(r).join(', ')})`);
  return t;
}

function imageBatch(n: number, size: number, seed: number): Float32Array {
  return Float32Array.from(randomArray(n * size * size * 3, seed), (v) => Math.round((v + 1) * 127.5));
}

describe('import of a DeepSGUS-shaped frozen graph', () => {
  const net = deepSgusLikeGraph(32, 7);
  const input = imageBatch(2, 32, 3);
  const ref = net.reference(input, 2);

  test('finds the DeepSGUS signature and fixes TRAINING=False and keep_probabilty=1.0', () => {
    const s = summarizeGraph(decodeGraphDef(net.bytes));
    const names = s.placeholders.map((p) => `${p.name}=${String(p.fixed)}`);
    assert.deepEqual(names, ['input_image=undefined', 'keep_probabilty=1', 'TRAINING=false']);
    assert.deepEqual(s.outputs.map((o) => o.name), ['inference/prediction:0']);
  });

  test('folding removes the tf.cond (Switch/Merge), the training batch norm and the dropout', () => {
    const folded = foldGraph(decodeGraphDef(net.bytes), { outputs: ['inference/prediction:0'], feeds: { keep_probabilty: 1, TRAINING: false } });
    const ops = new Set(folded.nodes.map((n) => n.op));
    for (const gone of ['Switch', 'Merge', 'RandomUniform', 'Floor', 'Shape', 'StridedSlice', 'Pack', 'Identity']) assert.ok(!ops.has(gone), `${gone} folded away`);
    assert.deepEqual(folded.nodes.filter((n) => n.name.startsWith('dropout/')).map((n) => n.name), [], 'dropout folded away');
    const bns = folded.nodes.filter((n) => n.op === 'FusedBatchNormV3');
    assert.equal(bns.length, 1);
    assert.equal(bns[0]!.attr.is_training?.b, false);
    assert.deepEqual(folded.inputs.map((i) => i.name), ['input_image']);
    assert.deepEqual(folded.inputs[0]!.shape, [null, 32, 32, 3]);
  });

  test('the logits before ArgMax match a reference implementation within 1e-4 (batch 2)', async () => {
    const c = convertFrozenGraph(parseFrozenGraph(net.bytes, 'test.pb'), { output: 'inference/logits' });
    assert.equal(c.output.kind, 'logits');
    const out = await runOnnx(c.onnx.bytes, { input_image: { data: input, dims: [2, 32, 32, 3] } }, 'inference/logits');
    assert.deepEqual(out.dims, [2, 32, 32, 2]);
    let max = 0;
    const data = out.data as Float32Array;
    for (let i = 0; i < data.length; i++) max = Math.max(max, Math.abs(data[i]! - ref.logits.data[i]!));
    assert.ok(max < 1e-4, `max abs diff ${max}`);
    process.stdout.write(`# max abs diff vs reference: ${max.toExponential(2)}\n`);
  });

  test('the class map (ArgMax output, kind classes) equals the reference exactly', async () => {
    const c = convertFrozenGraph(parseFrozenGraph(net.bytes, 'test.pb'));
    assert.equal(c.output.kind, 'classes');
    assert.equal(c.output.onnxName, 'inference/prediction');
    const out = await runOnnx(c.onnx.bytes, { input_image: { data: input, dims: [2, 32, 32, 3] } }, 'inference/prediction');
    assert.deepEqual(out.dims, [2, 32, 32]);
    const classes = Array.from(out.data as BigInt64Array, Number);
    assert.deepEqual(classes, Array.from(ref.classes));
    assert.ok(classes.includes(0) && classes.includes(1), 'both classes occur');
  });

  test('batch norm and biases are folded into the convolutions (no transposes between them)', () => {
    const c = convertFrozenGraph(parseFrozenGraph(net.bytes, 'test.pb'));
    const ops = c.onnx.opCounts;
    assert.equal(ops.Conv, 3);
    assert.equal(ops.ConvTranspose, 1);
    assert.equal(ops.Mul ?? 0, 0, 'batch-norm scale folded');
    assert.equal(ops.Add ?? 0, 0, 'biases folded');
    assert.equal(ops.Transpose, 1, 'one transpose: the NHWC input');
    // 3·3·3·8+8 + 3·3·8·16+16 + 3·3·8·16+8 + 24·2+2
    assert.equal(c.onnx.parameters, 224 + 1168 + 1160 + 50);
  });
});

describe('import variants', () => {
  test('an image placeholder of unknown size and uint8 dtype is fixed to --size and fed floats', async () => {
    const net = deepSgusLikeGraph(32, 4, { inputShape: [-1, -1, -1, 3], uint8Input: true });
    const c = convertFrozenGraph(parseFrozenGraph(net.bytes, 'x.pb'), { output: 'inference/logits', size: 32 });
    assert.deepEqual(c.input.shape, [null, 32, 32, 3]);
    const input = imageBatch(1, 32, 8);
    const out = await runOnnx(c.onnx.bytes, { input_image: { data: input, dims: [1, 32, 32, 3] } }, 'inference/logits');
    const ref = net.reference(input, 1);
    let max = 0;
    for (let i = 0; i < ref.logits.data.length; i++) max = Math.max(max, Math.abs((out.data as Float32Array)[i]! - ref.logits.data[i]!));
    assert.ok(max < 1e-4, `max abs diff ${max}`);
  });

  test('TF 1.14 dropout (x * 1/keep * cast(U >= 1 - keep)) folds away at keep 1.0', () => {
    const b = new GraphBuilder();
    const T = T_FLOAT;
    b.placeholder('input_image', TfDType.float, [-1, 4, 4, 3]);
    b.placeholder('keep_prob', TfDType.float, []);
    b.add('relu', 'Relu', ['input_image'], { T });
    b.const('one', [], [1]);
    b.add('dropout/sub', 'Sub', ['one', 'keep_prob'], { T });
    b.add('dropout/Shape', 'Shape', ['relu'], { T, out_type: { type: TfDType.int32 } });
    b.add('dropout/random_uniform/RandomUniform', 'RandomUniform', ['dropout/Shape'], { T: { type: TfDType.int32 }, dtype: T });
    b.add('dropout/sub_1', 'Sub', ['one', 'dropout/sub'], { T });
    b.add('dropout/truediv', 'RealDiv', ['one', 'dropout/sub_1'], { T });
    b.add('dropout/GreaterEqual', 'GreaterEqual', ['dropout/random_uniform/RandomUniform', 'dropout/sub'], { T });
    b.add('dropout/mul', 'Mul', ['relu', 'dropout/truediv'], { T });
    b.add('dropout/Cast', 'Cast', ['dropout/GreaterEqual'], { SrcT: { type: TfDType.bool }, DstT: T });
    b.add('dropout/mul_1', 'Mul', ['dropout/mul', 'dropout/Cast'], { T });
    b.add('out', 'Sigmoid', ['dropout/mul_1'], { T });
    const c = convertFrozenGraph(b.graph());
    assert.deepEqual(c.feeds, { keep_prob: 1 });
    assert.deepEqual(c.folded.nodes.map((n) => n.op), ['Placeholder', 'Relu', 'Sigmoid']);
    assert.equal(c.output.kind, 'logits');
  });

  test('shape asserts, prints, a Prod-of-shape flatten, ZerosLike and a Select on TRAINING fold away', async () => {
    const b = new GraphBuilder();
    const T = T_FLOAT;
    const I32 = { type: TfDType.int32 };
    b.placeholder('input_image', TfDType.float, [-1, 4, 4, 3]);
    b.placeholder('TRAINING', TfDType.bool, []);
    b.add('relu', 'Relu', ['input_image'], { T });
    b.add('shape', 'Shape', ['relu'], { T, out_type: I32 });
    b.const('expected', [3], [4, 4, 3], TfDType.int32);
    b.const('b1', [1], [1], TfDType.int32);
    b.const('b4', [1], [4], TfDType.int32);
    b.const('s1', [1], [1], TfDType.int32);
    b.add('hw3', 'StridedSlice', ['shape', 'b1', 'b4', 's1'], { T: I32, Index: I32, begin_mask: { i: 0 }, end_mask: { i: 0 }, shrink_axis_mask: { i: 0 }, ellipsis_mask: { i: 0 }, new_axis_mask: { i: 0 } });
    b.add('eq', 'Equal', ['hw3', 'expected'], { T: I32 });
    b.const('axes0', [1], [0], TfDType.int32);
    b.add('all', 'All', ['eq', 'axes0'], { keep_dims: { b: false }, Tidx: I32 });
    b.add('assert', 'Assert', ['all', 'relu'], { T: { list: { s: [], i: [], f: [], b: [], type: [1], shape: [], tensor: [] } }, summarize: { i: 3 } });
    b.add('checked', 'Identity', ['relu', '^assert'], { T });
    b.add('printed', 'Print', ['checked', 'checked'], { T, U: { list: { s: [], i: [], f: [], b: [], type: [1], shape: [], tensor: [] } } });
    b.add('zeros', 'ZerosLike', ['printed'], { T });
    b.add('plus0', 'AddV2', ['printed', 'zeros'], { T });
    b.add('sel', 'Select', ['TRAINING', 'input_image', 'plus0'], { T });
    b.const('b0', [1], [0], TfDType.int32);
    b.add('n', 'StridedSlice', ['shape', 'b0', 'b1', 's1'], { T: I32, Index: I32, begin_mask: { i: 0 }, end_mask: { i: 0 }, shrink_axis_mask: { i: 1 }, ellipsis_mask: { i: 0 }, new_axis_mask: { i: 0 } });
    b.add('prod', 'Prod', ['hw3', 'axes0'], { T: I32, keep_dims: { b: false }, Tidx: I32 });
    b.add('flat_shape', 'Pack', ['n', 'prod'], { T: I32, N: { i: 2 }, axis: { i: 0 } });
    b.add('flat', 'Reshape', ['sel', 'flat_shape'], { T, Tshape: I32 });
    b.add('out', 'Softmax', ['flat'], { T });
    const c = convertFrozenGraph(b.graph());
    assert.deepEqual(c.folded.nodes.map((n) => n.op), ['Placeholder', 'Relu', 'Const', 'Reshape', 'Softmax']);
    assert.deepEqual(c.output.shape, [null, 48]);
    const x = randomArray(2 * 48, 3);
    const out = await runOnnx(c.onnx.bytes, { input_image: { data: x, dims: [2, 4, 4, 3] } }, 'out');
    assert.deepEqual(out.dims, [2, 48]);
  });

  test('a fixed batch (--batch 1) gives a static model with the same result', async () => {
    const net = deepSgusLikeGraph(32, 6);
    const c = convertFrozenGraph(parseFrozenGraph(net.bytes, 'x.pb'), { batch: 1 });
    assert.deepEqual(c.input.shape, [1, 32, 32, 3]);
    const input = imageBatch(1, 32, 9);
    const out = await runOnnx(c.onnx.bytes, { input_image: { data: input, dims: [1, 32, 32, 3] } }, 'inference/prediction');
    assert.deepEqual(Array.from(out.data as BigInt64Array, Number), Array.from(net.reference(input, 1).classes));
  });
});

describe('import of a real TensorFlow 1.x frozen graph', () => {
  test('small-cnn-classifier.frozen.pb parses, lists its tensors, imports and gives rows summing to 1', async (t) => {
    if (!existsSync(REAL_GRAPH)) {
      t.skip(`real frozen graph not found at ${REAL_GRAPH}`);
      return;
    }
    const bytes = await readFile(REAL_GRAPH);
    const g = parseFrozenGraph(bytes, REAL_GRAPH);
    const s = summarizeGraph(g);
    assert.equal(s.placeholders.length, 1);
    const ph = s.placeholders[0]!;
    assert.equal(ph.shape?.length, 4);
    assert.deepEqual(s.outputs.map((o) => o.op), ['Softmax']);
    const dir = await mkdtemp(path.join(os.tmpdir(), 'sgus-real-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    // A classifier: imported only when asked to (the CLI refuses it), for the converter's sake.
    const imported = await importFrozen(REAL_GRAPH, { modelsDir: dir, name: 'small-cnn', requireSegmentation: false });
    assert.ok(existsSync(path.join(imported.modelDir, 'model.onnx')));
    assert.ok(imported.notes.some((n) => /not a segmentation model/.test(n)), imported.notes.join('; '));
    const c = convertFrozenGraph(g);
    assert.equal(c.output.kind, 'probabilities');
    const [, h, w, ch] = ph.shape as [number, number, number, number];
    const n = 3;
    const out = await runOnnx(c.onnx.bytes, { [ph.name]: { data: Float32Array.from(randomArray(n * h * w * ch, 5), (v) => v + 1), dims: [n, h, w, ch] } }, c.output.onnxName);
    assert.equal(out.dims[0], n);
    const k = out.dims[1]!;
    const data = out.data as Float32Array;
    for (let r = 0; r < n; r++) {
      let sum = 0;
      for (let j = 0; j < k; j++) {
        assert.ok(Number.isFinite(data[r * k + j]!));
        sum += data[r * k + j]!;
      }
      assert.ok(Math.abs(sum - 1) < 1e-5, `row ${r} sums to ${sum}`);
    }
    // The same graph through the TF.js export agrees (where TF.js is installed).
    const tfjsInstalled = await import('@tensorflow/tfjs-core' as string).then(() => true, () => false);
    if (tfjsInstalled) {
      const engine = await createEngine(path.join(imported.modelDir, 'model.onnx'), { engine: 'tfjs', device: 'wasm', threads: 1 });
      try {
        const x = Float32Array.from(randomArray(n * h * w * ch, 5), (v) => v + 1);
        const b = await engine.run({ [ph.name]: { data: x, dims: [n, h, w, ch] } }, c.output.onnxName);
        for (let i = 0; i < data.length; i++) assert.ok(Math.abs(b.data[i]! - data[i]!) < 1e-5, `TF.js ${b.data[i]} vs ONNX ${data[i]}`);
      } finally {
        await engine.dispose();
      }
    }
  });
});

describe('import errors', () => {
  const net = deepSgusLikeGraph(16, 2);

  function assertOneLineGraphError(fn: () => unknown, pattern: RegExp): void {
    assert.throws(fn, (err: unknown) => {
      assert.ok(isSgusError(err, 'graph-import'), `GraphImport error, got ${String(err)}`);
      assert.ok(!err.message.includes('\n'), 'one line');
      assert.match(err.message, pattern);
      return true;
    });
  }

  test('random bytes are not a frozen graph', () => {
    const junk = Uint8Array.from(randomArray(1000, 1), (v) => Math.floor((v + 1) * 127));
    assertOneLineGraphError(() => parseFrozenGraph(junk, 'junk.pb'), /^junk\.pb: not a valid TensorFlow frozen graph/);
  });

  test('a truncated frozen graph is reported as such', () => {
    const cut = net.bytes.subarray(0, Math.floor(net.bytes.length * 0.6));
    assertOneLineGraphError(() => parseFrozenGraph(cut, 'cut.pb'), /cut\.pb: not a valid TensorFlow frozen graph.*(past the end|truncated)/);
  });

  test('an empty file is reported as not a graph', () => {
    assertOneLineGraphError(() => parseFrozenGraph(new Uint8Array(0), 'empty.pb'), /no nodes/);
  });

  test('a missing output or input tensor is named, with what the graph has', () => {
    const g = parseFrozenGraph(net.bytes, 'x.pb');
    assertOneLineGraphError(() => convertFrozenGraph(g, { output: 'inference/missing' }), /no tensor 'inference\/missing:0'.*inference\/prediction:0/);
    assertOneLineGraphError(() => convertFrozenGraph(g, { input: 'image' }), /no placeholder 'image'.*input_image/);
  });

  test('a graph without the DeepSGUS tensors and several candidates asks for --input/--output', () => {
    const b = new GraphBuilder();
    b.placeholder('a', TfDType.float, [-1, 4]);
    b.placeholder('b', TfDType.float, [-1, 4]);
    b.add('relu', 'Relu', ['a'], { T: T_FLOAT });
    b.add('relu_1', 'Relu', ['b'], { T: T_FLOAT });
    assertOneLineGraphError(() => convertFrozenGraph(b.graph()), /several placeholders could be the image \(a, b\); choose one with --input/);
    assertOneLineGraphError(() => convertFrozenGraph(b.graph(), { input: 'a' }), /2 candidate outputs .*choose one with --output/);
  });

  test('an unsupported op names the op and the node', () => {
    const b = new GraphBuilder();
    b.placeholder('input_image', TfDType.float, [-1, 8, 8, 3]);
    b.const('axis', [], [1], TfDType.int32);
    b.add('weird/cumsum', 'Cumsum', ['input_image', 'axis'], { T: T_FLOAT });
    b.add('out', 'Relu', ['weird/cumsum'], { T: T_FLOAT });
    assertOneLineGraphError(() => convertFrozenGraph(b.graph()), /unsupported op 'Cumsum' at node 'weird\/cumsum'/);
  });

  test('dropout with a keep probability below 1 cannot be folded and says why', () => {
    const g = parseFrozenGraph(net.bytes, 'x.pb');
    assertOneLineGraphError(() => convertFrozenGraph(g, { feeds: { keep_probabilty: 0.5 } }), /random/);
  });

  test('a tf.cond on an unfed placeholder asks for the feed', () => {
    const b = new GraphBuilder();
    b.placeholder('input_image', TfDType.float, [-1, 4, 4, 3]);
    b.placeholder('flag', TfDType.bool, []);
    b.add('sw', 'Switch', ['input_image', 'flag'], { T: T_FLOAT });
    b.add('m', 'Merge', ['sw', 'sw:1'], { T: T_FLOAT, N: { i: 2 } });
    assertOneLineGraphError(() => convertFrozenGraph(b.graph(), { input: 'input_image', output: 'm' }), /tf\.cond on a value that is not fixed/);
  });
});

describe('imported model files', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'sgus-import-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('a placeholder declared with batch 1 is imported with a dynamic batch when the graph allows', async () => {
    const net = deepSgusLikeGraph(32, 12, { inputShape: [1, 32, 32, 3] });
    const file = path.join(dir, 'batch1.pb');
    await writeFile(file, net.bytes);
    const r = await importFrozen(file, { modelsDir: dir, name: 'batch1', tfjs: false });
    assert.deepEqual(r.input.shape, [null, 32, 32, 3]);
    assert.deepEqual(r.notes, []);
    const input = imageBatch(3, 32, 2);
    const out = await runOnnx(await readFile(path.join(r.modelDir, 'model.onnx')), { input_image: { data: input, dims: [3, 32, 32, 3] } }, 'inference/prediction');
    assert.deepEqual(Array.from(out.data as BigInt64Array, Number), Array.from(net.reference(input, 3).classes));
  });

  test('importFrozen writes model.onnx, card.json and a TF.js model; the Segmenter runs it', async () => {
    const net = deepSgusLikeGraph(32, 11);
    const file = path.join(dir, 'frozen_graph.pb');
    await writeFile(file, net.bytes);
    const r = await importFrozen(file, { modelsDir: dir, name: 'deepsgus-test' });
    const card = JSON.parse(await readFile(path.join(dir, 'deepsgus-test', 'card.json'), 'utf8')) as Record<string, any>;
    assert.equal(card.architecture, 'imported-tf');
    assert.equal(card.input.name, 'input_image');
    assert.equal(card.input.layout, 'NHWC');
    assert.deepEqual(card.input.normalization, { scale: 1, mean: [0, 0, 0], std: [1, 1, 1] });
    assert.equal(card.output.kind, 'classes');
    assert.equal(card.output.name, 'inference/prediction');
    assert.equal(card.parameters, r.onnx.parameters);
    assert.equal(card.constantFeeds, undefined, 'every extra placeholder folded');
    assert.equal(card.tfjsModel, 'tfjs/model.json');
    const tfjs = JSON.parse(await readFile(path.join(dir, 'deepsgus-test', 'tfjs', 'model.json'), 'utf8')) as { modelTopology: { node: Array<{ op: string }> }; weightsManifest: unknown[] };
    assert.ok(!tfjs.modelTopology.node.some((n) => n.op === 'Switch' || n.op === 'RandomUniform'));

    const seg = await createSegmenter({ model: path.join(dir, 'deepsgus-test'), threads: 1 });
    try {
      const frame = syntheticFrame({ width: 80, height: 64, seed: 3 });
      const s = await seg.segment(frame.image);
      assert.equal(s.width, 80);
      assert.equal(s.height, 64);
      // A 32×32 frame goes in unresized: the segmenter's gland map is the reference class map.
      const small = syntheticFrame({ width: 32, height: 32, seed: 4 }).image;
      const [prob] = await seg.probabilities([small]);
      const ref = net.reference(Float32Array.from(small.data), 1);
      assert.deepEqual(Array.from(prob!.data), Array.from(ref.classes, (c) => (c === 1 ? 1 : 0)));
    } finally {
      await seg.close();
    }
  });
});
