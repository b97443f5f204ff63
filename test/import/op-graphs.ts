/**
 * The graphs that exercise the op table (`src/import/ops/`), built in TypeScript: `opZooGraph`
 * (the less common network ops, checked against TensorFlow.js), `elementwiseZooGraph` (every
 * one- and two-input op, batch norm without a convolution, average pool, PadV2, Min, a transposed
 * convolution) and `foldZooGraph` (every op that must fold away). `op-coverage.test.ts` fails when
 * an op of the table appears in none of them.
 */
import { TfDType, strAttr } from '../../src/import/tf-graphdef.js';
import { GraphBuilder, T_FLOAT, ints, randomArray } from '../helpers/tf-graph-builder.js';

export interface OpGraph {
  bytes: Uint8Array;
  /** The op types the graph uses. */
  ops: string[];
}

const opsOf = (g: GraphBuilder): string[] => [...new Set(g.nodes.map((n) => n.op))];

/** Output `out` [N, 2897]: every result flattened. */
export function opZooGraph(): OpGraph {
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
  return { bytes: g.encode(), ops: opsOf(g) };
}

/** Unary ops applied to both inputs (p = |x| + 0.5 is positive, so Log / Sqrt / Rsqrt stay finite). */
export const ZOO_UNARY = ['Relu', 'Relu6', 'Elu', 'Selu', 'LeakyRelu', 'Sigmoid', 'Tanh', 'Softplus', 'Softmax', 'LogSoftmax', 'Exp', 'Log', 'Sqrt', 'Rsqrt', 'Square', 'Neg', 'Abs', 'Floor', 'Ceil', 'Reciprocal', 'Erf'];
const POSITIVE_ONLY = new Set(['Log', 'Sqrt', 'Rsqrt', 'Reciprocal', 'Floor', 'Ceil']);
export const ZOO_BINARY = ['Add', 'AddV2', 'Sub', 'Mul', 'RealDiv', 'Div', 'Maximum', 'Minimum', 'Pow', 'SquaredDifference', 'BiasAdd'];
export const ZOO_COMPARE = ['Greater', 'GreaterEqual', 'Less', 'LessEqual', 'Equal'];

/**
 * Input `x` [N, 6, 6, 3], output `out` [N, k]. Each op runs on a convolution's output (which the
 * ONNX model holds NCHW) and on an NHWC tensor, so both layouts of every handler are exercised.
 */
export function elementwiseZooGraph(): OpGraph & { width: number } {
  const g = new GraphBuilder();
  const T = T_FLOAT;
  const NHWC = strAttr('NHWC');
  const i32 = (name: string, shape: number[], v: number[]): string => g.const(name, shape, v, TfDType.int32);
  g.placeholder('x', TfDType.float, [-1, 6, 6, 3]);
  g.const('w', [3, 3, 3, 3], randomArray(81, 11, 0.4));
  g.add('c', 'Conv2D', ['x', 'w'], { T, strides: ints(1, 1, 1, 1), padding: strAttr('SAME'), data_format: NHWC, dilations: ints(1, 1, 1, 1) });
  g.add('ax', 'Abs', ['x'], { T });
  g.const('half', [], [0.5]);
  g.add('p', 'AddV2', ['ax', 'half'], { T });
  const outs: Array<[string, number]> = [];
  const per = 6 * 6 * 3;
  for (const op of ZOO_UNARY) {
    if (!POSITIVE_ONLY.has(op)) outs.push([g.add(`u_${op}`, op, ['c'], { T, ...(op === 'LeakyRelu' ? { alpha: { f: 0.1 } } : {}) }), per]);
    outs.push([g.add(`v_${op}`, op, ['p'], { T }), per]);
  }
  g.const('vec', [3], randomArray(3, 12, 1));
  g.const('two', [], [2]);
  for (const op of ZOO_BINARY) {
    // Divisors and exponent bases are p (≥ 0.5), so that every result is finite.
    // BiasAdd takes a per-channel vector only.
    if (op !== 'BiasAdd') outs.push([g.add(`b_${op}`, op, op === 'Pow' ? ['p', 'c'] : ['c', 'p'], { T }), per]);
    outs.push([g.add(`bv_${op}`, op, [op === 'Pow' ? 'p' : 'c', 'vec'], { T, data_format: NHWC }), per]);
    if (op !== 'BiasAdd') outs.push([g.add(`bs_${op}`, op, ['p', 'two'], { T }), per]);
  }
  for (const op of ZOO_COMPARE) {
    // On exact values (x and p), so that ONNX Runtime and TF.js cannot disagree by rounding.
    g.add(`cmp_${op}`, op, ['x', 'p'], { T });
    g.add(`cmp2_${op}`, op, ['ax', 'half'], { T });
    outs.push([g.add(`cc_${op}`, 'Cast', [`cmp_${op}`], { SrcT: { type: TfDType.bool }, DstT: T }), per]);
    outs.push([g.add(`cc2_${op}`, 'Cast', [`cmp2_${op}`], { SrcT: { type: TfDType.bool }, DstT: T }), per]);
  }
  for (const [k, src, op] of [['1', 'c', 'FusedBatchNorm'], ['2', 'p', 'FusedBatchNormV2'], ['3', 'p', 'FusedBatchNormV3']] as const) {
    g.const(`g${k}`, [3], randomArray(3, 13, 1));
    g.const(`o${k}`, [3], randomArray(3, 14, 1));
    g.const(`m${k}`, [3], randomArray(3, 15, 1));
    g.const(`va${k}`, [3], [1, 2, 3]);
    outs.push([g.add(`bn${k}`, op, [src, `g${k}`, `o${k}`, `m${k}`, `va${k}`], { T, U: T, epsilon: { f: 0.001 }, data_format: NHWC, is_training: { b: false } }), per]);
  }
  outs.push([g.add('ap', 'AvgPool', ['c'], { T, ksize: ints(1, 3, 3, 1), strides: ints(1, 2, 2, 1), padding: strAttr('SAME'), data_format: NHWC }), 3 * 3 * 3]);
  outs.push([g.add('mp', 'MaxPool', ['p'], { T, ksize: ints(1, 2, 2, 1), strides: ints(1, 2, 2, 1), padding: strAttr('VALID'), data_format: NHWC }), 3 * 3 * 3]);
  i32('pads', [4, 2], [0, 0, 1, 2, 0, 1, 0, 0]);
  g.const('pv', [], [0.5]);
  outs.push([g.add('p2', 'PadV2', ['c', 'pads', 'pv'], { T, Tpaddings: { type: TfDType.int32 } }), 9 * 7 * 3]);
  i32('axis3', [], [3]);
  outs.push([g.add('mn', 'Min', ['c', 'axis3'], { T, keep_dims: { b: true }, Tidx: { type: TfDType.int32 } }), 6 * 6]);
  g.const('wt', [3, 3, 4, 3], randomArray(108, 16, 0.3));
  g.add('n', 'Shape', ['c'], { T, out_type: { type: TfDType.int32 } });
  i32('b0', [1], [0]);
  i32('b1', [1], [1]);
  g.add('batch', 'StridedSlice', ['n', 'b0', 'b1', 'b1'], { T: { type: TfDType.int32 }, Index: { type: TfDType.int32 }, begin_mask: { i: 0 }, end_mask: { i: 0 }, shrink_axis_mask: { i: 1 }, ellipsis_mask: { i: 0 }, new_axis_mask: { i: 0 } });
  i32('h12', [], [12]);
  i32('c4', [], [4]);
  g.add('os', 'Pack', ['batch', 'h12', 'h12', 'c4'], { T: { type: TfDType.int32 }, N: { i: 4 }, axis: { i: 0 } });
  outs.push([g.add('ct', 'Conv2DBackpropInput', ['os', 'wt', 'c'], { T, strides: ints(1, 2, 2, 1), padding: strAttr('SAME'), data_format: NHWC, dilations: ints(1, 1, 1, 1) }), 12 * 12 * 4]);
  const flat = outs.map(([o, n], i) => {
    i32(`sh${i}`, [2], [-1, n]);
    return g.add(`f${i}`, 'Reshape', [o, `sh${i}`], { T, Tshape: { type: TfDType.int32 } });
  });
  i32('axis1', [], [1]);
  g.add('out', 'ConcatV2', [...flat, 'axis1'], { T, N: { i: flat.length }, Tidx: { type: TfDType.int32 } });
  return { bytes: g.encode(), ops: opsOf(g), width: outs.reduce((s, [, n]) => s + n, 0) };
}

/**
 * Input `x` [N, 4, 4, 3] (with `TRAINING`, `keep_prob` and a `PlaceholderWithDefault`), output
 * `out` = relu(x) flattened to [N, 48] — through every op that must fold away: identities, tf.cond,
 * Select, dropout, ZerosLike / OnesLike, and a flatten whose target shape is computed from
 * Shape / Size / Rank / StridedSlice / Range / Fill / Prod / FloorDiv / FloorMod / Pack / Concat, with
 * shape checks (comparisons, logical ops, All / Any, Assert, PrintV2, NoOp) on control edges.
 */
export function foldZooGraph(): OpGraph {
  const g = new GraphBuilder();
  const T = T_FLOAT;
  const I32 = { type: TfDType.int32 };
  const i32 = (name: string, shape: number[], v: number[]): string => g.const(name, shape, v, TfDType.int32);
  const noTypes = { list: { s: [], i: [], f: [], b: [], type: [], shape: [], tensor: [] } };
  g.placeholder('x', TfDType.float, [-1, 4, 4, 3]);
  g.placeholder('TRAINING', TfDType.bool, []);
  g.placeholder('keep_prob', TfDType.float, []);
  g.const('one', [], [1]);
  g.add('scale', 'PlaceholderWithDefault', ['one'], { dtype: T, shape: { shape: { dims: [], unknownRank: false } } });
  g.add('r', 'Relu', ['x'], { T });
  let cur = 'r';
  for (const op of ['Identity', 'StopGradient', 'Snapshot', 'PreventGradient', 'CheckNumerics', 'EnsureShape']) {
    cur = g.add(`id_${op}`, op, [cur], { T, ...(op === 'CheckNumerics' ? { message: strAttr('nan') } : {}), ...(op === 'EnsureShape' ? { shape: { shape: { dims: [-1, 4, 4, 3], unknownRank: false } } } : {}) });
  }
  g.add('printed', 'Print', [cur, cur], { T, U: noTypes });
  g.add('idn', 'IdentityN', ['printed', 'r'], { T: noTypes });
  g.add('sw', 'Switch', ['idn', 'TRAINING'], { T });
  g.add('sw_true', 'Identity', ['sw:1'], { T });
  g.add('merged', 'Merge', ['sw:0', 'sw_true'], { T, N: { i: 2 } });
  g.add('sel', 'Select', ['TRAINING', 'x', 'merged'], { T });
  g.add('sel2', 'SelectV2', ['TRAINING', 'x', 'sel'], { T });
  // Dropout, TF 1.x style: x * floor(keep + U) / keep.
  g.add('shape', 'Shape', ['sel2'], { T, out_type: I32 });
  g.add('u', 'RandomUniform', ['shape'], { T: I32, dtype: T, seed: { i: 0 }, seed2: { i: 0 } });
  g.add('ku', 'AddV2', ['keep_prob', 'u'], { T });
  g.add('mask', 'Floor', ['ku'], { T });
  g.add('kept', 'Mul', ['sel2', 'mask'], { T });
  g.add('dropped', 'RealDiv', ['kept', 'keep_prob'], { T });
  g.add('scaled', 'Mul', ['dropped', 'scale'], { T });
  g.add('zeros', 'ZerosLike', ['scaled'], { T });
  g.add('ones', 'OnesLike', ['scaled'], { T });
  g.add('plus0', 'AddV2', ['scaled', 'zeros'], { T });
  g.add('y', 'Mul', ['plus0', 'ones'], { T });
  // The flatten's target [batch, 48], computed from the shape.
  g.add('shp', 'Shape', ['y'], { T, out_type: I32 });
  i32('b0', [1], [0]);
  i32('b1', [1], [1]);
  i32('b4', [1], [4]);
  g.add('batch', 'StridedSlice', ['shp', 'b0', 'b1', 'b1'], { T: I32, Index: I32, begin_mask: { i: 0 }, end_mask: { i: 0 }, shrink_axis_mask: { i: 1 }, ellipsis_mask: { i: 0 }, new_axis_mask: { i: 0 } });
  g.add('hwc', 'StridedSlice', ['shp', 'b1', 'b4', 'b1'], { T: I32, Index: I32, begin_mask: { i: 0 }, end_mask: { i: 0 }, shrink_axis_mask: { i: 0 }, ellipsis_mask: { i: 0 }, new_axis_mask: { i: 0 } });
  i32('axes0', [1], [0]);
  g.add('prod', 'Prod', ['hwc', 'axes0'], { T: I32, keep_dims: { b: false }, Tidx: I32 });
  g.add('rank', 'Rank', ['y'], { T });
  i32('zero', [], [0]);
  i32('step', [], [1]);
  g.add('range', 'Range', ['zero', 'rank', 'step'], { Tidx: I32 });
  i32('two', [], [2]);
  i32('d1', [1], [1]);
  g.add('fill', 'Fill', ['d1', 'two'], { T: I32, index_type: I32 });
  g.add('double', 'Mul', ['prod', 'fill'], { T: I32 });
  g.add('twice', 'Prod', ['double', 'axes0'], { T: I32, keep_dims: { b: false }, Tidx: I32 });
  g.add('size3', 'Size', ['hwc'], { T: I32, out_type: I32 });
  i32('one_i', [], [1]);
  g.add('two_again', 'Sub', ['size3', 'one_i'], { T: I32 });
  g.add('n48', 'FloorDiv', ['twice', 'two_again'], { T: I32 });
  g.add('rem', 'FloorMod', ['twice', 'two'], { T: I32 });
  g.add('n', 'AddV2', ['n48', 'rem'], { T: I32 });
  g.add('flat_shape', 'Pack', ['batch', 'n'], { T: I32, N: { i: 2 }, axis: { i: 0 } });
  g.add('target', 'Concat', ['zero', 'flat_shape'], { T: I32, N: { i: 1 } });
  // Shape checks: rank 4, range [0, 1, 2, 3]; Assert, PrintV2 and NoOp on control edges.
  g.add('size', 'Size', ['y'], { T, out_type: I32 });
  i32('four', [], [4]);
  g.add('is4', 'Equal', ['rank', 'four'], { T: I32 });
  g.add('not3', 'NotEqual', ['rank', 'two'], { T: I32 });
  g.add('both', 'LogicalAnd', ['is4', 'not3'], {});
  g.add('neither', 'LogicalNot', ['both'], {});
  g.add('either', 'LogicalOr', ['both', 'neither'], {});
  i32('expect_range', [4], [0, 1, 2, 3]);
  g.add('range_ok', 'Equal', ['range', 'expect_range'], { T: I32 });
  g.add('all', 'All', ['range_ok', 'axes0'], { keep_dims: { b: false }, Tidx: I32 });
  g.add('any', 'Any', ['range_ok', 'axes0'], { keep_dims: { b: false }, Tidx: I32 });
  g.add('ok', 'LogicalAnd', ['all', 'any'], {});
  g.add('ok2', 'LogicalAnd', ['ok', 'either'], {});
  g.add('assert', 'Assert', ['ok2', 'size'], { T: noTypes, summarize: { i: 3 } });
  g.add('log', 'PrintV2', ['size', '^assert'], { output_stream: strAttr('stderr') });
  g.add('checks', 'NoOp', ['^assert', '^log']);
  // The checks' result also selects the data, so that a check that does not fold fails the import.
  g.add('checked', 'SelectV2', ['ok2', 'y', 'x'], { T });
  g.add('flat', 'Reshape', ['checked', 'target', '^checks'], { T, Tshape: I32 });
  g.add('out', 'Identity', ['flat'], { T });
  return { bytes: g.encode(), ops: opsOf(g) };
}
