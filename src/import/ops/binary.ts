/**
 * Two-input element-wise ops (arithmetic, comparisons, `BiasAdd`) and `AddN`.
 *
 * Folding: on constants they compute; on shapes with a symbolic batch, entry by entry; on
 * dropout's random interval [0, 1) they fold where keep probability 1.0 makes the result exact
 * (`floor(1 + U)` = 1, `U >= 0` = true), else the import fails; `x * 1`, `x / 1`, `x ± 0` go.
 * ONNX: a per-channel scale or shift of a rank-4 tensor folds into the convolution before it (or
 * runs NCHW); other operands broadcast in the layout both sides have.
 */
import { TfDType, numel } from '../tf-graphdef.js';
import type { TfNode } from '../tf-graphdef.js';
import { unsupported } from '../folded-graph.js';
import type { Dim, FoldedNode } from '../folded-graph.js';
import { onnxType } from '../onnx-builder.js';
import type { OnnxBuilder } from '../onnx-builder.js';
import { INT_TYPES, binaryFn, broadcastBinary, broadcastShape, checkNhwc, makeConst } from './const-math.js';
import type { ConstValue, FoldContext, FoldRule, OpHandler, UniformValue, Value } from './types.js';

const COMPARE = new Set(['Greater', 'GreaterEqual', 'Less', 'LessEqual', 'Equal', 'NotEqual', 'LogicalAnd', 'LogicalOr']);

/** A binary op with at least one computed input: drops `x*1`, `x/1`, `x+0`, `x-0`. */
function evalBinaryDyn(c: FoldContext, node: TfNode, a: Value, b: Value, outType: number): Value[] {
  const one = (v: Value, k: number): boolean => v.kind === 'const' && v.t.data.length === 1 && v.t.data[0] === k;
  const sa = c.shapeOf(a, node.name);
  const sb = c.shapeOf(b, node.name);
  const same = (x: Value, other: Dim[]): boolean => broadcastShape(c.shapeOf(x, node.name), other, node.name).length === c.shapeOf(x, node.name).length;
  if (node.op === 'Mul' && one(b, 1) && a.kind === 'dyn' && same(a, sb)) return [a];
  if (node.op === 'Mul' && one(a, 1) && b.kind === 'dyn' && same(b, sa)) return [b];
  if ((node.op === 'RealDiv' || node.op === 'Div') && one(b, 1) && a.kind === 'dyn' && same(a, sb) && !INT_TYPES.has(outType % 100)) return [a];
  if ((node.op === 'Add' || node.op === 'AddV2' || node.op === 'Sub' || node.op === 'BiasAdd') && one(b, 0) && a.kind === 'dyn' && same(a, sb)) return [a];
  if ((node.op === 'Add' || node.op === 'AddV2') && one(a, 0) && b.kind === 'dyn' && same(b, sa)) return [b];
  if (node.op === 'BiasAdd') checkNhwc(node);
  return c.keep(node, [a, b], [{ shape: broadcastShape(sa, sb, node.name), dtype: outType }]);
}

const binaryFold: FoldRule = (fc, node, ins, T) => {
  const op = node.op;
  const [a, b] = [ins[0]!, ins[1]!];
  const outType = COMPARE.has(op) ? TfDType.bool : T;
  if (a.kind === 'const' && b.kind === 'const') {
    if (op === 'BiasAdd') checkNhwc(node);
    return [broadcastBinary(a.t, b.t, binaryFn(op, T), outType, node.name, node.name)];
  }
  if (a.kind === 'partial' || b.kind === 'partial') {
    // Shape arithmetic with the batch: known entries are computed, unknown ones stay unknown.
    const vec = (v: Value): Dim[] => (v.kind === 'partial' ? v.dims : v.kind === 'const' ? Array.from(v.t.data) : []);
    const va = vec(a);
    const vb = vec(b);
    const n = Math.max(va.length, vb.length);
    const f = binaryFn(op, T);
    const dims: Dim[] = [];
    for (let i = 0; i < n; i++) {
      const x = va.length === 1 ? va[0]! : va[i]!;
      const y = vb.length === 1 ? vb[0]! : vb[i]!;
      dims.push(x === null || y === null ? null : f(x, y));
    }
    const scalar = (a.kind === 'partial' ? a.scalar : a.kind === 'const' && a.t.shape.length === 0) && (b.kind === 'partial' ? b.scalar : b.kind === 'const' && b.t.shape.length === 0);
    return [{ kind: 'partial', dims, scalar, dtype: outType }];
  }
  const scalarConst = (v: Value): number | undefined => (v.kind === 'const' && v.t.data.length === 1 ? v.t.data[0]! : v.kind === 'uniform' && v.lo === v.hi ? v.lo : undefined);
  if (a.kind === 'uniform' || b.kind === 'uniform') {
    const u = (a.kind === 'uniform' ? a : b) as UniformValue;
    const other = a.kind === 'uniform' ? b : a;
    const c = scalarConst(other);
    const uFirst = a.kind === 'uniform';
    if (c !== undefined && u.lo !== u.hi) {
      const shape = u.shape;
      const mk = (lo: number, hi: number, hiOpen: boolean): Value[] => [{ kind: 'uniform', lo, hi, hiOpen, shape, dtype: outType }];
      const exact = (v: boolean): Value[] => [{ kind: 'uniform', lo: +v, hi: +v, hiOpen: false, shape, dtype: TfDType.bool }];
      switch (op) {
        case 'Add': case 'AddV2': return mk(u.lo + c, u.hi + c, u.hiOpen);
        case 'Sub': return uFirst ? mk(u.lo - c, u.hi - c, u.hiOpen) : mk(c - u.hi, c - u.lo, false);
        case 'Mul': if (c > 0) return mk(u.lo * c, u.hi * c, u.hiOpen); break;
        case 'RealDiv': case 'Div': if (uFirst && c > 0) return mk(u.lo / c, u.hi / c, u.hiOpen); break;
        case 'GreaterEqual': case 'Greater': case 'Less': case 'LessEqual': {
          // Normalise to "u OP c".
          const o = uFirst ? op : ({ GreaterEqual: 'LessEqual', Greater: 'Less', Less: 'Greater', LessEqual: 'GreaterEqual' } as Record<string, string>)[op]!;
          const allAbove = o === 'GreaterEqual' ? u.lo >= c : o === 'Greater' ? u.lo > c : false;
          const allBelow = o === 'Less' ? u.hi < c || (u.hiOpen && u.hi === c) : o === 'LessEqual' ? u.hi <= c : false;
          const noneAbove = o === 'GreaterEqual' ? u.hi < c || (u.hiOpen && u.hi === c) : o === 'Greater' ? u.hi <= c : false;
          const noneBelow = o === 'Less' ? u.lo >= c : o === 'LessEqual' ? u.lo > c : false;
          if (allAbove || allBelow) return exact(true);
          if (noneAbove || noneBelow) return exact(false);
          break;
        }
      }
      throw unsupported(node, 'random values that do not fold (is dropout fed keep probability 1.0?)');
    }
    if (c !== undefined && u.lo === u.hi) {
      const v = binaryFn(op, T)(uFirst ? u.lo : c, uFirst ? c : u.lo);
      return [{ kind: 'uniform', lo: v, hi: v, hiOpen: false, shape: u.shape, dtype: outType }];
    }
    if (other.kind === 'dyn' && u.lo === u.hi) {
      // A constant-valued tensor the shape of `other` (dropout's mask once folded): a scalar.
      const s = makeConst(u.dtype, [], [u.lo], `${node.name}/mask`);
      return evalBinaryDyn(fc, node, uFirst ? s : other, uFirst ? other : s, outType);
    }
    throw unsupported(node, 'random values that do not fold (is dropout fed keep probability 1.0?)');
  }
  return evalBinaryDyn(fc, node, a, b, outType);
};

/** ONNX op of each kept binary op. */
const ONNX_BINARY: Record<string, string> = { Add: 'Add', AddV2: 'Add', BiasAdd: 'Add', Sub: 'Sub', Mul: 'Mul', RealDiv: 'Div', Div: 'Div', Maximum: 'Max', Minimum: 'Min', Pow: 'Pow', Greater: 'Greater', GreaterEqual: 'GreaterOrEqual', Less: 'Less', LessEqual: 'LessOrEqual', Equal: 'Equal' };

function binaryOnnx(c: OnnxBuilder, n: FoldedNode): void {
  const op = n.op;
  const [a, b] = [n.inputs[0]!, n.inputs[1]!];
  const sa = c.infoOf(a).shape;
  const sb = c.infoOf(b).shape;
  // Per-channel scale / shift of a rank-4 tensor: fold into a convolution or run NCHW.
  if ((op === 'BiasAdd' || op === 'Add' || op === 'AddV2' || op === 'Mul') && sa.length === 4 && !c.consts.has(a)) {
    const v = c.channelVector(b, a);
    if (v !== undefined && (c.hasNchw(a) || c.convRecordOf(a) !== undefined)) {
      if (op === 'Mul') c.affine(n, a, v, undefined);
      else c.affine(n, a, undefined, v);
      return;
    }
  }
  const both4 = sa.length === 4 && sb.length === 4;
  const aScalar = c.consts.has(a) && numel(sa as number[]) === 1;
  const bScalar = c.consts.has(b) && numel(sb as number[]) === 1;
  const useNchw = (both4 && c.hasNchw(a) && c.hasNchw(b)) || (sa.length === 4 && c.hasNchw(a) && bScalar) || (sb.length === 4 && c.hasNchw(b) && aScalar);
  const side = (ref: string, scalar: boolean): string => {
    if (scalar) {
      const k = c.consts.get(ref)!;
      return c.init(ref, [], onnxType(k.dtype, ref), k.data);
    }
    return useNchw ? c.nchw(ref) : c.nhwc(ref);
  };
  const out = c.outName(n, useNchw ? 'nchw' : 'nhwc');
  c.emit(ONNX_BINARY[op]!, [side(a, aScalar), side(b, bScalar)], [out]);
  c.setOut(n, useNchw ? 'nchw' : 'nhwc', out);
}

export const binaryHandlers: OpHandler[] = [
  ...Object.keys(ONNX_BINARY).map((op): OpHandler => ({ ops: [op], fold: binaryFold, onnx: binaryOnnx, tfjs: 'native' })),
  {
    ops: ['SquaredDifference'],
    fold: binaryFold,
    onnx(c, n) {
      const d = c.unique(`${n.name}/diff`);
      c.emit('Sub', [c.nhwc(n.inputs[0]!), c.nhwc(n.inputs[1]!)], [d]);
      const out = c.outName(n, 'nhwc');
      c.emit('Mul', [d, d], [out]);
      c.setOut(n, 'nhwc', out);
    },
    tfjs: 'native',
  },
  // On constants, shapes and exact values only: no ONNX mapping, a computed input fails the export.
  { ops: ['FloorDiv', 'FloorMod', 'NotEqual', 'LogicalAnd', 'LogicalOr'], fold: binaryFold },
  {
    ops: ['AddN'],
    fold(c, node, ins, T) {
      if (ins.every((v) => v.kind === 'const')) {
        return [ins.slice(1).reduce<ConstValue>((acc, v) => broadcastBinary(acc.t, (v as ConstValue).t, binaryFn('Add', T), T, node.name, node.name), ins[0] as ConstValue)];
      }
      if (ins.length === 1) return [ins[0]!];
      const shape = ins.map((v) => c.shapeOf(v, node.name)).reduce((a, b) => broadcastShape(a, b, node.name));
      return c.keep(node, ins, [{ shape, dtype: T }]);
    },
    onnx(c, n) {
      const ins = n.inputs;
      const useNchw = ins.every((i) => c.hasNchw(i) && c.is4(i));
      const out = c.outName(n, useNchw ? 'nchw' : 'nhwc');
      c.emit('Sum', ins.map((i) => (useNchw ? c.nchw(i) : c.nhwc(i))), [out]);
      c.setOut(n, useNchw ? 'nchw' : 'nhwc', out);
    },
    tfjs: 'native',
  },
];
