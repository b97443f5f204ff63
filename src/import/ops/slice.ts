/**
 * Slicing: `StridedSlice` (on shapes it folds; on tensors it is kept) and `Slice`.
 */
import { graphError, unsupported } from '../folded-graph.js';
import type { Dim, FoldedNode } from '../folded-graph.js';
import type { TfNode } from '../tf-graphdef.js';
import type { OnnxBuilder } from '../onnx-builder.js';
import { makeConst, needConst } from './const-math.js';
import type { OpHandler } from './types.js';

/** StridedSlice on a 1-D vector (the shape-arithmetic case). Returns the picked indices. */
function stridedSlice1d(len: number, begin: number, end: number, stride: number, node: TfNode): { idx: number[]; shrink: boolean } {
  const bm = node.attr.begin_mask?.i ?? 0;
  const em = node.attr.end_mask?.i ?? 0;
  const sm = node.attr.shrink_axis_mask?.i ?? 0;
  if ((node.attr.ellipsis_mask?.i ?? 0) !== 0 || (node.attr.new_axis_mask?.i ?? 0) !== 0) throw unsupported(node, 'ellipsis/new-axis masks on a shape');
  if (stride === 0) throw graphError('stride 0', node.name);
  const norm = (i: number): number => (i < 0 ? i + len : i);
  if (sm & 1) {
    const i = norm(begin);
    if (i < 0 || i >= len) throw graphError(`index ${begin} out of range for a vector of ${len}`, node.name);
    return { idx: [i], shrink: true };
  }
  let b = bm & 1 ? (stride > 0 ? 0 : len - 1) : norm(begin);
  let e = em & 1 ? (stride > 0 ? len : -1) : norm(end);
  if (stride > 0) {
    b = Math.max(0, Math.min(len, b));
    e = Math.max(0, Math.min(len, e));
  } else {
    b = Math.max(-1, Math.min(len - 1, b));
    e = Math.max(-1, Math.min(len - 1, e));
  }
  const idx: number[] = [];
  for (let i = b; stride > 0 ? i < e : i > e; i += stride) idx.push(i);
  return { idx, shrink: false };
}

export interface SliceAxis {
  /** Python-style start/end (end exclusive; null = to the end in the step's direction). */
  start: number;
  end: number | null;
  step: number;
  shrink: boolean;
  size: Dim;
}

/** A StridedSlice on a tensor of known rank, axis by axis (no ellipsis / new-axis masks). */
export function stridedSliceSpec(shape: readonly Dim[], begin: number[], end: number[], strides: number[], node: TfNode): SliceAxis[] {
  const bm = node.attr.begin_mask?.i ?? 0;
  const em = node.attr.end_mask?.i ?? 0;
  const sm = node.attr.shrink_axis_mask?.i ?? 0;
  if ((node.attr.ellipsis_mask?.i ?? 0) !== 0 || (node.attr.new_axis_mask?.i ?? 0) !== 0) throw unsupported(node, 'ellipsis/new-axis masks');
  return shape.map((dim, i) => {
    if (i >= begin.length) return { start: 0, end: null, step: 1, shrink: false, size: dim };
    const step = strides[i] ?? 1;
    if (step === 0) throw graphError('stride 0', node.name);
    if (sm & (1 << i)) return { start: begin[i]!, end: begin[i] === -1 ? null : begin[i]! + 1, step: 1, shrink: true, size: 1 };
    const start = bm & (1 << i) ? (step > 0 ? 0 : -1) : begin[i]!;
    const stop = em & (1 << i) ? null : end[i]!;
    let size: Dim = null;
    if (dim !== null) {
      const norm = (v: number, lo: number, hi: number): number => Math.max(lo, Math.min(hi, v < 0 ? v + dim : v));
      const a = step > 0 ? norm(start, 0, dim) : norm(start, -1, dim - 1);
      const b = stop === null ? (step > 0 ? dim : -1) : step > 0 ? norm(stop, 0, dim) : norm(stop, -1, dim - 1);
      size = Math.max(0, Math.ceil((b - a) / step));
    } else if (stop !== null && start >= 0 && stop >= 0 && step > 0) size = Math.max(0, Math.ceil((stop - start) / step));
    return { start, end: stop, step, shrink: false, size };
  });
}


/** StridedSlice and Slice as an ONNX Slice (only the axes that change) and a Squeeze of shrunk axes. */
function sliceOnnx(c: OnnxBuilder, n: FoldedNode): void {
  const ins = n.inputs;
  const x = ins[0]!;
  const xs = c.infoOf(x).shape;
  const BIG = 2 ** 31 - 1;
  let spec: SliceAxis[];
  if (n.op === 'Slice') {
    const begin = Array.from(c.constOf(ins[1]!, n, 'begin').data);
    const size = Array.from(c.constOf(ins[2]!, n, 'size').data);
    spec = xs.map((d, i) => ({ start: begin[i]!, end: size[i] === -1 ? null : begin[i]! + size[i]!, step: 1, shrink: false, size: d }));
  } else {
    const [b, e, st] = [1, 2, 3].map((i) => Array.from(c.constOf(ins[i]!, n, 'begin/end/strides').data));
    spec = stridedSliceSpec(xs, b!, e!, st!, { name: n.name, op: n.op, inputs: n.inputs, device: '', attr: n.attr });
  }
  const axes = spec.flatMap((a, i) => (a.start === 0 && a.end === null && a.step === 1 ? [] : [i]));
  let cur = c.nhwc(x);
  if (axes.length > 0) {
    const o = c.unique(`${n.name}/slice`);
    const sa = axes.map((i) => spec[i]!);
    c.emit('Slice', [cur, c.i64(`${n.name}/starts`, sa.map((a) => a.start)), c.i64(`${n.name}/ends`, sa.map((a) => a.end ?? (a.step > 0 ? BIG : -BIG))), c.i64(`${n.name}/axes`, axes), c.i64(`${n.name}/steps`, sa.map((a) => a.step))], [o]);
    cur = o;
  }
  const shrink = spec.flatMap((a, i) => (a.shrink ? [i] : []));
  const out = c.outName(n, 'nhwc');
  if (shrink.length > 0) c.emit('Squeeze', [cur, c.i64(`${n.name}/shrink`, shrink)], [out]);
  else c.emit('Identity', [cur], [out]);
  c.setOut(n, 'nhwc', out);
}

export const sliceHandlers: OpHandler[] = [
  {
    ops: ['StridedSlice'],
    fold(c, node, ins) {
      const x = ins[0]!;
      const [b, e, s] = [1, 2, 3].map((i) => c.constOf(ins[i]!, node, 'begin/end/strides'));
      if (x.kind === 'const' || x.kind === 'partial') {
        const vec: Dim[] = x.kind === 'const' ? Array.from(x.t.data) : x.dims;
        const rank = x.kind === 'const' ? x.t.shape.length : x.scalar ? 0 : 1;
        if (rank !== 1) throw unsupported(node, `StridedSlice of a rank-${rank} constant`);
        const { idx, shrink } = stridedSlice1d(vec.length, b!.data[0]!, e!.data[0]!, s!.data[0]!, node);
        const picked = idx.map((i) => vec[i]!);
        const dtype = c.dtypeOf(x);
        if (picked.every((d) => d !== null)) return [makeConst(dtype, shrink ? [] : [picked.length], picked as number[], node.name)];
        return [{ kind: 'partial', dims: picked, scalar: shrink, dtype }];
      }
      if (x.kind !== 'dyn') throw unsupported(node, `StridedSlice of a ${x.kind} value`);
      const spec = stridedSliceSpec(x.shape, Array.from(b!.data), Array.from(e!.data), Array.from(s!.data), node);
      const shape = spec.filter((a) => !a.shrink).map((a) => a.size);
      return c.keep(node, ins, [{ shape, dtype: x.dtype }]);
    },
    onnx: sliceOnnx,
    tfjs: 'native',
  },
  {
    ops: ['Slice'],
    shape(node, ins) {
      const x = ins[0]!;
      const T = node.attr.T?.type ?? x.dtype;
      const begin = Array.from(needConst(node, ins, 1, 'begin').data);
      const size = Array.from(needConst(node, ins, 2, 'size').data);
      return [{ shape: x.shape.map((d, i) => (size[i] === -1 ? (d === null ? null : d - begin[i]!) : size[i]!)), dtype: T }];
    },
    onnx: sliceOnnx,
    tfjs: 'native',
  },
];
