/**
 * Builds TensorFlow 1.x frozen graphs in TypeScript (no TensorFlow here), with the node and
 * attribute layout TF 1.14 writes, and a plain reference implementation of the same ops to check an
 * imported model against.
 */
import { mulberry32 } from '../../src/synthetic/ultrasound-frame.js';
import { TfDType, encodeGraphDef, strAttr } from '../../src/import/tf-graphdef.js';
import type { TfAttr, TfAttrList, TfGraph, TfNode } from '../../src/import/tf-graphdef.js';

export const T_FLOAT: TfAttr = { type: TfDType.float };

export function ints(...i: number[]): TfAttr {
  const l: TfAttrList = { s: [], i, f: [], b: [], type: [], shape: [], tensor: [] };
  return { list: l };
}

export class GraphBuilder {
  readonly nodes: TfNode[] = [];

  add(name: string, op: string, inputs: string[] = [], attr: Record<string, TfAttr> = {}): string {
    this.nodes.push({ name, op, inputs, device: '', attr });
    return name;
  }

  const(name: string, shape: number[], data: ArrayLike<number>, dtype: number = TfDType.float, control: string[] = []): string {
    const d = dtype === TfDType.float ? Float32Array.from(data) : Float64Array.from(data);
    return this.add(name, 'Const', control.map((c) => `^${c}`), { dtype: { type: dtype }, value: { tensor: { dtype, shape, data: d } } });
  }

  placeholder(name: string, dtype: number, shape: number[] | undefined): string {
    return this.add(name, 'Placeholder', [], { dtype: { type: dtype }, shape: { shape: shape === undefined ? { dims: [], unknownRank: true } : { dims: shape, unknownRank: false } } });
  }

  graph(): TfGraph {
    return { nodes: this.nodes, producer: 38 };
  }

  encode(): Uint8Array {
    return encodeGraphDef(this.graph());
  }
}

export function randomArray(n: number, seed: number, scale = 1): Float32Array {
  const r = mulberry32(seed);
  return Float32Array.from({ length: n }, () => (r() * 2 - 1) * scale);
}

// ------------------------------------------------------------------ reference ops (NHWC)

export interface Nhwc {
  n: number;
  h: number;
  w: number;
  c: number;
  data: Float32Array;
}

function samePads(size: number, k: number, s: number): [number, number, number] {
  const out = Math.ceil(size / s);
  const total = Math.max((out - 1) * s + k - size, 0);
  return [out, Math.floor(total / 2), total - Math.floor(total / 2)];
}

export function conv2d(x: Nhwc, w: Float32Array, kh: number, kw: number, co: number, stride: number, padding: 'SAME' | 'VALID'): Nhwc {
  const [oh, pt] = padding === 'SAME' ? samePads(x.h, kh, stride) : [Math.floor((x.h - kh) / stride) + 1, 0];
  const [ow, pl] = padding === 'SAME' ? samePads(x.w, kw, stride) : [Math.floor((x.w - kw) / stride) + 1, 0];
  const out = new Float32Array(x.n * oh * ow * co);
  for (let b = 0; b < x.n; b++)
    for (let y = 0; y < oh; y++)
      for (let xx = 0; xx < ow; xx++)
        for (let o = 0; o < co; o++) {
          let s = 0;
          for (let ky = 0; ky < kh; ky++) {
            const iy = y * stride + ky - pt;
            if (iy < 0 || iy >= x.h) continue;
            for (let kx = 0; kx < kw; kx++) {
              const ix = xx * stride + kx - pl;
              if (ix < 0 || ix >= x.w) continue;
              for (let c = 0; c < x.c; c++) s += x.data[((b * x.h + iy) * x.w + ix) * x.c + c]! * w[((ky * kw + kx) * x.c + c) * co + o]!;
            }
          }
          out[((b * oh + y) * ow + xx) * co + o] = s;
        }
  return { n: x.n, h: oh, w: ow, c: co, data: out };
}

/** The gradient of a convolution with respect to its input (TF `conv2d_transpose`), filter [kh,kw,out,in]. */
export function conv2dTranspose(x: Nhwc, w: Float32Array, kh: number, kw: number, co: number, outH: number, outW: number, stride: number, padding: 'SAME' | 'VALID'): Nhwc {
  const pt = padding === 'SAME' ? Math.floor(Math.max((x.h - 1) * stride + kh - outH, 0) / 2) : 0;
  const pl = padding === 'SAME' ? Math.floor(Math.max((x.w - 1) * stride + kw - outW, 0) / 2) : 0;
  const out = new Float32Array(x.n * outH * outW * co);
  for (let b = 0; b < x.n; b++)
    for (let i = 0; i < x.h; i++)
      for (let j = 0; j < x.w; j++)
        for (let ky = 0; ky < kh; ky++) {
          const y = i * stride + ky - pt;
          if (y < 0 || y >= outH) continue;
          for (let kx = 0; kx < kw; kx++) {
            const xx = j * stride + kx - pl;
            if (xx < 0 || xx >= outW) continue;
            for (let o = 0; o < co; o++) {
              let s = 0;
              for (let c = 0; c < x.c; c++) s += x.data[((b * x.h + i) * x.w + j) * x.c + c]! * w[((ky * kw + kx) * co + o) * x.c + c]!;
              out[((b * outH + y) * outW + xx) * co + o]! += s;
            }
          }
        }
  return { n: x.n, h: outH, w: outW, c: co, data: out };
}

export function map(x: Nhwc, f: (v: number, c: number) => number): Nhwc {
  return { ...x, data: x.data.map((v, i) => f(v, i % x.c)) };
}

export function pool(x: Nhwc, k: number, stride: number, padding: 'SAME' | 'VALID', kind: 'max' | 'avg'): Nhwc {
  const [oh, pt] = padding === 'SAME' ? samePads(x.h, k, stride) : [Math.floor((x.h - k) / stride) + 1, 0];
  const [ow, pl] = padding === 'SAME' ? samePads(x.w, k, stride) : [Math.floor((x.w - k) / stride) + 1, 0];
  const out = new Float32Array(x.n * oh * ow * x.c);
  for (let b = 0; b < x.n; b++)
    for (let y = 0; y < oh; y++)
      for (let xx = 0; xx < ow; xx++)
        for (let c = 0; c < x.c; c++) {
          let m = -Infinity;
          let s = 0;
          let cnt = 0;
          for (let ky = 0; ky < k; ky++)
            for (let kx = 0; kx < k; kx++) {
              const iy = y * stride + ky - pt;
              const ix = xx * stride + kx - pl;
              if (iy < 0 || iy >= x.h || ix < 0 || ix >= x.w) continue;
              const v = x.data[((b * x.h + iy) * x.w + ix) * x.c + c]!;
              m = Math.max(m, v);
              s += v;
              cnt++;
            }
          out[((b * oh + y) * ow + xx) * x.c + c] = kind === 'max' ? m : s / cnt;
        }
  return { n: x.n, h: oh, w: ow, c: x.c, data: out };
}

export function concatChannels(parts: Nhwc[]): Nhwc {
  const { n, h, w } = parts[0]!;
  const c = parts.reduce((s, p) => s + p.c, 0);
  const out = new Float32Array(n * h * w * c);
  for (let p = 0; p < n * h * w; p++) {
    let o = 0;
    for (const part of parts) {
      for (let k = 0; k < part.c; k++) out[p * c + o + k] = part.data[p * part.c + k]!;
      o += part.c;
    }
  }
  return { n, h, w, c, data: out };
}

export function argmaxChannels(x: Nhwc): Int32Array {
  const out = new Int32Array(x.n * x.h * x.w);
  for (let p = 0; p < out.length; p++) {
    let best = 0;
    for (let k = 1; k < x.c; k++) if (x.data[p * x.c + k]! > x.data[p * x.c + best]!) best = k;
    out[p] = best;
  }
  return out;
}

// ------------------------------------------------------------------ a DeepSGUS-shaped network

export interface DeepSgusLike {
  graph: TfGraph;
  bytes: Uint8Array;
  size: number;
  /** Reference logits [N,H,W,2] and class map for an NHWC 0–255 input. */
  reference(input: Float32Array, n: number): { logits: Nhwc; classes: Int32Array };
}

/**
 * The DeepSGUS signature (`input_image`, `keep_probabilty`, `TRAINING` → `inference/prediction`)
 * around a small U-Net-like network: conv/bias → batch norm inside tf.cond(TRAINING) → relu →
 * max pool → conv → dropout(keep_probabilty) → transposed conv (output shape from Shape/StridedSlice/
 * Pack) → concat with the skip and an average pool → 1×1 conv → logits → ArgMax.
 */
export interface DeepSgusLikeOptions {
  /** The image placeholder's declared shape. Default [-1, size, size, 3]. */
  inputShape?: number[];
  /** A uint8 image placeholder, cast to float inside the graph (as some exports do). Default false. */
  uint8Input?: boolean;
}

export function deepSgusLikeGraph(size = 32, seed = 7, options: DeepSgusLikeOptions = {}): DeepSgusLike {
  const g = new GraphBuilder();
  const T = T_FLOAT;
  const r = (n: number, s: number, scale: number): Float32Array => randomArray(n, seed * 100 + s, scale);
  const W1 = r(3 * 3 * 3 * 8, 1, 0.3);
  const B1 = r(8, 2, 0.1);
  const gamma = Float32Array.from(r(8, 3, 0.5), (v) => 1 + v);
  const beta = r(8, 4, 0.2);
  const mean = r(8, 5, 0.3);
  const variance = Float32Array.from(r(8, 6, 0.5), (v) => 1 + v);
  const W2 = r(3 * 3 * 8 * 16, 7, 0.2);
  const B2 = r(16, 8, 0.1);
  const Wt = r(3 * 3 * 8 * 16, 9, 0.2);
  const Bt = r(8, 10, 0.1);
  const W3 = r(1 * 1 * 24 * 2, 11, 0.5);
  const B3 = r(2, 12, 0.1);
  const eps = 0.001;

  g.placeholder('input_image', options.uint8Input ? TfDType.uint8 : TfDType.float, options.inputShape ?? [-1, size, size, 3]);
  g.placeholder('keep_probabilty', TfDType.float, undefined);
  g.placeholder('TRAINING', TfDType.bool, []);
  g.const('scale/y', [], [255]);
  if (options.uint8Input) g.add('scale/Cast', 'Cast', ['input_image'], { SrcT: { type: TfDType.uint8 }, DstT: T, Truncate: { b: false } });
  g.add('scale/truediv', 'RealDiv', [options.uint8Input ? 'scale/Cast' : 'input_image', 'scale/y'], { T });

  g.const('conv1/kernel', [3, 3, 3, 8], W1);
  g.add('conv1/kernel/read', 'Identity', ['conv1/kernel'], { T });
  g.const('conv1/bias', [8], B1);
  g.add('conv1/Conv2D', 'Conv2D', ['scale/truediv', 'conv1/kernel/read'], { T, strides: ints(1, 1, 1, 1), padding: strAttr('SAME'), data_format: strAttr('NHWC'), dilations: ints(1, 1, 1, 1), use_cudnn_on_gpu: { b: true } });
  g.add('conv1/BiasAdd', 'BiasAdd', ['conv1/Conv2D', 'conv1/bias'], { T, data_format: strAttr('NHWC') });

  // tf.layers.batch_normalization(training=TRAINING) as TF 1.14 freezes it: a tf.cond.
  for (const [n, v] of [['bn/gamma', gamma], ['bn/beta', beta], ['bn/moving_mean', mean], ['bn/moving_variance', variance]] as const) g.const(n, [8], v);
  g.add('bn/cond/Switch', 'Switch', ['TRAINING', 'TRAINING'], { T: { type: TfDType.bool } });
  g.add('bn/cond/switch_t', 'Identity', ['bn/cond/Switch:1'], { T: { type: TfDType.bool } });
  g.add('bn/cond/switch_f', 'Identity', ['bn/cond/Switch'], { T: { type: TfDType.bool } });
  g.add('bn/cond/pred_id', 'Identity', ['TRAINING'], { T: { type: TfDType.bool } });
  // Training branch: batch statistics (empty mean/variance), constants tied to switch_t.
  g.const('bn/cond/Const', [0], [], TfDType.float, ['bn/cond/switch_t']);
  g.const('bn/cond/Const_1', [0], [], TfDType.float, ['bn/cond/switch_t']);
  g.add('bn/cond/FusedBatchNormV3/Switch', 'Switch', ['conv1/BiasAdd', 'bn/cond/pred_id'], { T });
  g.add('bn/cond/FusedBatchNormV3/Switch_1', 'Switch', ['bn/gamma', 'bn/cond/pred_id'], { T });
  g.add('bn/cond/FusedBatchNormV3/Switch_2', 'Switch', ['bn/beta', 'bn/cond/pred_id'], { T });
  const bnAttr = (training: boolean): Record<string, TfAttr> => ({ T, U: T, epsilon: { f: eps }, data_format: strAttr('NHWC'), is_training: { b: training } });
  g.add('bn/cond/FusedBatchNormV3', 'FusedBatchNormV3', ['bn/cond/FusedBatchNormV3/Switch:1', 'bn/cond/FusedBatchNormV3/Switch_1:1', 'bn/cond/FusedBatchNormV3/Switch_2:1', 'bn/cond/Const', 'bn/cond/Const_1'], bnAttr(true));
  // Inference branch: moving statistics.
  g.add('bn/cond/FusedBatchNormV3_1/Switch', 'Switch', ['conv1/BiasAdd', 'bn/cond/pred_id'], { T });
  g.add('bn/cond/FusedBatchNormV3_1/Switch_1', 'Switch', ['bn/gamma', 'bn/cond/pred_id'], { T });
  g.add('bn/cond/FusedBatchNormV3_1/Switch_2', 'Switch', ['bn/beta', 'bn/cond/pred_id'], { T });
  g.add('bn/cond/FusedBatchNormV3_1/Switch_3', 'Switch', ['bn/moving_mean', 'bn/cond/pred_id'], { T });
  g.add('bn/cond/FusedBatchNormV3_1/Switch_4', 'Switch', ['bn/moving_variance', 'bn/cond/pred_id'], { T });
  g.add('bn/cond/FusedBatchNormV3_1', 'FusedBatchNormV3', ['bn/cond/FusedBatchNormV3_1/Switch', 'bn/cond/FusedBatchNormV3_1/Switch_1', 'bn/cond/FusedBatchNormV3_1/Switch_2', 'bn/cond/FusedBatchNormV3_1/Switch_3', 'bn/cond/FusedBatchNormV3_1/Switch_4'], bnAttr(false));
  g.add('bn/cond/Merge', 'Merge', ['bn/cond/FusedBatchNormV3_1', 'bn/cond/FusedBatchNormV3'], { T, N: { i: 2 } });
  g.add('relu1', 'Relu', ['bn/cond/Merge'], { T });

  g.add('pool1', 'MaxPool', ['relu1'], { T, ksize: ints(1, 2, 2, 1), strides: ints(1, 2, 2, 1), padding: strAttr('SAME'), data_format: strAttr('NHWC') });
  g.const('conv2/kernel', [3, 3, 8, 16], W2);
  g.const('conv2/bias', [16], B2);
  g.add('conv2/Conv2D', 'Conv2D', ['pool1', 'conv2/kernel'], { T, strides: ints(1, 1, 1, 1), padding: strAttr('SAME'), data_format: strAttr('NHWC'), dilations: ints(1, 1, 1, 1) });
  g.add('conv2/BiasAdd', 'BiasAdd', ['conv2/Conv2D', 'conv2/bias'], { T, data_format: strAttr('NHWC') });
  g.add('relu2', 'Relu', ['conv2/BiasAdd'], { T });

  // tf.nn.dropout(relu2, keep_probabilty), TF 1.x: x / keep * floor(keep + U[0,1)).
  g.add('dropout/Shape', 'Shape', ['relu2'], { T, out_type: { type: TfDType.int32 } });
  g.const('dropout/random_uniform/min', [], [0]);
  g.const('dropout/random_uniform/max', [], [1]);
  g.add('dropout/random_uniform/RandomUniform', 'RandomUniform', ['dropout/Shape'], { T: { type: TfDType.int32 }, dtype: T, seed: { i: 0 }, seed2: { i: 0 } });
  g.add('dropout/random_uniform/sub', 'Sub', ['dropout/random_uniform/max', 'dropout/random_uniform/min'], { T });
  g.add('dropout/random_uniform/mul', 'Mul', ['dropout/random_uniform/RandomUniform', 'dropout/random_uniform/sub'], { T });
  g.add('dropout/random_uniform', 'Add', ['dropout/random_uniform/mul', 'dropout/random_uniform/min'], { T });
  g.add('dropout/add', 'Add', ['keep_probabilty', 'dropout/random_uniform'], { T });
  g.add('dropout/Floor', 'Floor', ['dropout/add'], { T });
  g.add('dropout/div', 'RealDiv', ['relu2', 'keep_probabilty'], { T });
  g.add('dropout/mul', 'Mul', ['dropout/div', 'dropout/Floor'], { T });

  // conv2d_transpose with the output shape built from the (dynamic) batch.
  const half = Math.ceil(size / 2);
  g.add('up/Shape', 'Shape', ['dropout/mul'], { T, out_type: { type: TfDType.int32 } });
  g.const('up/strided_slice/stack', [1], [0], TfDType.int32);
  g.const('up/strided_slice/stack_1', [1], [1], TfDType.int32);
  g.const('up/strided_slice/stack_2', [1], [1], TfDType.int32);
  g.add('up/strided_slice', 'StridedSlice', ['up/Shape', 'up/strided_slice/stack', 'up/strided_slice/stack_1', 'up/strided_slice/stack_2'], { T: { type: TfDType.int32 }, Index: { type: TfDType.int32 }, begin_mask: { i: 0 }, end_mask: { i: 0 }, ellipsis_mask: { i: 0 }, new_axis_mask: { i: 0 }, shrink_axis_mask: { i: 1 } });
  // tf.layers.Conv2DTranspose: out_height = Shape(x)[1] * stride (SAME), computed in the graph.
  for (const [k, axis] of [[1, 1], [2, 2]] as const) {
    g.const(`up/strided_slice_${k}/stack`, [1], [axis], TfDType.int32);
    g.const(`up/strided_slice_${k}/stack_1`, [1], [axis + 1], TfDType.int32);
    g.add(`up/strided_slice_${k}`, 'StridedSlice', ['up/Shape', `up/strided_slice_${k}/stack`, `up/strided_slice_${k}/stack_1`, 'up/strided_slice/stack_2'], { T: { type: TfDType.int32 }, Index: { type: TfDType.int32 }, begin_mask: { i: 0 }, end_mask: { i: 0 }, ellipsis_mask: { i: 0 }, new_axis_mask: { i: 0 }, shrink_axis_mask: { i: 1 } });
    g.const(`up/mul_${k}/y`, [], [2], TfDType.int32);
    g.add(`up/stack/${k}`, 'Mul', [`up/strided_slice_${k}`, `up/mul_${k}/y`], { T: { type: TfDType.int32 } });
  }
  g.const('up/stack/3', [], [8], TfDType.int32);
  g.add('up/stack', 'Pack', ['up/strided_slice', 'up/stack/1', 'up/stack/2', 'up/stack/3'], { T: { type: TfDType.int32 }, N: { i: 4 }, axis: { i: 0 } });
  g.const('up/kernel', [3, 3, 8, 16], Wt);
  g.const('up/bias', [8], Bt);
  g.add('up/conv2d_transpose', 'Conv2DBackpropInput', ['up/stack', 'up/kernel', 'dropout/mul'], { T, strides: ints(1, 2, 2, 1), padding: strAttr('SAME'), data_format: strAttr('NHWC'), dilations: ints(1, 1, 1, 1) });
  g.add('up/BiasAdd', 'BiasAdd', ['up/conv2d_transpose', 'up/bias'], { T, data_format: strAttr('NHWC') });

  g.add('avg', 'AvgPool', ['relu1'], { T, ksize: ints(1, 3, 3, 1), strides: ints(1, 1, 1, 1), padding: strAttr('SAME'), data_format: strAttr('NHWC') });
  g.const('concat/axis', [], [3], TfDType.int32);
  g.add('concat', 'ConcatV2', ['up/BiasAdd', 'relu1', 'avg', 'concat/axis'], { T, N: { i: 3 }, Tidx: { type: TfDType.int32 } });
  g.const('out/kernel', [1, 1, 24, 2], W3);
  g.const('out/bias', [2], B3);
  g.add('out/Conv2D', 'Conv2D', ['concat', 'out/kernel'], { T, strides: ints(1, 1, 1, 1), padding: strAttr('VALID'), data_format: strAttr('NHWC'), dilations: ints(1, 1, 1, 1) });
  g.add('inference/logits', 'BiasAdd', ['out/Conv2D', 'out/bias'], { T, data_format: strAttr('NHWC') });
  g.const('inference/prediction/dimension', [], [3], TfDType.int32);
  g.add('inference/prediction', 'ArgMax', ['inference/logits', 'inference/prediction/dimension'], { T, Tidx: { type: TfDType.int32 }, output_type: { type: TfDType.int64 } });

  const reference = (input: Float32Array, n: number): { logits: Nhwc; classes: Int32Array } => {
    const x: Nhwc = { n, h: size, w: size, c: 3, data: input.map((v) => Math.fround(v / 255)) };
    let c1 = conv2d(x, W1, 3, 3, 8, 1, 'SAME');
    c1 = map(c1, (v, c) => v + B1[c]!);
    const r1 = map(c1, (v, c) => Math.max(0, ((v - mean[c]!) / Math.sqrt(variance[c]! + eps)) * gamma[c]! + beta[c]!));
    const p1 = pool(r1, 2, 2, 'SAME', 'max');
    const r2 = map(conv2d(p1, W2, 3, 3, 16, 1, 'SAME'), (v, c) => Math.max(0, v + B2[c]!));
    if (r2.h !== half || half * 2 !== size) throw new Error('reference: the size must be even');
    const up = map(conv2dTranspose(r2, Wt, 3, 3, 8, size, size, 2, 'SAME'), (v, c) => v + Bt[c]!);
    const avg = pool(r1, 3, 1, 'SAME', 'avg');
    const cat = concatChannels([up, r1, avg]);
    const logits = map(conv2d(cat, W3, 1, 1, 2, 1, 'VALID'), (v, c) => v + B3[c]!);
    return { logits, classes: argmaxChannels(logits) };
  };
  const graph = g.graph();
  return { graph, bytes: g.encode(), size, reference };
}
