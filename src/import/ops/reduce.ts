/**
 * Reductions (`Mean`, `Sum`, `Max`, `Min` kept; `Prod`, `All`, `Any` on constants and shapes
 * only, e.g. the product of a shape for a flatten) and `ArgMax` (over channels it runs NCHW).
 */
import { TfDType, numel } from '../tf-graphdef.js';
import { OnnxType, TO_NCHW } from '../onnx-builder.js';
import { castValue, makeConst, needConst } from './const-math.js';
import type { ConstValue, FoldRule, OpHandler } from './types.js';

const REDUCE_CONST: Record<string, (a: number, b: number) => number> = { Sum: (a, b) => a + b, Prod: (a, b) => a * b, Max: Math.max, Min: Math.min, Mean: (a, b) => a + b, All: (a, b) => +(a !== 0 && b !== 0), Any: (a, b) => +(a !== 0 || b !== 0) };

/** A reduction of a constant or a shape; `undefined` (keep the node) on a computed tensor. */
const reduceFold: FoldRule = (c, node, ins) => {
  const op = node.op;
  if (ins[0]!.kind !== 'const' && ins[0]!.kind !== 'partial') return undefined;
  // Reductions on constants and shapes (e.g. the product of a shape for a flatten).
  const x = ins[0]!;
  const axesT = c.constOf(ins[1]!, node, 'axes');
  const keepDims = node.attr.keep_dims?.b === true;
  const f = REDUCE_CONST[op]!;
  if (x.kind === 'partial') {
    if (x.scalar) return [x];
    const known = x.dims.every((d) => d !== null);
    const v = known ? (x.dims as number[]).reduce(f) : null;
    const r = op === 'Mean' && v !== null ? v / x.dims.length : v;
    if (r === null) return [{ kind: 'partial', dims: [null], scalar: !keepDims, dtype: x.dtype }];
    return [makeConst(x.dtype, keepDims ? [1] : [], [r], node.name)];
  }
  const t = (x as ConstValue).t;
  const rank = t.shape.length;
  const axes = new Set(Array.from(axesT.data, (a) => (a < 0 ? a + rank : a)));
  const outShape = t.shape.map((d, i) => (axes.has(i) ? 1 : d));
  const out = new Float64Array(numel(outShape)).fill(NaN);
  const counts = new Float64Array(out.length);
  const idx = new Array<number>(rank).fill(0);
  for (let k = 0; k < t.data.length; k++) {
    let o = 0;
    for (let d = 0; d < rank; d++) o = o * outShape[d]! + (axes.has(d) ? 0 : idx[d]!);
    out[o] = Number.isNaN(out[o]!) ? t.data[k]! : f(out[o]!, t.data[k]!);
    counts[o]!++;
    for (let d = rank - 1; d >= 0; d--) {
      if (++idx[d]! < t.shape[d]!) break;
      idx[d] = 0;
    }
  }
  if (op === 'Mean') for (let o = 0; o < out.length; o++) out[o] = out[o]! / counts[o]!;
  return [makeConst(t.dtype, keepDims ? outShape : t.shape.filter((_, i) => !axes.has(i)), Array.from(out, (v) => castValue(v, t.dtype)), node.name)];
};

const ONNX_REDUCE: Record<string, string> = { Mean: 'ReduceMean', Sum: 'ReduceSum', Max: 'ReduceMax', Min: 'ReduceMin' };

export const reduceHandlers: OpHandler[] = [
  {
    ops: Object.keys(ONNX_REDUCE),
    fold: reduceFold,
    shape(node, ins) {
      const x = ins[0]!;
      const axes = Array.from(needConst(node, ins, 1, 'axes').data).map((a) => (a < 0 ? a + x.shape.length : a));
      const keepDims = node.attr.keep_dims?.b === true;
      return [{ shape: keepDims ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d)) : x.shape.filter((_, i) => !axes.includes(i)), dtype: node.attr.T?.type ?? x.dtype }];
    },
    onnx(c, n) {
      const x = n.inputs[0]!;
      const rank = c.infoOf(x).shape.length;
      const axes = Array.from(c.constOf(n.inputs[1]!, n, 'axes').data).map((a) => (a < 0 ? a + rank : a));
      const keepdims = n.attr.keep_dims?.b === true ? 1 : 0;
      const out = c.outName(n, 'nhwc');
      const onnxOp = ONNX_REDUCE[n.op]!;
      // Opset 13 takes ReduceSum's axes as an input and the others' as an attribute.
      if (onnxOp === 'ReduceSum') c.emit(onnxOp, [c.nhwc(x), c.i64(`${n.name}/axes`, axes)], [out], { keepdims });
      else c.emit(onnxOp, [c.nhwc(x)], [out], { axes, keepdims });
      c.setOut(n, 'nhwc', out);
    },
    tfjs: 'native',
  },
  { ops: ['Prod', 'All', 'Any'], fold: reduceFold },
  {
    ops: ['ArgMax'],
    shape(node, ins) {
      const x = ins[0]!;
      let ax = needConst(node, ins, 1, 'dimension').data[0]!;
      if (ax < 0) ax += x.shape.length;
      return [{ shape: x.shape.filter((_, i) => i !== ax), dtype: node.attr.output_type?.type ?? TfDType.int64 }];
    },
    onnx(c, n) {
      const x = n.inputs[0]!;
      const rank = c.infoOf(x).shape.length;
      let axis = c.constOf(n.inputs[1]!, n, 'dimension').data[0]!;
      if (axis < 0) axis += rank;
      // In NCHW only over the channel axis: the other axes would leave a differently ordered result.
      const useNchw = rank === 4 && axis === 3 && c.hasNchw(x);
      const wantInt32 = (n.attr.output_type?.type ?? TfDType.int64) % 100 === TfDType.int32;
      const out = c.unique(n.name);
      const am = wantInt32 ? c.unique(`${n.name}/int64`) : out;
      c.emit('ArgMax', [useNchw ? c.nchw(x) : c.nhwc(x)], [am], { axis: useNchw ? TO_NCHW.indexOf(axis) : axis, keepdims: 0 });
      if (wantInt32) c.emit('Cast', [am], [out], { to: OnnxType.int32 });
      c.setOut(n, 'nhwc', out);
    },
    tfjs: 'native',
  },
];
