/**
 * Shapes and layout: `Shape` / `Size` / `Rank` (fold, with the batch kept symbolic), `Pack` of
 * shape entries, `Reshape`, `ExpandDims` / `Squeeze`, `Transpose` and `ConcatV2` (which folds on
 * constants and shapes, and otherwise concatenates in whichever layout its inputs have).
 */
import { TfDType, numel } from '../tf-graphdef.js';
import { graphError, unsupported } from '../folded-graph.js';
import type { Dim } from '../folded-graph.js';
import { TO_NCHW } from '../onnx-builder.js';
import { concatConst, intList, makeConst, needConst, resolveReshape } from './const-math.js';
import type { ConstValue, FoldRule, OpHandler } from './types.js';

/** ConcatV2 and TF 1's `Concat` (axis first): folds on constants and shapes, else kept as a `ConcatV2`. */
const concatFold: FoldRule = (c, node, ins) => {
  const op = node.op;
  const origin = node.name;
  const parts = op === 'ConcatV2' ? ins.slice(0, -1) : ins.slice(1);
  const axisT = c.constOf(op === 'ConcatV2' ? ins[ins.length - 1]! : ins[0]!, node, 'axis');
  const axis = axisT.data[0]!;
  if (parts.every((v) => v.kind === 'const')) return [concatConst(parts.map((v) => (v as ConstValue).t), axis, c.dtypeOf(parts[0]!), origin)];
  if (parts.every((v) => v.kind === 'const' || (v.kind === 'partial' && !v.scalar))) {
    const dims: Dim[] = parts.flatMap((v) => (v.kind === 'const' ? Array.from(v.t.data) : (v as { dims: Dim[] }).dims));
    return [{ kind: 'partial', dims, scalar: false, dtype: c.dtypeOf(parts[0]!) }];
  }
  const shapes = parts.map((v) => c.shapeOf(v, node.name));
  const rank = shapes[0]!.length;
  const ax = axis < 0 ? axis + rank : axis;
  const shape = [...shapes[0]!];
  shape[ax] = shapes.some((s) => s[ax] === null) ? null : shapes.reduce((a, s) => a + (s[ax] as number), 0);
  const axisConst = makeConst(TfDType.int32, [], [ax], `${origin}/axis`);
  return c.keep({ ...node, op: 'ConcatV2' }, [...parts, axisConst], [{ shape, dtype: c.dtypeOf(parts[0]!) }], { ...node.attr, N: { i: parts.length } });
};

export const shapeHandlers: OpHandler[] = [
  {
    ops: ['Shape', 'Size', 'Rank'],
    fold(c, node, ins) {
      const op = node.op;
      const origin = node.name;
      const s = c.shapeOf(ins[0]!, node.name);
      const dtype = node.attr.out_type?.type ?? TfDType.int32;
      if (op === 'Rank') return [makeConst(TfDType.int32, [], [s.length], origin)];
      if (op === 'Size') {
        if (s.some((d) => d === null)) return [{ kind: 'partial', dims: [null], scalar: true, dtype }];
        return [makeConst(dtype, [], [numel(s as number[])], origin)];
      }
      if (s.every((d) => d !== null)) return [makeConst(dtype, [s.length], s as number[], origin)];
      return [{ kind: 'partial', dims: [...s], scalar: false, dtype }];
    },
  },
  {
    ops: ['Pack'],
    fold(c, node, ins) {
      const axis = node.attr.axis?.i ?? 0;
      if (ins.every((v) => v.kind === 'const' || (v.kind === 'partial' && v.scalar))) {
        const allScalar = ins.every((v) => (v.kind === 'const' ? v.t.shape.length === 0 : true));
        if (allScalar) {
          const dims: Dim[] = ins.map((v) => (v.kind === 'const' ? v.t.data[0]! : (v as { dims: Dim[] }).dims[0]!));
          const dtype = node.attr.T?.type ?? c.dtypeOf(ins[0]!);
          if (dims.every((d) => d !== null)) return [makeConst(dtype, [dims.length], dims as number[], node.name)];
          return [{ kind: 'partial', dims, scalar: false, dtype }];
        }
        if (axis === 0 && ins.every((v) => v.kind === 'const')) {
          const ts = ins.map((v) => (v as ConstValue).t);
          return [concatConst(ts.map((t) => ({ ...t, shape: [1, ...t.shape] })), 0, ts[0]!.dtype, node.name)];
        }
      }
      throw unsupported(node, 'Pack of computed tensors');
    },
  },
  {
    ops: ['Reshape'],
    fold(c, node, ins) {
      const origin = node.name;
      const x = ins[0]!;
      const target = ins[1]!;
      const tdims: Dim[] = target.kind === 'partial' ? target.dims : Array.from(c.constOf(target, node, 'shape').data);
      if (x.kind === 'const') return [makeConst(x.t.dtype, resolveReshape(tdims as number[], x.t.data.length, node.name), x.t.data, origin)];
      const xs = c.shapeOf(x, node.name);
      const unknownIn = xs.filter((d) => d === null).length;
      const knownIn = numel(xs.filter((d) => d !== null) as number[]);
      let concrete: number[];
      const nulls = tdims.filter((d) => d === null).length;
      if (nulls === 0) concrete = tdims as number[];
      else if (nulls === 1 && unknownIn === 1) {
        // The unknown entry is the batch (it came from Shape(x)[0]): it becomes -1, and a -1
        // elsewhere is computed from the known dimensions.
        const rest = tdims.filter((d) => d !== null && d !== -1) as number[];
        concrete = tdims.map((d) => (d === null ? -1 : d === -1 ? knownIn / numel(rest) : d));
        if (concrete.some((d) => !Number.isInteger(d))) throw graphError(`cannot reshape [${xs.join(',')}] to [${tdims.join(',')}]`, node.name);
      } else throw graphError(`reshape target [${tdims.map((d) => d ?? '?').join(',')}] depends on unknown dimensions; import with --batch 1`, node.name);
      let outShape: Dim[];
      if (unknownIn === 0) outShape = resolveReshape(concrete, knownIn, node.name);
      else {
        const prodKnown = numel(concrete.filter((d) => d !== -1));
        outShape = concrete.map((d) => (d === -1 ? (concrete.filter((e) => e === -1).length === 1 && knownIn % prodKnown === 0 && unknownIn === 0 ? knownIn / prodKnown : null) : d));
      }
      const shapeConst = makeConst(TfDType.int32, [concrete.length], concrete, `${origin}/shape`);
      return c.keep(node, [x, shapeConst], [{ shape: outShape, dtype: c.dtypeOf(x) }], { T: { type: c.dtypeOf(x) }, Tshape: { type: TfDType.int32 } });
    },
    onnx(c, n) {
      const target = Array.from(c.constOf(n.inputs[1]!, n, 'shape').data);
      const out = c.outName(n, 'nhwc');
      c.emit('Reshape', [c.nhwc(n.inputs[0]!), c.i64(`${n.name}/shape`, target)], [out]);
      c.setOut(n, 'nhwc', out);
    },
    tfjs: 'native',
  },
  {
    ops: ['ExpandDims', 'Squeeze'],
    fold(c, node, ins) {
      const x = ins[0]!;
      const s = c.shapeOf(x, node.name);
      let out: Dim[];
      if (node.op === 'ExpandDims') {
        let ax = c.constOf(ins[1]!, node, 'axis').data[0]!;
        if (ax < 0) ax += s.length + 1;
        out = [...s.slice(0, ax), 1, ...s.slice(ax)];
      } else {
        const axes = intList(node.attr.squeeze_dims, []).map((a) => (a < 0 ? a + s.length : a));
        out = s.filter((d, i) => (axes.length === 0 ? d !== 1 : !axes.includes(i)));
      }
      if (x.kind === 'const') return [makeConst(x.t.dtype, out as number[], x.t.data, node.name)];
      if (x.kind !== 'dyn') throw unsupported(node, `on a ${x.kind} value`);
      return c.keep(node, ins, [{ shape: out, dtype: x.dtype }]);
    },
    onnx(c, n) {
      const x = n.inputs[0]!;
      const rank = c.infoOf(x).shape.length;
      let axes: number[];
      if (n.op === 'Squeeze') {
        const sq = n.attr.squeeze_dims?.list?.i ?? [];
        axes = sq.length > 0 ? sq.map((a) => (a < 0 ? a + rank : a)) : c.infoOf(x).shape.flatMap((d, i) => (d === 1 ? [i] : []));
      } else {
        const a = c.constOf(n.inputs[1]!, n, 'axis').data[0]!;
        axes = [a < 0 ? a + rank + 1 : a];
      }
      const out = c.outName(n, 'nhwc');
      c.emit(n.op === 'Squeeze' ? 'Squeeze' : 'Unsqueeze', [c.nhwc(x), c.i64(`${n.name}/axes`, axes)], [out]);
      c.setOut(n, 'nhwc', out);
    },
    tfjs: 'native',
  },
  {
    ops: ['Transpose'],
    fold(c, node, ins) {
      if (ins[0]!.kind !== 'const') return undefined;
      const t = (ins[0] as ConstValue).t;
      const perm = Array.from(c.constOf(ins[1]!, node, 'perm').data);
      const shape = perm.map((p) => t.shape[p]!);
      const out = new Float64Array(t.data.length);
      const inStr = t.shape.map((_, i) => numel(t.shape.slice(i + 1)));
      const idx = new Array<number>(shape.length).fill(0);
      for (let k = 0; k < out.length; k++) {
        let src = 0;
        for (let d = 0; d < shape.length; d++) src += idx[d]! * inStr[perm[d]!]!;
        out[k] = t.data[src]!;
        for (let d = shape.length - 1; d >= 0; d--) {
          if (++idx[d]! < shape[d]!) break;
          idx[d] = 0;
        }
      }
      return [makeConst(t.dtype, shape, out, node.name)];
    },
    shape(node, ins) {
      const x = ins[0]!;
      const perm = Array.from(needConst(node, ins, 1, 'perm').data);
      return [{ shape: perm.map((p) => x.shape[p]!), dtype: node.attr.T?.type ?? x.dtype }];
    },
    onnx(c, n) {
      const perm = Array.from(c.constOf(n.inputs[1]!, n, 'perm').data);
      const out = c.outName(n, 'nhwc');
      c.emit('Transpose', [c.nhwc(n.inputs[0]!)], [out], { perm });
      c.setOut(n, 'nhwc', out);
    },
    tfjs: 'native',
  },
  {
    ops: ['ConcatV2'],
    fold: concatFold,
    onnx(c, n) {
      const ins = n.inputs;
      const parts = ins.slice(0, -1);
      const rank = c.infoOf(parts[0]!).shape.length;
      let axis = c.constOf(ins[ins.length - 1]!, n, 'axis').data[0]!;
      if (axis < 0) axis += rank;
      const useNchw = rank === 4 && parts.some((p) => c.hasNchw(p));
      const out = c.outName(n, useNchw ? 'nchw' : 'nhwc');
      c.emit('Concat', parts.map((p) => (useNchw ? c.nchw(p) : c.nhwc(p))), [out], { axis: useNchw ? TO_NCHW.indexOf(axis) : axis });
      c.setOut(n, useNchw ? 'nchw' : 'nhwc', out);
    },
    tfjs: 'native',
  },
  { ops: ['Concat'], fold: concatFold },
];
