/**
 * The less common ops of a frozen graph, checked end to end: the imported ONNX model (ONNX Runtime)
 * against TensorFlow.js running the same TF ops with TF's own semantics (resize modes, padding,
 * depthwise and dilated convolutions…).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createEngine } from '../../src/engine/engine-factory.js';
import { importFrozen } from '../../src/import/import-frozen.js';
import { TfDType, strAttr } from '../../src/import/tf-graphdef.js';
import { GraphBuilder, T_FLOAT, ints, randomArray } from '../helpers/tf-graph-builder.js';

async function hasTfjs(): Promise<boolean> {
  try {
    await import('@tensorflow/tfjs-core' as string);
    return true;
  } catch {
    return false;
  }
}

function opZooGraph(): { bytes: Uint8Array; ops: string[] } {
  const g = new GraphBuilder();
  const T = T_FLOAT;
  const NHWC = strAttr('NHWC');
  const i32 = (name: string, shape: number[], v: number[]): string => g.const(name, shape, v, TfDType.int32);
  g.placeholder('x', TfDType.float, [-1, 12, 12, 3]);
  g.const('w_a', [3, 3, 3, 4], randomArray(108, 1, 0.4));
  g.add('a', 'Conv2D', ['x', 'w_a'], { T, strides: ints(1, 2, 2, 1), padding: strAttr('SAME'), data_format: NHWC, dilations: ints(1, 1, 1, 1) });
  g.const('w_d', [3, 3, 3, 2], randomArray(54, 2, 0.4));
  g.add('d', 'DepthwiseConv2dNative', ['x', 'w_d'], { T, strides: ints(1, 1, 1, 1), padding: strAttr('SAME'), data_format: NHWC, dilations: ints(1, 1, 1, 1) });
  g.add('d6', 'Relu6', ['d'], { T });
  g.const('w_c', [3, 3, 6, 4], randomArray(216, 3, 0.3));
  g.add('c', 'Conv2D', ['d6', 'w_c'], { T, strides: ints(1, 1, 1, 1), padding: strAttr('VALID'), data_format: NHWC, dilations: ints(1, 2, 2, 1) });
  i32('size8', [2], [8, 8]);
  g.add('rb', 'ResizeBilinear', ['a', 'size8'], { T, align_corners: { b: false }, half_pixel_centers: { b: true } });
  g.add('rba', 'ResizeBilinear', ['a', 'size8'], { T, align_corners: { b: true }, half_pixel_centers: { b: false } });
  g.add('rn', 'ResizeNearestNeighbor', ['a', 'size8'], { T, align_corners: { b: false }, half_pixel_centers: { b: false } });
  g.add('s', 'Add', ['rb', 'c'], { T });
  g.const('vec', [4], randomArray(4, 4, 1));
  g.add('s2', 'Mul', ['s', 'vec'], { T });
  g.add('s3', 'Sub', ['s2', 'rba'], { T });
  g.add('lr', 'LeakyRelu', ['s3'], { T, alpha: { f: 0.1 } });
  i32('axis1', [], [1]);
  g.add('cat', 'ConcatV2', ['lr', 'rn', 'axis1'], { T, N: { i: 2 }, Tidx: { type: TfDType.int32 } });
  i32('pads', [4, 2], [0, 0, 1, 2, 0, 1, 0, 0]);
  g.add('p', 'Pad', ['cat', 'pads'], { T, Tpaddings: { type: TfDType.int32 } });
  i32('mpads', [4, 2], [0, 0, 1, 1, 1, 1, 0, 0]);
  g.add('mp', 'MirrorPad', ['p', 'mpads'], { T, mode: strAttr('REFLECT'), Tpaddings: { type: TfDType.int32 } });
  g.add('sm', 'Softmax', ['mp'], { T });
  i32('hw', [2], [1, 2]);
  g.add('mean', 'Mean', ['sm', 'hw'], { T, keep_dims: { b: false }, Tidx: { type: TfDType.int32 } });
  g.add('sig', 'Sigmoid', ['mp'], { T });
  g.add('sq', 'Square', ['sig'], { T });
  g.add('sum', 'Sum', ['sq', 'hw'], { T, keep_dims: { b: false }, Tidx: { type: TfDType.int32 } });
  g.const('one', [], [1]);
  g.add('sum1', 'AddV2', ['sum', 'one'], { T });
  g.add('rs', 'Rsqrt', ['sum1'], { T });
  g.add('mx', 'Max', ['mp', 'hw'], { T, keep_dims: { b: false }, Tidx: { type: TfDType.int32 } });
  g.add('mm_in', 'Maximum', ['mean', 'rs'], { T });
  g.const('w_m', [5, 4], randomArray(20, 5, 1));
  g.add('mm', 'MatMul', ['mm_in', 'w_m'], { T, transpose_a: { b: false }, transpose_b: { b: true } });
  g.add('th', 'Tanh', ['mm'], { T });
  g.add('ed', 'ExpandDims', ['th', 'axis1'], { T, Tdim: { type: TfDType.int32 } });
  g.add('sqz', 'Squeeze', ['ed'], { T, squeeze_dims: ints(1) });
  g.add('am', 'ArgMax', ['s2', 'axis1'], { T, Tidx: { type: TfDType.int32 }, output_type: { type: TfDType.int64 } });
  g.add('amf', 'Cast', ['am'], { SrcT: { type: TfDType.int64 }, DstT: T });
  i32('perm', [4], [0, 3, 1, 2]);
  g.add('tr', 'Transpose', ['lr', 'perm'], { T, Tperm: { type: TfDType.int32 } });
  i32('ss/b', [4], [0, 1, 0, 1]);
  i32('ss/e', [4], [0, -1, 0, 3]);
  i32('ss/s', [4], [1, 2, -1, 1]);
  g.add('ss', 'StridedSlice', ['mp', 'ss/b', 'ss/e', 'ss/s'], { T, Index: { type: TfDType.int32 }, begin_mask: { i: 0b0101 }, end_mask: { i: 0b0101 }, shrink_axis_mask: { i: 0 }, ellipsis_mask: { i: 0 }, new_axis_mask: { i: 0 } });
  i32('ss2/b', [4], [0, 0, 0, 2]);
  i32('ss2/e', [4], [0, 0, 0, 3]);
  i32('ss2/s', [4], [1, 1, 1, 1]);
  g.add('ss2', 'StridedSlice', ['mp', 'ss2/b', 'ss2/e', 'ss2/s'], { T, Index: { type: TfDType.int32 }, begin_mask: { i: 0b0111 }, end_mask: { i: 0b0111 }, shrink_axis_mask: { i: 0b1000 }, ellipsis_mask: { i: 0 }, new_axis_mask: { i: 0 } });
  i32('sl/b', [4], [0, 2, 1, 0]);
  i32('sl/s', [4], [-1, 5, -1, 3]);
  g.add('sl', 'Slice', ['cat', 'sl/b', 'sl/s'], { T, Index: { type: TfDType.int32 } });
  g.add('addn', 'AddN', ['lr', 'c', 'rb'], { T, N: { i: 3 } });
  const flat = (name: string, x: string, n: number): string => {
    i32(`${name}/shape`, [2], [-1, n]);
    return g.add(name, 'Reshape', [x, `${name}/shape`], { T, Tshape: { type: TfDType.int32 } });
  };
  const parts = [flat('f_mp', 'mp', 21 * 11 * 4), 'sqz', flat('f_tr', 'tr', 256), flat('f_am', 'amf', 32), 'mx', flat('f_d', 'd6', 12 * 12 * 6), flat('f_ss', 'ss', 10 * 11 * 2), flat('f_ss2', 'ss2', 21 * 11), flat('f_sl', 'sl', 5 * 7 * 3), flat('f_addn', 'addn', 256)];
  g.add('out', 'ConcatV2', [...parts, 'axis1'], { T, N: { i: parts.length }, Tidx: { type: TfDType.int32 } });
  return { bytes: g.encode(), ops: [...new Set(g.nodes.map((n) => n.op))] };
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
    const zoo = opZooGraph();
    const file = path.join(dir, 'zoo.pb');
    await writeFile(file, zoo.bytes);
    // A vector of every op's results, not a segmentation output: imported for the comparison only.
    const r = await importFrozen(file, { modelsDir: dir, name: 'zoo', input: 'x', output: 'out', requireSegmentation: false });
    assert.equal(r.tfjsModel, 'tfjs/model.json', r.notes.join('; '));
    const n = 2;
    const input = { data: randomArray(n * 12 * 12 * 3, 9, 2), dims: [n, 12, 12, 3] };
    const onnx = await createEngine(path.join(r.modelDir, 'model.onnx'), { threads: 1 });
    const tfjs = await createEngine(path.join(r.modelDir, 'model.onnx'), { engine: 'tfjs', device: 'wasm', threads: 1 });
    try {
      const a = await onnx.run({ x: input }, 'out');
      const b = await tfjs.run({ x: input }, 'out');
      assert.deepEqual(a.dims, b.dims);
      const width = a.dims[1]!;
      assert.equal(width, 924 + 5 + 256 + 32 + 4 + 864 + 220 + 231 + 105 + 256);
      let max = 0;
      let worst = -1;
      for (let i = 0; i < a.data.length; i++) {
        const d = Math.abs(a.data[i]! - b.data[i]!);
        if (!(d <= max)) {
          max = d;
          worst = i;
        }
      }
      assert.ok(max < 1e-4, `max abs diff ${max} at column ${worst % width}`);
      process.stdout.write(`# ONNX vs TF.js max abs diff ${max.toExponential(2)}; ONNX ops ${JSON.stringify(r.onnx.opCounts)}; sample ${Array.from(a.data.subarray(925, 930), (v) => v.toFixed(4)).join(" ")}\n`);
    } finally {
      await onnx.dispose();
      await tfjs.dispose();
    }
  });
});
