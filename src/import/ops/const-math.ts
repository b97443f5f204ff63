/**
 * Constant arithmetic for the folding rules: TF's element-wise semantics (float32 rounding,
 * integer division, broadcasting) on constant tensors, and the attribute helpers the handlers share.
 */
import { TfDType, attrString, numel } from '../tf-graphdef.js';
import type { TfAttr, TfNode, TfTensor } from '../tf-graphdef.js';
import { graphError, unsupported } from '../folded-graph.js';
import type { Dim } from '../folded-graph.js';
import type { ConstValue, InInfo } from './types.js';

export const INT_TYPES: ReadonlySet<number> = new Set<number>([TfDType.int32, TfDType.int64, TfDType.uint8, TfDType.int16, TfDType.int8, TfDType.uint16, TfDType.uint32, TfDType.uint64]);

export function makeConst(dtype: number, shape: number[], values: ArrayLike<number>, origin: string): ConstValue {
  const d = dtype % 100;
  const data = d === TfDType.float || d === TfDType.half ? Float32Array.from(values) : Float64Array.from(values);
  return { kind: 'const', t: { dtype: d, shape, data }, origin };
}

export function castValue(v: number, dtype: number): number {
  const d = dtype % 100;
  if (d === TfDType.bool) return v !== 0 ? 1 : 0;
  if (d === TfDType.float || d === TfDType.half) return Math.fround(v);
  if (INT_TYPES.has(d)) return Math.trunc(v);
  return v;
}

export function broadcastShape(a: readonly Dim[], b: readonly Dim[], node: string): Dim[] {
  const n = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < n; i++) {
    const x = i - (n - a.length) >= 0 ? a[i - (n - a.length)]! : 1;
    const y = i - (n - b.length) >= 0 ? b[i - (n - b.length)]! : 1;
    if (x === 1) out.push(y);
    else if (y === 1) out.push(x);
    else if (x === null || y === null) out.push(x ?? y);
    else if (x === y) out.push(x);
    else throw graphError(`shapes [${a.join(',')}] and [${b.join(',')}] do not broadcast`, node);
  }
  return out;
}

export function broadcastBinary(a: TfTensor, b: TfTensor, f: (x: number, y: number) => number, dtype: number, node: string, origin: string): ConstValue {
  const shape = broadcastShape(a.shape, b.shape, node) as number[];
  const n = numel(shape);
  const out = new Float64Array(n);
  const rank = shape.length;
  const strides = (s: number[]): number[] => {
    const st = new Array<number>(rank).fill(0);
    let acc = 1;
    for (let i = s.length - 1; i >= 0; i--) {
      const ax = i + rank - s.length;
      st[ax] = s[i] === 1 ? 0 : acc;
      acc *= s[i]!;
    }
    return st;
  };
  const sa = strides(a.shape);
  const sb = strides(b.shape);
  const idx = new Array<number>(rank).fill(0);
  for (let k = 0; k < n; k++) {
    let ia = 0;
    let ib = 0;
    for (let d = 0; d < rank; d++) {
      ia += idx[d]! * sa[d]!;
      ib += idx[d]! * sb[d]!;
    }
    out[k] = castValue(f(a.data[ia]!, b.data[ib]!), dtype);
    for (let d = rank - 1; d >= 0; d--) {
      if (++idx[d]! < shape[d]!) break;
      idx[d] = 0;
    }
  }
  return makeConst(dtype, shape, out, origin);
}

export function binaryFn(op: string, dtype: number): (x: number, y: number) => number {
  const isInt = INT_TYPES.has(dtype % 100);
  const f32 = (v: number): number => (isInt ? v : Math.fround(v));
  switch (op) {
    case 'Add': case 'AddV2': case 'BiasAdd': return (x, y) => f32(x + y);
    case 'Sub': return (x, y) => f32(x - y);
    case 'Mul': return (x, y) => f32(x * y);
    case 'RealDiv': return (x, y) => f32(x / y);
    case 'Div': return isInt ? (x, y) => Math.trunc(x / y) : (x, y) => f32(x / y);
    case 'FloorDiv': return (x, y) => (isInt ? Math.floor(x / y) : f32(Math.floor(x / y)));
    case 'FloorMod': return (x, y) => x - Math.floor(x / y) * y;
    case 'Maximum': return (x, y) => Math.max(x, y);
    case 'Minimum': return (x, y) => Math.min(x, y);
    case 'Pow': return (x, y) => f32(x ** y);
    case 'SquaredDifference': return (x, y) => f32((x - y) * (x - y));
    case 'Greater': return (x, y) => +(x > y);
    case 'GreaterEqual': return (x, y) => +(x >= y);
    case 'Less': return (x, y) => +(x < y);
    case 'LessEqual': return (x, y) => +(x <= y);
    case 'Equal': return (x, y) => +(x === y);
    case 'NotEqual': return (x, y) => +(x !== y);
    case 'LogicalAnd': return (x, y) => +(x !== 0 && y !== 0);
    case 'LogicalOr': return (x, y) => +(x !== 0 || y !== 0);
    default: throw graphError(`no constant rule for ${op}`);
  }
}

export function unaryFn(op: string): ((x: number) => number) | undefined {
  const f = Math.fround;
  switch (op) {
    case 'Relu': return (x) => Math.max(0, x);
    case 'Relu6': return (x) => Math.min(6, Math.max(0, x));
    case 'Sigmoid': return (x) => f(1 / (1 + Math.exp(-x)));
    case 'Tanh': return (x) => f(Math.tanh(x));
    case 'Exp': return (x) => f(Math.exp(x));
    case 'Log': return (x) => f(Math.log(x));
    case 'Sqrt': return (x) => f(Math.sqrt(x));
    case 'Rsqrt': return (x) => f(1 / Math.sqrt(x));
    case 'Square': return (x) => f(x * x);
    case 'Neg': return (x) => -x;
    case 'Abs': return (x) => Math.abs(x);
    case 'Floor': return (x) => Math.floor(x);
    case 'Ceil': return (x) => Math.ceil(x);
    case 'Reciprocal': return (x) => f(1 / x);
    case 'LogicalNot': return (x) => +(x === 0);
    default: return undefined;
  }
}

export function resolveReshape(target: number[], n: number, node: string): number[] {
  const known = target.filter((d) => d !== -1);
  const prod = numel(known);
  const unknown = target.filter((d) => d === -1).length;
  if (unknown > 1) throw graphError(`reshape target [${target.join(',')}] has more than one -1`, node);
  if (unknown === 1) {
    if (prod === 0 || n % prod !== 0) throw graphError(`cannot reshape ${n} values to [${target.join(',')}]`, node);
    return target.map((d) => (d === -1 ? n / prod : d));
  }
  if (prod !== n) throw graphError(`cannot reshape ${n} values to [${target.join(',')}]`, node);
  return target;
}

export function concatConst(ts: TfTensor[], axis: number, dtype: number, origin: string): ConstValue {
  const first = ts[0]!;
  const rank = first.shape.length;
  const ax = axis < 0 ? axis + rank : axis;
  const outer = numel(first.shape.slice(0, ax));
  const shape = [...first.shape];
  shape[ax] = ts.reduce((s, t) => s + t.shape[ax]!, 0);
  const out: number[] = [];
  for (let o = 0; o < outer; o++) {
    for (const t of ts) {
      const inner = numel(t.shape.slice(ax));
      for (let i = 0; i < inner; i++) out.push(t.data[o * inner + i]!);
    }
  }
  return makeConst(dtype, shape, out, origin);
}


export function convOut(size: Dim, k: number, s: number, d: number, padding: string, padBefore = 0, padAfter = 0): Dim {
  if (size === null) return null;
  const keff = (k - 1) * d + 1;
  if (padding === 'SAME') return Math.ceil(size / s);
  if (padding === 'VALID') return Math.floor((size - keff) / s) + 1;
  return Math.floor((size + padBefore + padAfter - keff) / s) + 1;
}

export function intList(a: TfAttr | undefined, fallback: number[]): number[] {
  return a?.list?.i.length ? a.list.i : fallback;
}

export function checkNhwc(node: TfNode): void {
  const f = attrString(node.attr.data_format) ?? 'NHWC';
  if (f !== 'NHWC') throw unsupported(node, `data_format ${f} (only NHWC graphs are supported)`);
}


/** A kept node's input that must be constant after folding (filter sizes, axes, paddings). */
export function needConst(node: TfNode, ins: readonly InInfo[], i: number, what: string): TfTensor {
  const v = ins[i]?.value;
  if (v === undefined) throw graphError(`${what} of '${node.op}' must be a constant after folding`, node.name);
  return v;
}

export function rank4(node: TfNode, s: Dim[]): void {
  if (s.length !== 4) throw graphError(`'${node.op}' needs a rank-4 NHWC input, got [${s.map((d) => d ?? '?').join(',')}]`, node.name);
}
