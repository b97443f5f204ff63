/**
 * Writes a folded TF graph (`graph-fold.ts`) as an ONNX model (opset 13) that ONNX Runtime runs.
 *
 * TF graphs are NHWC, ONNX convolutions NCHW. The model keeps the placeholder's NHWC input; every
 * tensor may exist in either layout and is transposed only where an op needs the other one, so a
 * conv → BN → relu → pool → concat chain runs NCHW end to end with one transpose at the input and
 * one before an NHWC-only op (reshape, matmul) or the output. Bias adds and inference batch norms
 * that follow a convolution are folded into its weights.
 */
import { ProtoWriter } from './protobuf.js';
import { TfDType, attrString, dtypeName, numel } from './tf-graphdef.js';
import type { TfAttr, TfTensor } from './tf-graphdef.js';
import { graphError, stridedSliceSpec } from './graph-fold.js';
import type { Dim, FoldedGraph, FoldedNode, SliceAxis, TensorInfo } from './graph-fold.js';

export const ONNX_OPSET = 13;

const OnnxType = { float: 1, uint8: 2, int8: 3, int32: 6, int64: 7, bool: 9, double: 11 } as const;

function onnxType(tfDtype: number, where: string): number {
  switch (tfDtype % 100) {
    case TfDType.float: case TfDType.half: return OnnxType.float;
    case TfDType.double: return OnnxType.double;
    case TfDType.int32: return OnnxType.int32;
    case TfDType.int64: return OnnxType.int64;
    case TfDType.uint8: return OnnxType.uint8;
    case TfDType.int8: return OnnxType.int8;
    case TfDType.bool: return OnnxType.bool;
    default: throw graphError(`dtype ${dtypeName(tfDtype)} has no ONNX equivalent here`, where);
  }
}

type AttrV = number | string | number[] | { floats: number[] } | { float: number };

interface ONode {
  op: string;
  inputs: string[];
  outputs: string[];
  name: string;
  attrs: Record<string, AttrV>;
}

interface Init {
  dims: number[];
  type: number;
  data: ArrayLike<number>;
}

interface ConvRecord {
  node: ONode;
  /** OIHW (or IOHW for ConvTranspose) weights, mutable until the end. */
  weight: Float32Array;
  weightDims: number[];
  bias: Float32Array | undefined;
  outChannels: number;
  transposed: boolean;
}

export interface OnnxModel {
  bytes: Uint8Array;
  /** Float parameters in the model (weights and biases). */
  parameters: number;
  /** Multiply-adds × 2 of the convolutions and matrix products at batch 1 (0 where sizes are unknown). */
  flops: number;
  inputNames: string[];
  outputNames: string[];
  /** ONNX op types used, with counts. */
  opCounts: Record<string, number>;
}

const TO_NCHW = [0, 3, 1, 2];
const TO_NHWC = [0, 2, 3, 1];

/** The output name as the card gives it: the TF tensor name without `:0`. */
export function onnxName(tfRef: string): string {
  return tfRef.endsWith(':0') ? tfRef.slice(0, -2) : tfRef;
}

export function writeOnnx(g: FoldedGraph, producer = 'sgus-live import-frozen'): OnnxModel {
  const nodes: ONode[] = [];
  const inits = new Map<string, Init>();
  const convs = new Map<string, ConvRecord>();
  const consts = new Map<string, TfTensor>();
  const infos = new Map<string, TensorInfo>();
  /** Each TF tensor's ONNX names per layout (rank-4 tensors may have an NCHW twin). */
  const rep = new Map<string, { nhwc?: string; nchw?: string }>();
  const consumers = new Map<string, number>();
  const taken = new Set<string>();
  let flops = 0;

  for (const n of g.nodes) {
    n.outputs.forEach((o, k) => infos.set(k === 0 ? n.name : `${n.name}:${k}`, o));
    if (n.op === 'Const') consts.set(n.name, n.attr.value!.tensor!);
    for (const i of n.inputs) consumers.set(i, (consumers.get(i) ?? 0) + 1);
  }
  for (const o of g.outputs) consumers.set(o.ref, (consumers.get(o.ref) ?? 0) + 1);

  const unique = (base: string): string => {
    let name = base;
    for (let k = 1; taken.has(name); k++) name = `${base}_${k}`;
    taken.add(name);
    return name;
  };
  const emit = (op: string, inputs: string[], outputs: string[], attrs: Record<string, AttrV> = {}, name?: string): ONode => {
    const node: ONode = { op, inputs, outputs, attrs, name: name ?? outputs[0]! };
    nodes.push(node);
    return node;
  };
  const init = (base: string, dims: number[], type: number, data: ArrayLike<number>): string => {
    const name = unique(base);
    inits.set(name, { dims, type, data });
    return name;
  };
  const i64 = (base: string, values: number[], scalar = false): string => init(base, scalar ? [] : [values.length], OnnxType.int64, values);
  const f32 = (base: string, dims: number[], values: ArrayLike<number>): string => init(base, dims, OnnxType.float, values);

  const constOf = (ref: string, node: FoldedNode, what: string): TfTensor => {
    const t = consts.get(ref);
    if (t === undefined) throw graphError(`${what} of '${node.op}' must be a constant`, node.name);
    return t;
  };
  const infoOf = (ref: string): TensorInfo => {
    const i = infos.get(ref);
    if (i === undefined) throw graphError(`internal: no shape for '${ref}'`);
    return i;
  };
  const nhwc = (ref: string): string => {
    const c = consts.get(ref);
    if (c !== undefined) {
      const r = rep.get(ref);
      if (r?.nhwc) return r.nhwc;
      const name = init(ref, c.shape, onnxType(c.dtype, ref), c.data);
      rep.set(ref, { nhwc: name });
      return name;
    }
    const r = rep.get(ref);
    if (r === undefined) throw graphError(`internal: '${ref}' not emitted`);
    if (r.nhwc === undefined) {
      r.nhwc = unique(ref);
      emit('Transpose', [r.nchw!], [r.nhwc], { perm: TO_NHWC });
    }
    return r.nhwc;
  };
  const nchw = (ref: string): string => {
    const r = rep.get(ref);
    if (r?.nchw !== undefined) return r.nchw;
    const src = nhwc(ref);
    const r2 = rep.get(ref)!;
    r2.nchw = unique(`${ref}/nchw`);
    emit('Transpose', [src], [r2.nchw], { perm: TO_NCHW });
    return r2.nchw;
  };
  const hasNchw = (ref: string): boolean => rep.get(ref)?.nchw !== undefined;
  const setOut = (n: FoldedNode, layout: 'nhwc' | 'nchw', name: string, k = 0): void => {
    rep.set(k === 0 ? n.name : `${n.name}:${k}`, { [layout]: name });
  };
  const outName = (n: FoldedNode, layout: 'nhwc' | 'nchw'): string => (layout === 'nhwc' ? unique(n.name) : unique(`${n.name}/nchw`));
  const is4 = (ref: string): boolean => infoOf(ref).shape.length === 4;

  const convRecordOf = (ref: string): ConvRecord | undefined => {
    const c = convs.get(ref);
    return c !== undefined && consumers.get(ref) === 1 && rep.get(ref)?.nhwc === undefined ? c : undefined;
  };

  /** A per-channel vector const that broadcasts along the last axis of a rank-4 NHWC tensor. */
  const channelVector = (ref: string, x: string): Float32Array | undefined => {
    const t = consts.get(ref);
    const c = infoOf(x).shape[3];
    if (t === undefined || t.dtype % 100 !== TfDType.float) return undefined;
    if (t.data.length === 1 && c !== null && c !== undefined) return new Float32Array(c).fill(t.data[0]!);
    const rank = t.shape.length;
    if (t.data.length === c && t.shape.slice(0, rank - 1).every((d) => d === 1)) return Float32Array.from(t.data);
    return undefined;
  };

  /** y = x * a + b per channel, folded into the preceding convolution where there is one. */
  const affine = (n: FoldedNode, x: string, a: Float32Array | undefined, b: Float32Array | undefined): void => {
    const conv = convRecordOf(x);
    if (conv !== undefined) {
      const co = conv.outChannels;
      const bias = conv.bias ?? new Float32Array(co);
      if (a !== undefined) {
        const per = conv.weight.length / co;
        if (conv.transposed) {
          // IOHW: the output channel is the second axis.
          const [ci, , kh, kw] = conv.weightDims as [number, number, number, number];
          for (let i = 0; i < ci; i++) for (let o = 0; o < co; o++) for (let k = 0; k < kh * kw; k++) conv.weight[(i * co + o) * kh * kw + k]! *= a[o]!;
        } else for (let o = 0; o < co; o++) for (let k = 0; k < per; k++) conv.weight[o * per + k]! *= a[o]!;
        for (let o = 0; o < co; o++) bias[o] = bias[o]! * a[o]!;
      }
      if (b !== undefined) for (let o = 0; o < co; o++) bias[o] = bias[o]! + b[o]!;
      conv.bias = bias;
      convs.delete(x);
      convs.set(n.name, conv);
      setOut(n, 'nchw', rep.get(x)!.nchw!);
      return;
    }
    const c = (a ?? b)!.length;
    let cur = nchw(x);
    if (a !== undefined) {
      const o = unique(`${n.name}/scale`);
      emit('Mul', [cur, f32(`${n.name}/a`, [c, 1, 1], a)], [o]);
      cur = o;
    }
    if (b !== undefined) {
      const o = unique(`${n.name}/nchw`);
      emit('Add', [cur, f32(`${n.name}/b`, [c, 1, 1], b)], [o]);
      cur = o;
    }
    setOut(n, 'nchw', cur);
  };

  const spatial = (n: FoldedNode, ref: string): { h: Dim; w: Dim } => {
    const s = infoOf(ref).shape;
    return { h: s[1]!, w: s[2]! };
  };
  /** TF padding → ONNX pads [top, left, bottom, right]. */
  const padsFor = (n: FoldedNode, inH: Dim, inW: Dim, kh: number, kw: number, sh: number, sw: number, dh: number, dw: number): number[] | 'SAME_UPPER' => {
    const padding = attrString(n.attr.padding) ?? 'VALID';
    if (padding === 'VALID') return [0, 0, 0, 0];
    if (padding === 'EXPLICIT') {
      const e = n.attr.explicit_paddings?.list?.i ?? [];
      return [e[2] ?? 0, e[4] ?? 0, e[3] ?? 0, e[5] ?? 0];
    }
    if (inH === null || inW === null) return 'SAME_UPPER';
    const total = (size: number, k: number, s: number, d: number): number => Math.max((Math.ceil(size / s) - 1) * s + (k - 1) * d + 1 - size, 0);
    const th = total(inH, kh, sh, dh);
    const tw = total(inW, kw, sw, dw);
    return [Math.floor(th / 2), Math.floor(tw / 2), th - Math.floor(th / 2), tw - Math.floor(tw / 2)];
  };
  const padAttrs = (p: number[] | 'SAME_UPPER'): Record<string, AttrV> => (p === 'SAME_UPPER' ? { auto_pad: 'SAME_UPPER' } : { pads: p });

  const UNARY: Record<string, string> = { Relu: 'Relu', Sigmoid: 'Sigmoid', Tanh: 'Tanh', Exp: 'Exp', Log: 'Log', Sqrt: 'Sqrt', Neg: 'Neg', Abs: 'Abs', Floor: 'Floor', Ceil: 'Ceil', Reciprocal: 'Reciprocal', Erf: 'Erf', Softplus: 'Softplus', Elu: 'Elu', Selu: 'Selu', LeakyRelu: 'LeakyRelu' };
  const BINARY: Record<string, string> = { Add: 'Add', AddV2: 'Add', BiasAdd: 'Add', Sub: 'Sub', Mul: 'Mul', RealDiv: 'Div', Div: 'Div', Maximum: 'Max', Minimum: 'Min', Pow: 'Pow', Greater: 'Greater', GreaterEqual: 'GreaterOrEqual', Less: 'Less', LessEqual: 'LessOrEqual', Equal: 'Equal' };

  /** A unary op applied in whichever layout the input already has. */
  const unary = (n: FoldedNode, build: (x: string, out: string) => void): void => {
    const x = n.inputs[0]!;
    const layout = hasNchw(x) ? 'nchw' : 'nhwc';
    const out = outName(n, layout);
    build(layout === 'nchw' ? nchw(x) : nhwc(x), out);
    setOut(n, layout, out);
  };

  for (const n of g.nodes) {
    const op = n.op;
    const ins = n.inputs;
    switch (op) {
      case 'Const':
        break;
      case 'Placeholder': {
        taken.add(n.name);
        const dtype = n.outputs[0]!.dtype % 100;
        if (dtype === TfDType.float || dtype === TfDType.half) {
          rep.set(n.name, { nhwc: n.name });
          break;
        }
        // Engines feed float32: a uint8 / int image placeholder gets a float input and a cast.
        const cast = unique(`${n.name}/as_${dtypeName(dtype)}`);
        emit('Cast', [n.name], [cast], { to: onnxType(dtype, n.name) });
        rep.set(n.name, { nhwc: cast });
        break;
      }
      case 'Conv2D':
      case 'DepthwiseConv2dNative': {
        const x = ins[0]!;
        const w = constOf(ins[1]!, n, 'the filter');
        const [kh, kw, ci, m] = w.shape as [number, number, number, number];
        const [, sh, sw] = n.attr.strides?.list?.i ?? [1, 1, 1, 1];
        const [, dh, dw] = n.attr.dilations?.list?.i ?? [1, 1, 1, 1];
        const depthwise = op === 'DepthwiseConv2dNative';
        const co = depthwise ? ci * m : m;
        // HWIO → OIHW; depthwise HW(C)(M) → (C·M)1HW.
        const weight = new Float32Array(co * (depthwise ? 1 : ci) * kh * kw);
        for (let y = 0; y < kh; y++) for (let xk = 0; xk < kw; xk++) for (let i = 0; i < ci; i++) for (let o = 0; o < m; o++) {
          const v = w.data[((y * kw + xk) * ci + i) * m + o]!;
          if (depthwise) weight[((i * m + o) * kh + y) * kw + xk] = v;
          else weight[((o * ci + i) * kh + y) * kw + xk] = v;
        }
        const { h, w: wd } = spatial(n, x);
        const pads = padsFor(n, h, wd, kh, kw, sh!, sw!, dh!, dw!);
        const out = outName(n, 'nchw');
        const node = emit('Conv', [nchw(x), '', ''], [out], { kernel_shape: [kh, kw], strides: [sh!, sw!], dilations: [dh!, dw!], group: depthwise ? ci : 1, ...padAttrs(pads) });
        convs.set(n.name, { node, weight, weightDims: [co, depthwise ? 1 : ci, kh, kw], bias: undefined, outChannels: co, transposed: false });
        setOut(n, 'nchw', out);
        const os = n.outputs[0]!.shape;
        if (os[1] !== null && os[2] !== null) flops += 2 * os[1]! * os[2]! * co * (depthwise ? 1 : ci) * kh * kw;
        break;
      }
      case 'Conv2DBackpropInput': {
        const sizes = Array.from(constOf(ins[0]!, n, 'input_sizes').data);
        const w = constOf(ins[1]!, n, 'the filter');
        const x = ins[2]!;
        const [kh, kw, co, ci] = w.shape as [number, number, number, number];
        const [, sh, sw] = n.attr.strides?.list?.i ?? [1, 1, 1, 1];
        const [, dh, dw] = n.attr.dilations?.list?.i ?? [1, 1, 1, 1];
        // filter [kh, kw, out, in] → ONNX ConvTranspose [in, out, kh, kw].
        const weight = new Float32Array(ci * co * kh * kw);
        for (let y = 0; y < kh; y++) for (let xk = 0; xk < kw; xk++) for (let o = 0; o < co; o++) for (let i = 0; i < ci; i++) {
          weight[((i * co + o) * kh + y) * kw + xk] = w.data[((y * kw + xk) * co + o) * ci + i]!;
        }
        const { h: inH, w: inW } = spatial(n, x);
        if (inH === null || inW === null) throw graphError('transposed convolution needs known spatial sizes', n.name);
        const outH = sizes[1]!;
        const outW = sizes[2]!;
        // The pads of the forward convolution (output size → input size), and what is left over
        // at the end of the output as output_padding.
        const forward = padsFor(n, outH, outW, kh, kw, sh!, sw!, dh!, dw!) as number[];
        const pb = [forward[0]!, forward[1]!];
        const full = [(inH - 1) * sh! + (kh - 1) * dh! + 1, (inW - 1) * sw! + (kw - 1) * dw! + 1];
        const extra = [full[0]! - pb[0]! - outH, full[1]! - pb[1]! - outW];
        const pads = [pb[0]!, pb[1]!, Math.max(extra[0]!, 0), Math.max(extra[1]!, 0)];
        const outputPadding = [Math.max(-extra[0]!, 0), Math.max(-extra[1]!, 0)];
        const out = outName(n, 'nchw');
        const node = emit('ConvTranspose', [nchw(x), '', ''], [out], { kernel_shape: [kh, kw], strides: [sh!, sw!], dilations: [dh!, dw!], pads, output_padding: outputPadding });
        convs.set(n.name, { node, weight, weightDims: [ci, co, kh, kw], bias: undefined, outChannels: co, transposed: true });
        setOut(n, 'nchw', out);
        flops += 2 * inH * inW * ci * co * kh * kw;
        break;
      }
      case 'FusedBatchNorm':
      case 'FusedBatchNormV2':
      case 'FusedBatchNormV3': {
        const [scale, offset, mean, variance] = [1, 2, 3, 4].map((i) => constOf(ins[i]!, n, 'scale/offset/mean/variance'));
        const eps = n.attr.epsilon?.f ?? 1e-3;
        const c = scale!.data.length;
        const a = new Float32Array(c);
        const b = new Float32Array(c);
        for (let k = 0; k < c; k++) {
          a[k] = scale!.data[k]! / Math.sqrt(variance!.data[k]! + eps);
          b[k] = offset!.data[k]! - mean!.data[k]! * a[k]!;
        }
        affine(n, ins[0]!, a, b);
        break;
      }
      case 'MaxPool':
      case 'AvgPool': {
        const x = ins[0]!;
        const [, kh, kw] = n.attr.ksize?.list?.i ?? [1, 1, 1, 1];
        const [, sh, sw] = n.attr.strides?.list?.i ?? [1, 1, 1, 1];
        const { h, w } = spatial(n, x);
        const pads = padsFor(n, h, w, kh!, kw!, sh!, sw!, 1, 1);
        const out = outName(n, 'nchw');
        emit(op === 'MaxPool' ? 'MaxPool' : 'AveragePool', [nchw(x)], [out], { kernel_shape: [kh!, kw!], strides: [sh!, sw!], ...padAttrs(pads), ...(op === 'AvgPool' ? { count_include_pad: 0 } : {}) });
        setOut(n, 'nchw', out);
        break;
      }
      case 'Relu6':
        unary(n, (x, out) => emit('Clip', [x, f32(`${n.name}/min`, [], [0]), f32(`${n.name}/max`, [], [6])], [out]));
        break;
      case 'Rsqrt':
        unary(n, (x, out) => {
          const s = unique(`${n.name}/sqrt`);
          emit('Sqrt', [x], [s]);
          emit('Reciprocal', [s], [out]);
        });
        break;
      case 'Square':
        unary(n, (x, out) => emit('Mul', [x, x], [out]));
        break;
      case 'Softmax':
      case 'LogSoftmax': {
        const x = ins[0]!;
        const rank = infoOf(x).shape.length;
        const useNchw = rank === 4 && hasNchw(x);
        const out = outName(n, useNchw ? 'nchw' : 'nhwc');
        emit(op, [useNchw ? nchw(x) : nhwc(x)], [out], { axis: useNchw ? 1 : -1 });
        setOut(n, useNchw ? 'nchw' : 'nhwc', out);
        break;
      }
      case 'Cast': {
        const to = onnxType(n.attr.DstT?.type ?? TfDType.float, n.name);
        unary(n, (x, out) => emit('Cast', [x], [out], { to }));
        break;
      }
      case 'ConcatV2': {
        const parts = ins.slice(0, -1);
        const rank = infoOf(parts[0]!).shape.length;
        let axis = constOf(ins[ins.length - 1]!, n, 'axis').data[0]!;
        if (axis < 0) axis += rank;
        const useNchw = rank === 4 && parts.some((p) => hasNchw(p));
        const out = outName(n, useNchw ? 'nchw' : 'nhwc');
        emit('Concat', parts.map((p) => (useNchw ? nchw(p) : nhwc(p))), [out], { axis: useNchw ? TO_NCHW.indexOf(axis) : axis });
        setOut(n, useNchw ? 'nchw' : 'nhwc', out);
        break;
      }
      case 'MatMul': {
        const ta = n.attr.transpose_a?.b === true;
        const tb = n.attr.transpose_b?.b === true;
        const side = (ref: string, t: boolean): string => {
          const c = consts.get(ref);
          if (c !== undefined && t) {
            const [r, k] = c.shape as [number, number];
            const d = new Float32Array(r * k);
            for (let i = 0; i < r; i++) for (let j = 0; j < k; j++) d[j * r + i] = c.data[i * k + j]!;
            return f32(`${ref}/transposed`, [k, r], d);
          }
          if (!t) return nhwc(ref);
          const o = unique(`${ref}/transposed`);
          emit('Transpose', [nhwc(ref)], [o], { perm: [1, 0] });
          return o;
        };
        const out = outName(n, 'nhwc');
        emit('MatMul', [side(ins[0]!, ta), side(ins[1]!, tb)], [out]);
        setOut(n, 'nhwc', out);
        const [m, k2] = n.outputs[0]!.shape;
        const bs = infoOf(ins[1]!).shape;
        if (k2 !== null && bs[0] !== null) flops += 2 * (m ?? 1) * (k2 as number) * (tb ? bs[1]! : bs[0]!)!;
        break;
      }
      case 'ArgMax': {
        const x = ins[0]!;
        const rank = infoOf(x).shape.length;
        let axis = constOf(ins[1]!, n, 'dimension').data[0]!;
        if (axis < 0) axis += rank;
        // In NCHW only over the channel axis: the other axes would leave a differently ordered result.
        const useNchw = rank === 4 && axis === 3 && hasNchw(x);
        const wantInt32 = (n.attr.output_type?.type ?? TfDType.int64) % 100 === TfDType.int32;
        const out = unique(n.name);
        const am = wantInt32 ? unique(`${n.name}/int64`) : out;
        emit('ArgMax', [useNchw ? nchw(x) : nhwc(x)], [am], { axis: useNchw ? TO_NCHW.indexOf(axis) : axis, keepdims: 0 });
        if (wantInt32) emit('Cast', [am], [out], { to: OnnxType.int32 });
        setOut(n, 'nhwc', out);
        break;
      }
      case 'Mean':
      case 'Sum':
      case 'Max':
      case 'Min': {
        const x = ins[0]!;
        const rank = infoOf(x).shape.length;
        const axes = Array.from(constOf(ins[1]!, n, 'axes').data).map((a) => (a < 0 ? a + rank : a));
        const keepdims = n.attr.keep_dims?.b === true ? 1 : 0;
        const out = outName(n, 'nhwc');
        const onnxOp = { Mean: 'ReduceMean', Sum: 'ReduceSum', Max: 'ReduceMax', Min: 'ReduceMin' }[op]!;
        if (onnxOp === 'ReduceSum') emit(onnxOp, [nhwc(x), i64(`${n.name}/axes`, axes)], [out], { keepdims });
        else emit(onnxOp, [nhwc(x)], [out], { axes, keepdims });
        setOut(n, 'nhwc', out);
        break;
      }
      case 'ResizeBilinear':
      case 'ResizeNearestNeighbor': {
        const x = ins[0]!;
        const size = Array.from(constOf(ins[1]!, n, 'size').data);
        const align = n.attr.align_corners?.b === true;
        const half = n.attr.half_pixel_centers?.b === true;
        const bilinear = op === 'ResizeBilinear';
        const src = nchw(x);
        const shp = unique(`${n.name}/shape`);
        emit('Shape', [src], [shp]);
        const nc = unique(`${n.name}/nc`);
        emit('Slice', [shp, i64(`${n.name}/starts`, [0]), i64(`${n.name}/ends`, [2])], [nc]);
        const sizes = unique(`${n.name}/sizes`);
        emit('Concat', [nc, i64(`${n.name}/hw`, size)], [sizes], { axis: 0 });
        const out = outName(n, 'nchw');
        emit('Resize', [src, '', '', sizes], [out], {
          mode: bilinear ? 'linear' : 'nearest',
          coordinate_transformation_mode: align ? 'align_corners' : half ? (bilinear ? 'half_pixel' : 'tf_half_pixel_for_nn') : 'asymmetric',
          nearest_mode: align ? 'round_prefer_ceil' : 'floor',
        });
        setOut(n, 'nchw', out);
        break;
      }
      case 'Reshape': {
        const target = Array.from(constOf(ins[1]!, n, 'shape').data);
        const out = outName(n, 'nhwc');
        emit('Reshape', [nhwc(ins[0]!), i64(`${n.name}/shape`, target)], [out]);
        setOut(n, 'nhwc', out);
        break;
      }
      case 'Squeeze':
      case 'ExpandDims': {
        const x = ins[0]!;
        const rank = infoOf(x).shape.length;
        let axes: number[];
        if (op === 'Squeeze') {
          const sq = n.attr.squeeze_dims?.list?.i ?? [];
          axes = sq.length > 0 ? sq.map((a) => (a < 0 ? a + rank : a)) : infoOf(x).shape.flatMap((d, i) => (d === 1 ? [i] : []));
        } else {
          const a = constOf(ins[1]!, n, 'axis').data[0]!;
          axes = [a < 0 ? a + rank + 1 : a];
        }
        const out = outName(n, 'nhwc');
        emit(op === 'Squeeze' ? 'Squeeze' : 'Unsqueeze', [nhwc(x), i64(`${n.name}/axes`, axes)], [out]);
        setOut(n, 'nhwc', out);
        break;
      }
      case 'Pad':
      case 'PadV2':
      case 'MirrorPad': {
        const x = ins[0]!;
        const p = Array.from(constOf(ins[1]!, n, 'paddings').data);
        const rank = p.length / 2;
        const mode = op === 'MirrorPad' ? (attrString(n.attr.mode) ?? 'REFLECT') : 'CONSTANT';
        if (mode !== 'CONSTANT' && mode !== 'REFLECT') throw graphError(`MirrorPad mode ${mode} is not supported (REFLECT is)`, n.name);
        const useNchw = rank === 4 && hasNchw(x);
        const perm = useNchw ? TO_NCHW : Array.from({ length: rank }, (_, i) => i);
        const pads = [...perm.map((a) => p[2 * a]!), ...perm.map((a) => p[2 * a + 1]!)];
        const value = op === 'PadV2' ? constOf(ins[2]!, n, 'constant_values').data[0]! : 0;
        const out = outName(n, useNchw ? 'nchw' : 'nhwc');
        emit('Pad', [useNchw ? nchw(x) : nhwc(x), i64(`${n.name}/pads`, pads), f32(`${n.name}/value`, [], [value])], [out], { mode: mode === 'REFLECT' ? 'reflect' : 'constant' });
        setOut(n, useNchw ? 'nchw' : 'nhwc', out);
        break;
      }
      case 'Transpose': {
        const perm = Array.from(constOf(ins[1]!, n, 'perm').data);
        const out = outName(n, 'nhwc');
        emit('Transpose', [nhwc(ins[0]!)], [out], { perm });
        setOut(n, 'nhwc', out);
        break;
      }
      case 'StridedSlice':
      case 'Slice': {
        const x = ins[0]!;
        const xs = infoOf(x).shape;
        const BIG = 2 ** 31 - 1;
        let spec: SliceAxis[];
        if (op === 'Slice') {
          const begin = Array.from(constOf(ins[1]!, n, 'begin').data);
          const size = Array.from(constOf(ins[2]!, n, 'size').data);
          spec = xs.map((d, i) => ({ start: begin[i]!, end: size[i] === -1 ? null : begin[i]! + size[i]!, step: 1, shrink: false, size: d }));
        } else {
          const [b, e, st] = [1, 2, 3].map((i) => Array.from(constOf(ins[i]!, n, 'begin/end/strides').data));
          spec = stridedSliceSpec(xs, b!, e!, st!, { name: n.name, op: n.op, inputs: n.inputs, device: '', attr: n.attr });
        }
        const axes = spec.flatMap((a, i) => (a.start === 0 && a.end === null && a.step === 1 ? [] : [i]));
        let cur = nhwc(x);
        if (axes.length > 0) {
          const o = unique(`${n.name}/slice`);
          const sa = axes.map((i) => spec[i]!);
          emit('Slice', [cur, i64(`${n.name}/starts`, sa.map((a) => a.start)), i64(`${n.name}/ends`, sa.map((a) => a.end ?? (a.step > 0 ? BIG : -BIG))), i64(`${n.name}/axes`, axes), i64(`${n.name}/steps`, sa.map((a) => a.step))], [o]);
          cur = o;
        }
        const shrink = spec.flatMap((a, i) => (a.shrink ? [i] : []));
        const out = outName(n, 'nhwc');
        if (shrink.length > 0) emit('Squeeze', [cur, i64(`${n.name}/shrink`, shrink)], [out]);
        else emit('Identity', [cur], [out]);
        setOut(n, 'nhwc', out);
        break;
      }
      case 'AddN': {
        const useNchw = ins.every((i) => hasNchw(i) && is4(i));
        const out = outName(n, useNchw ? 'nchw' : 'nhwc');
        emit('Sum', ins.map((i) => (useNchw ? nchw(i) : nhwc(i))), [out]);
        setOut(n, useNchw ? 'nchw' : 'nhwc', out);
        break;
      }
      case 'SquaredDifference': {
        const d = unique(`${n.name}/diff`);
        emit('Sub', [nhwc(ins[0]!), nhwc(ins[1]!)], [d]);
        const out = outName(n, 'nhwc');
        emit('Mul', [d, d], [out]);
        setOut(n, 'nhwc', out);
        break;
      }
      default: {
        if (UNARY[op] !== undefined) {
          const attrs: Record<string, AttrV> = op === 'LeakyRelu' ? { alpha: { float: n.attr.alpha?.f ?? 0.2 } } : {};
          unary(n, (x, out) => emit(UNARY[op]!, [x], [out], attrs));
          break;
        }
        if (BINARY[op] !== undefined) {
          const [a, b] = [ins[0]!, ins[1]!];
          const sa = infoOf(a).shape;
          const sb = infoOf(b).shape;
          // Per-channel scale / shift of a rank-4 tensor: fold into a convolution or run NCHW.
          if ((op === 'BiasAdd' || op === 'Add' || op === 'AddV2' || op === 'Mul') && sa.length === 4 && !consts.has(a)) {
            const v = channelVector(b, a);
            if (v !== undefined && (hasNchw(a) || convRecordOf(a) !== undefined)) {
              if (op === 'Mul') affine(n, a, v, undefined);
              else affine(n, a, undefined, v);
              break;
            }
          }
          const both4 = sa.length === 4 && sb.length === 4;
          const aScalar = consts.has(a) && numel(sa as number[]) === 1;
          const bScalar = consts.has(b) && numel(sb as number[]) === 1;
          const useNchw = (both4 && hasNchw(a) && hasNchw(b)) || (sa.length === 4 && hasNchw(a) && bScalar) || (sb.length === 4 && hasNchw(b) && aScalar);
          const side = (ref: string, scalar: boolean): string => {
            if (scalar) {
              const c = consts.get(ref)!;
              return init(ref, [], onnxType(c.dtype, ref), c.data);
            }
            return useNchw ? nchw(ref) : nhwc(ref);
          };
          const out = outName(n, useNchw ? 'nchw' : 'nhwc');
          emit(BINARY[op]!, [side(a, aScalar), side(b, bScalar)], [out]);
          setOut(n, useNchw ? 'nchw' : 'nhwc', out);
          break;
        }
        throw graphError(`unsupported op '${op}' at node '${n.name}' (no ONNX mapping)`);
      }
    }
  }

  // Outputs: NHWC, named as asked for.
  const outputNames: string[] = [];
  const outputInfos: TensorInfo[] = [];
  for (const o of g.outputs) {
    const want = onnxName(o.name);
    const have = nhwc(o.ref);
    if (have !== want) {
      if (taken.has(want) && have !== want) {
        // The name is in use by an intermediate tensor: rename that one is not possible, so
        // route through an Identity only when free.
        throw graphError(`output name '${want}' clashes with another tensor`);
      }
      taken.add(want);
      emit('Identity', [have], [want]);
    }
    outputNames.push(want);
    outputInfos.push({ shape: o.shape, dtype: o.dtype });
  }

  // Convolution weights, now final.
  for (const c of new Set(convs.values())) {
    c.node.inputs[1] = f32(`${c.node.name}/W`, c.weightDims, c.weight);
    if (c.bias !== undefined) c.node.inputs[2] = f32(`${c.node.name}/B`, [c.outChannels], c.bias);
    else c.node.inputs.length = 2;
  }
  // Convolutions whose records were moved by folding are in `convs` under another key; the loop
  // above covers them. Any convolution node left without weights is a bug.
  for (const nd of nodes) if ((nd.op === 'Conv' || nd.op === 'ConvTranspose') && nd.inputs[1] === '') throw graphError(`internal: convolution '${nd.name}' lost its weights`);

  // Initializers not referenced by any node (folded-away biases) are dropped.
  const used = new Set(nodes.flatMap((nd) => nd.inputs));
  let parameters = 0;
  for (const [name, i] of inits) {
    if (!used.has(name)) inits.delete(name);
    // Scalars are arithmetic constants (x / 255), not learned parameters.
    else if (i.type === OnnxType.float && i.data.length > 1) parameters += i.data.length;
  }

  const opCounts: Record<string, number> = {};
  for (const nd of nodes) opCounts[nd.op] = (opCounts[nd.op] ?? 0) + 1;

  const w = new ProtoWriter();
  w.int(1, 7); // ir_version 7 goes with opset 13
  w.string(2, producer);
  w.string(3, '1');
  w.message(7, (gw) => {
    for (const nd of nodes) gw.message(1, (nw) => writeNode(nw, nd));
    gw.string(2, 'imported_tf_graph');
    for (const [name, i] of inits) gw.message(5, (tw) => writeOnnxTensor(tw, name, i));
    for (const inp of g.inputs) gw.message(11, (vw) => writeValueInfo(vw, inp.name, { shape: inp.shape, dtype: TfDType.float }));
    outputNames.forEach((name, k) => gw.message(12, (vw) => writeValueInfo(vw, name, outputInfos[k]!)));
  });
  w.message(8, (ow) => {
    ow.string(1, '');
    ow.int(2, ONNX_OPSET);
  });
  return { bytes: w.finish(), parameters, flops, inputNames: g.inputs.map((i) => i.name), outputNames, opCounts };
}

function writeNode(w: ProtoWriter, n: ONode): void {
  // Trailing empty optional inputs are dropped; inner ones stay as ''.
  const inputs = [...n.inputs];
  while (inputs.length > 0 && inputs[inputs.length - 1] === '') inputs.pop();
  for (const i of inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  w.string(3, n.name);
  w.string(4, n.op);
  for (const [name, v] of Object.entries(n.attrs)) {
    w.message(5, (aw) => {
      aw.string(1, name);
      if (typeof v === 'number') aw.int(20, 2).int(3, v);
      else if (typeof v === 'string') aw.int(20, 3).string(4, v);
      else if (Array.isArray(v)) {
        aw.int(20, 7);
        for (const x of v) aw.int(8, x);
      } else if ('float' in v) aw.int(20, 1).float(2, v.float);
      else {
        aw.int(20, 6);
        for (const x of v.floats) aw.float(7, x);
      }
    });
  }
}

function writeOnnxTensor(w: ProtoWriter, name: string, t: Init): void {
  for (const d of t.dims) w.int(1, d);
  w.int(2, t.type);
  w.string(8, name);
  const n = t.data.length;
  const size = t.type === OnnxType.int64 || t.type === OnnxType.double ? 8 : t.type === OnnxType.bool || t.type === OnnxType.uint8 || t.type === OnnxType.int8 ? 1 : 4;
  const b = new Uint8Array(n * size);
  const dv = new DataView(b.buffer);
  for (let i = 0; i < n; i++) {
    const v = t.data[i]!;
    switch (t.type) {
      case OnnxType.float: dv.setFloat32(i * 4, v, true); break;
      case OnnxType.double: dv.setFloat64(i * 8, v, true); break;
      case OnnxType.int32: dv.setInt32(i * 4, v, true); break;
      case OnnxType.int64: dv.setBigInt64(i * 8, BigInt(Math.trunc(v)), true); break;
      case OnnxType.int8: dv.setInt8(i, v); break;
      default: dv.setUint8(i, v);
    }
  }
  w.bytes(9, b);
}

function writeValueInfo(w: ProtoWriter, name: string, info: TensorInfo): void {
  w.string(1, name);
  w.message(2, (tw) =>
    tw.message(1, (tt) => {
      tt.int(1, onnxType(info.dtype, name));
      tt.message(2, (sw) => {
        info.shape.forEach((d, i) => sw.message(1, (dw) => (d === null ? dw.string(2, i === 0 ? 'N' : `d${i}`) : dw.int(1, d))));
      });
    }),
  );
}

export type { TfAttr };
