/**
 * Folding a frozen TF 1.x graph for inference: what the fixed feeds decide is computed here, once,
 * so that the converted model holds only the network.
 *
 * - `TRAINING` fed False: every `Switch` on it becomes a pass-through on the taken side and a dead
 *   value on the other; deadness spreads (also along control edges, as in TF) and `Merge` takes the
 *   live input. The training branch disappears.
 * - keep probability fed 1.0: dropout disappears. `RandomUniform` is tracked as an interval [0, 1)
 *   (TF draws it as k·2⁻²³, so `keep + U` stays below 2 in float32) and `floor(1 + U)` = 1 and
 *   `U >= 0` = true are exact; `x / 1 * 1` then folds to `x`.
 * - Shapes are inferred from the placeholder's shape with the batch kept symbolic (`null`), so
 *   `Shape` → `StridedSlice` → `Pack` chains fold to constants (the batch entry becomes -1 where a
 *   `Reshape` reads it).
 * - Identity-like ops are removed.
 *
 * The result is a smaller TF graph (`FoldedGraph`) with every tensor's shape and dtype, which the
 * ONNX writer and the TF.js export both read.
 */
import { ErrorCode, SgusError } from '../errors.js';
import { TfDType, attrString, dtypeName, numel, parseInputRef } from './tf-graphdef.js';
import type { TfAttr, TfGraph, TfNode, TfTensor } from './tf-graphdef.js';

/** A dimension: a number, or `null` for the (symbolic) batch / an unknown size. */
export type Dim = number | null;

export interface TensorInfo {
  shape: Dim[];
  dtype: number;
}

export interface FoldedNode {
  name: string;
  op: string;
  /** Tensor refs (`node` or `node:k`) in the folded graph; no control inputs. */
  inputs: string[];
  attr: Record<string, TfAttr>;
  outputs: TensorInfo[];
}

export interface FoldedGraph {
  /** In topological order. Constants are `Const` nodes with `attr.value.tensor`. */
  nodes: FoldedNode[];
  /** Placeholders that stayed inputs. */
  inputs: Array<TensorInfo & { name: string }>;
  /** Requested outputs: `name` as asked for, `ref` the folded tensor that holds it. */
  outputs: Array<TensorInfo & { name: string; ref: string }>;
}

export interface FoldOptions {
  /** Tensor names to compute (`node` or `node:0`). */
  outputs: string[];
  /** Placeholders with a fixed value (scalars: keep probability, training flag). */
  feeds?: Record<string, number | boolean>;
  /** Batch size to fold with; `null` (default) keeps it symbolic. */
  batch?: number | null;
  /** Shapes to use instead of a placeholder's own (e.g. fixing an unknown height and width); -1: unknown / batch. */
  inputShapes?: Record<string, number[]>;
}

type Value =
  | { kind: 'const'; t: TfTensor; origin: string }
  | { kind: 'dyn'; ref: string; shape: Dim[]; dtype: number }
  /** An integer vector (or scalar) with some unknown entries: a shape involving the batch. */
  | { kind: 'partial'; dims: Dim[]; scalar: boolean; dtype: number }
  /** Values known to lie in [lo, hi] (hi excluded when hiOpen): random draws. lo === hi: exactly that value. */
  | { kind: 'uniform'; lo: number; hi: number; hiOpen: boolean; shape: Dim[] | null; dtype: number }
  | { kind: 'dead' };

type ConstValue = Extract<Value, { kind: 'const' }>;
type DynValue = Extract<Value, { kind: 'dyn' }>;

const DEAD: Value = { kind: 'dead' };

/** Ops the converter keeps (and both writers map). Everything else must fold away. */
export const KEPT_OPS: ReadonlySet<string> = new Set([
  'Placeholder', 'Const',
  'Conv2D', 'DepthwiseConv2dNative', 'Conv2DBackpropInput', 'BiasAdd',
  'FusedBatchNorm', 'FusedBatchNormV2', 'FusedBatchNormV3',
  'Relu', 'Relu6', 'Elu', 'Selu', 'LeakyRelu', 'Sigmoid', 'Tanh', 'Softplus', 'Softmax', 'LogSoftmax',
  'Exp', 'Log', 'Sqrt', 'Rsqrt', 'Square', 'Neg', 'Abs', 'Floor', 'Ceil', 'Reciprocal', 'Erf',
  'Add', 'AddV2', 'Sub', 'Mul', 'RealDiv', 'Div', 'Maximum', 'Minimum', 'Pow', 'SquaredDifference',
  'Greater', 'GreaterEqual', 'Less', 'LessEqual', 'Equal',
  'Cast', 'ConcatV2', 'MaxPool', 'AvgPool', 'MatMul', 'ArgMax', 'Mean', 'Sum', 'Max', 'Min',
  'ResizeBilinear', 'ResizeNearestNeighbor', 'Reshape', 'Squeeze', 'ExpandDims', 'Pad', 'PadV2', 'MirrorPad', 'Transpose',
  'AddN', 'StridedSlice', 'Slice',
]);

const IDENTITY_OPS = new Set(['Identity', 'StopGradient', 'Snapshot', 'PreventGradient', 'CheckNumerics', 'EnsureShape', 'PlaceholderWithDefault', 'Print']);
/** Ops that only matter through control edges (checks, logging): they produce nothing here. */
const SIDE_EFFECT_OPS = new Set(['NoOp', 'Assert', 'PrintV2']);
const REDUCE_CONST: Record<string, (a: number, b: number) => number> = { Sum: (a, b) => a + b, Prod: (a, b) => a * b, Max: Math.max, Min: Math.min, Mean: (a, b) => a + b, All: (a, b) => +(a !== 0 && b !== 0), Any: (a, b) => +(a !== 0 || b !== 0) };
const UNARY = new Set(['Relu', 'Relu6', 'Elu', 'Selu', 'LeakyRelu', 'Sigmoid', 'Tanh', 'Softplus', 'Softmax', 'LogSoftmax', 'Exp', 'Log', 'Sqrt', 'Rsqrt', 'Square', 'Neg', 'Abs', 'Floor', 'Ceil', 'Reciprocal', 'Erf']);
const BINARY = new Set(['Add', 'AddV2', 'Sub', 'Mul', 'RealDiv', 'Div', 'FloorDiv', 'FloorMod', 'Maximum', 'Minimum', 'Pow', 'SquaredDifference', 'BiasAdd']);
const COMPARE = new Set(['Greater', 'GreaterEqual', 'Less', 'LessEqual', 'Equal', 'NotEqual', 'LogicalAnd', 'LogicalOr']);
const INT_TYPES = new Set<number>([TfDType.int32, TfDType.int64, TfDType.uint8, TfDType.int16, TfDType.int8, TfDType.uint16, TfDType.uint32, TfDType.uint64]);

export function graphError(message: string, node?: string): SgusError {
  return new SgusError(ErrorCode.GraphImport, message, node !== undefined ? { where: `node '${node}'` } : {});
}

function unsupported(node: TfNode, why = ''): SgusError {
  return new SgusError(ErrorCode.GraphImport, `unsupported op '${node.op}' at node '${node.name}'${why ? `: ${why}` : ''}`);
}

// ---------------------------------------------------------------- constant arithmetic

function makeConst(dtype: number, shape: number[], values: ArrayLike<number>, origin: string): ConstValue {
  const d = dtype % 100;
  const data = d === TfDType.float || d === TfDType.half ? Float32Array.from(values) : Float64Array.from(values);
  return { kind: 'const', t: { dtype: d, shape, data }, origin };
}

function castValue(v: number, dtype: number): number {
  const d = dtype % 100;
  if (d === TfDType.bool) return v !== 0 ? 1 : 0;
  if (d === TfDType.float || d === TfDType.half) return Math.fround(v);
  if (INT_TYPES.has(d)) return Math.trunc(v);
  return v;
}

function broadcastShape(a: readonly Dim[], b: readonly Dim[], node: string): Dim[] {
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

function broadcastBinary(a: TfTensor, b: TfTensor, f: (x: number, y: number) => number, dtype: number, node: string, origin: string): ConstValue {
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

function binaryFn(op: string, dtype: number): (x: number, y: number) => number {
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

function unaryFn(op: string): ((x: number) => number) | undefined {
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

function resolveReshape(target: number[], n: number, node: string): number[] {
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

function concatConst(ts: TfTensor[], axis: number, dtype: number, origin: string): ConstValue {
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

// ---------------------------------------------------------------- shapes of kept ops

function convOut(size: Dim, k: number, s: number, d: number, padding: string, padBefore = 0, padAfter = 0): Dim {
  if (size === null) return null;
  const keff = (k - 1) * d + 1;
  if (padding === 'SAME') return Math.ceil(size / s);
  if (padding === 'VALID') return Math.floor((size - keff) / s) + 1;
  return Math.floor((size + padBefore + padAfter - keff) / s) + 1;
}

function intList(a: TfAttr | undefined, fallback: number[]): number[] {
  return a?.list?.i.length ? a.list.i : fallback;
}

function checkNhwc(node: TfNode): void {
  const f = attrString(node.attr.data_format) ?? 'NHWC';
  if (f !== 'NHWC') throw unsupported(node, `data_format ${f} (only NHWC graphs are supported)`);
}

// ---------------------------------------------------------------- the folder

export function foldGraph(graph: TfGraph, options: FoldOptions): FoldedGraph {
  const byName = new Map<string, TfNode>();
  for (const n of graph.nodes) byName.set(n.name, n);
  const feeds = options.feeds ?? {};
  const batch = options.batch === undefined ? null : options.batch;

  // Topological order of what the outputs need (iterative DFS: graphs can be thousands deep).
  const outRefs = options.outputs.map((o) => parseInputRef(o));
  for (const o of outRefs) if (!byName.has(o.node)) throw graphError(`the graph has no tensor '${o.node}:${o.index}'`);
  const order: TfNode[] = [];
  const state = new Map<string, 1 | 2>();
  for (const o of outRefs) {
    const stack: Array<[TfNode, number]> = [[byName.get(o.node)!, 0]];
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const [n, i] = top;
      if (i === 0) {
        if (state.get(n.name) === 2) {
          stack.pop();
          continue;
        }
        state.set(n.name, 1);
      }
      if (i < n.inputs.length) {
        top[1] = i + 1;
        const dep = parseInputRef(n.inputs[i]!).node;
        const dn = byName.get(dep);
        if (dn === undefined) throw graphError(`input '${n.inputs[i]}' names no node in the graph`, n.name);
        const st = state.get(dep);
        // A cycle (TF while loops: NextIteration) is not a frozen feed-forward network.
        if (st === 1) throw unsupported(dn.op === 'NextIteration' || dn.op === 'Enter' ? dn : n, 'loops (tf.while_loop) cannot be converted');
        if (st === undefined) stack.push([dn, 0]);
        continue;
      }
      state.set(n.name, 2);
      order.push(n);
      stack.pop();
    }
  }

  const values = new Map<string, Value[]>();
  const nodes: FoldedNode[] = [];
  const inputs: FoldedGraph['inputs'] = [];
  const usedNames = new Set<string>(graph.nodes.map((n) => n.name));
  const emittedConst = new Map<TfTensor, string>();
  const emittedNames = new Set<string>();

  const valueOf = (ref: string): Value => {
    const r = parseInputRef(ref);
    const vs = values.get(r.node);
    if (vs === undefined) throw graphError(`internal: '${r.node}' not evaluated`);
    return vs[r.index] ?? (vs.length === 1 && vs[0]!.kind === 'dead' ? DEAD : (() => { throw graphError(`node has no output ${r.index}`, r.node); })());
  };

  const shapeOf = (v: Value, node: string): Dim[] => {
    switch (v.kind) {
      case 'const': return v.t.shape;
      case 'dyn': return v.shape;
      case 'partial': return v.scalar ? [] : [v.dims.length];
      case 'uniform':
        if (v.shape === null) throw graphError('shape of a random tensor is unknown', node);
        return v.shape;
      default: throw graphError('shape of a dead tensor', node);
    }
  };
  const dtypeOf = (v: Value): number => (v.kind === 'const' ? v.t.dtype : v.kind === 'dead' ? 0 : v.dtype);

  const constName = (origin: string): string => {
    const p = parseInputRef(origin);
    let base = p.index === 0 && !emittedNames.has(p.node) ? p.node : `${p.node}/folded_${p.index}`;
    if (emittedNames.has(base)) {
      let k = 1;
      while (usedNames.has(`${base}_${k}`) || emittedNames.has(`${base}_${k}`)) k++;
      base = `${base}_${k}`;
    }
    return base;
  };

  /** A folded-graph tensor ref for a value, emitting a Const node where needed. */
  const refOf = (v: Value, consumer: TfNode): string => {
    switch (v.kind) {
      case 'dyn': return v.ref;
      case 'const': {
        const had = emittedConst.get(v.t);
        if (had !== undefined) return had;
        const name = constName(v.origin);
        emittedNames.add(name);
        emittedConst.set(v.t, name);
        nodes.push({ name, op: 'Const', inputs: [], attr: { dtype: { type: v.t.dtype }, value: { tensor: v.t } }, outputs: [{ shape: v.t.shape, dtype: v.t.dtype }] });
        return name;
      }
      case 'partial':
        if (v.dims.every((d) => d !== null)) return refOf(makeConst(v.dtype, v.scalar ? [] : [v.dims.length], v.dims as number[], `${consumer.name}/shape`), consumer);
        throw graphError(`'${consumer.op}' needs a value that depends on the batch size; import with a fixed batch (--batch 1)`, consumer.name);
      case 'uniform':
        if (v.lo === v.hi && v.shape !== null && v.shape.every((d) => d !== null)) {
          const shape = v.shape as number[];
          return refOf(makeConst(v.dtype, shape, new Float64Array(numel(shape)).fill(v.lo), `${consumer.name}/fill`), consumer);
        }
        throw graphError(`'${consumer.op}' consumes a random tensor; feed the keep probability 1.0 (dropout) so that it folds away`, consumer.name);
      default: throw graphError('consumes a dead tensor', consumer.name);
    }
  };

  const keep = (node: TfNode, ins: Value[], outs: TensorInfo[], attr: Record<string, TfAttr> = node.attr): Value[] => {
    const refs = ins.map((v) => refOf(v, node));
    emittedNames.add(node.name);
    nodes.push({ name: node.name, op: node.op, inputs: refs, attr, outputs: outs });
    return outs.map((o, k) => ({ kind: 'dyn', ref: k === 0 ? node.name : `${node.name}:${k}`, shape: o.shape, dtype: o.dtype }));
  };

  const constOf = (v: Value, node: TfNode, what: string): TfTensor => {
    if (v.kind === 'const') return v.t;
    if (v.kind === 'partial' && v.dims.every((d) => d !== null)) return { dtype: v.dtype, shape: v.scalar ? [] : [v.dims.length], data: Float64Array.from(v.dims as number[]) };
    throw graphError(`${what} of '${node.op}' must be a constant after folding`, node.name);
  };

  const evalNode = (node: TfNode): Value[] => {
    const data = node.inputs.filter((i) => !i.startsWith('^'));
    const ctrl = node.inputs.filter((i) => i.startsWith('^'));
    const ins = data.map(valueOf);
    if (node.op !== 'Merge') {
      if (ins.some((v) => v.kind === 'dead')) return [DEAD];
      for (const c of ctrl) {
        const cn = byName.get(c.slice(1))!;
        if (cn.op === 'Switch') continue;
        const cv = values.get(cn.name);
        if (cv !== undefined && cv.length > 0 && cv.every((v) => v.kind === 'dead')) return [DEAD];
      }
    }
    const T = node.attr.T?.type ?? (ins[0] ? dtypeOf(ins[0]) : TfDType.float);
    const origin = node.name;
    const op = node.op;

    if (op === 'Const') {
      const t = node.attr.value?.tensor;
      if (t === undefined) throw graphError('Const without a value', node.name);
      return [{ kind: 'const', t, origin }];
    }
    if (op === 'Placeholder' || (op === 'PlaceholderWithDefault' && node.name in feeds)) {
      const dtype = node.attr.dtype?.type ?? TfDType.float;
      if (node.name in feeds) {
        const f = feeds[node.name]!;
        return [makeConst(dtype, [], [typeof f === 'boolean' ? +f : f], origin)];
      }
      const given = options.inputShapes?.[node.name];
      const s = given !== undefined ? { dims: given, unknownRank: false } : node.attr.shape?.shape;
      if (s === undefined || s.unknownRank) throw graphError('placeholder of unknown rank: give its value (--feed) or re-export it with a shape', node.name);
      const shape: Dim[] = s.dims.map((d, i) => (d >= 0 ? d : i === 0 ? batch : null));
      inputs.push({ name: node.name, shape, dtype });
      const out: TensorInfo = { shape, dtype };
      return keep(node, [], [out], { dtype: { type: dtype }, shape: { shape: { dims: shape.map((d) => d ?? -1), unknownRank: false } } });
    }
    if (IDENTITY_OPS.has(op)) return [ins[0]!];
    if (op === 'IdentityN') return ins;
    if (SIDE_EFFECT_OPS.has(op)) return [];
    if ((op === 'ZerosLike' || op === 'OnesLike') && ins[0]!.kind !== 'const') {
      const x = ins[0]!;
      const v = op === 'ZerosLike' ? 0 : 1;
      const shape: Dim[] | null = x.kind === 'dyn' ? x.shape : x.kind === 'uniform' ? x.shape : x.kind === 'partial' ? (x.scalar ? [] : [x.dims.length]) : null;
      return [{ kind: 'uniform', lo: v, hi: v, hiOpen: false, shape, dtype: dtypeOf(x) }];
    }
    if ((op === 'ZerosLike' || op === 'OnesLike') && ins[0]!.kind === 'const') {
      const t = (ins[0] as ConstValue).t;
      return [makeConst(t.dtype, t.shape, new Float64Array(t.data.length).fill(op === 'ZerosLike' ? 0 : 1), origin)];
    }
    if (op === 'Range' && ins.every((v) => v.kind === 'const')) {
      const [start, limit, delta] = ins.map((v) => (v as ConstValue).t.data[0]!);
      const out: number[] = [];
      for (let v = start!; delta! > 0 ? v < limit! : v > limit!; v += delta!) out.push(v);
      return [makeConst(node.attr.Tidx?.type ?? dtypeOf(ins[0]!), [out.length], out, origin)];
    }
    if (op === 'Select' || op === 'SelectV2') {
      const c = ins[0]!;
      if (c.kind === 'const' && c.t.data.length > 0 && c.t.data.every((v) => v === c.t.data[0])) return [c.t.data[0] ? ins[1]! : ins[2]!];
      if (c.kind === 'uniform' && c.lo === c.hi) return [c.lo ? ins[1]! : ins[2]!];
      throw unsupported(node, 'a condition that is not fixed after folding');
    }
    if (REDUCE_CONST[op] !== undefined && (ins[0]!.kind === 'const' || ins[0]!.kind === 'partial')) {
      // Reductions on constants and shapes (e.g. the product of a shape for a flatten).
      const x = ins[0]!;
      const axesT = constOf(ins[1]!, node, 'axes');
      const keepDims = node.attr.keep_dims?.b === true;
      const f = REDUCE_CONST[op]!;
      if (x.kind === 'partial') {
        if (x.scalar) return [x];
        const known = x.dims.every((d) => d !== null);
        const v = known ? (x.dims as number[]).reduce(f) : null;
        const r = op === 'Mean' && v !== null ? v / x.dims.length : v;
        if (r === null) return [{ kind: 'partial', dims: [null], scalar: !keepDims, dtype: x.dtype }];
        return [makeConst(x.dtype, keepDims ? [1] : [], [r], origin)];
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
      return [makeConst(t.dtype, keepDims ? outShape : t.shape.filter((_, i) => !axes.has(i)), Array.from(out, (v) => castValue(v, t.dtype)), origin)];
    }
    if (op === 'Switch') {
      const pred = ins[1]!;
      if (pred.kind !== 'const') throw graphError(`tf.cond on a value that is not fixed: feed the placeholder it depends on (e.g. TRAINING=false)`, node.name);
      return pred.t.data[0] ? [DEAD, ins[0]!] : [ins[0]!, DEAD];
    }
    if (op === 'Merge') {
      const k = ins.findIndex((v) => v.kind !== 'dead');
      if (k < 0) return [DEAD];
      return [ins[k]!, makeConst(TfDType.int32, [], [k], `${origin}:1`)];
    }
    if (op === 'Shape' || op === 'Size' || op === 'Rank') {
      const s = shapeOf(ins[0]!, node.name);
      const dtype = node.attr.out_type?.type ?? TfDType.int32;
      if (op === 'Rank') return [makeConst(TfDType.int32, [], [s.length], origin)];
      if (op === 'Size') {
        if (s.some((d) => d === null)) return [{ kind: 'partial', dims: [null], scalar: true, dtype }];
        return [makeConst(dtype, [], [numel(s as number[])], origin)];
      }
      if (s.every((d) => d !== null)) return [makeConst(dtype, [s.length], s as number[], origin)];
      return [{ kind: 'partial', dims: [...s], scalar: false, dtype }];
    }
    if (op === 'StridedSlice') {
      const x = ins[0]!;
      const [b, e, s] = [1, 2, 3].map((i) => constOf(ins[i]!, node, 'begin/end/strides'));
      if (x.kind === 'const' || x.kind === 'partial') {
        const vec: Dim[] = x.kind === 'const' ? Array.from(x.t.data) : x.dims;
        const rank = x.kind === 'const' ? x.t.shape.length : x.scalar ? 0 : 1;
        if (rank !== 1) throw unsupported(node, `StridedSlice of a rank-${rank} constant`);
        const { idx, shrink } = stridedSlice1d(vec.length, b!.data[0]!, e!.data[0]!, s!.data[0]!, node);
        const picked = idx.map((i) => vec[i]!);
        const dtype = dtypeOf(x);
        if (picked.every((d) => d !== null)) return [makeConst(dtype, shrink ? [] : [picked.length], picked as number[], origin)];
        return [{ kind: 'partial', dims: picked, scalar: shrink, dtype }];
      }
      if (x.kind !== 'dyn') throw unsupported(node, `StridedSlice of a ${x.kind} value`);
      const spec = stridedSliceSpec(x.shape, Array.from(b!.data), Array.from(e!.data), Array.from(s!.data), node);
      const shape = spec.filter((a) => !a.shrink).map((a) => a.size);
      return keep(node, ins, [{ shape, dtype: x.dtype }]);
    }
    if (op === 'AddN') {
      if (ins.every((v) => v.kind === 'const')) {
        return [ins.slice(1).reduce<ConstValue>((acc, v) => broadcastBinary(acc.t, (v as ConstValue).t, binaryFn('Add', T), T, node.name, origin), ins[0] as ConstValue)];
      }
      if (ins.length === 1) return [ins[0]!];
      const shape = ins.map((v) => shapeOf(v, node.name)).reduce((a, b) => broadcastShape(a, b, node.name));
      return keep(node, ins, [{ shape, dtype: T }]);
    }
    if (op === 'Pack') {
      const axis = node.attr.axis?.i ?? 0;
      if (ins.every((v) => v.kind === 'const' || (v.kind === 'partial' && v.scalar))) {
        const allScalar = ins.every((v) => (v.kind === 'const' ? v.t.shape.length === 0 : true));
        if (allScalar) {
          const dims: Dim[] = ins.map((v) => (v.kind === 'const' ? v.t.data[0]! : (v as { dims: Dim[] }).dims[0]!));
          const dtype = node.attr.T?.type ?? dtypeOf(ins[0]!);
          if (dims.every((d) => d !== null)) return [makeConst(dtype, [dims.length], dims as number[], origin)];
          return [{ kind: 'partial', dims, scalar: false, dtype }];
        }
        if (axis === 0 && ins.every((v) => v.kind === 'const')) {
          const ts = ins.map((v) => (v as ConstValue).t);
          const c = concatConst(ts.map((t) => ({ ...t, shape: [1, ...t.shape] })), 0, ts[0]!.dtype, origin);
          return [c];
        }
      }
      throw unsupported(node, 'Pack of computed tensors');
    }
    if (op === 'ConcatV2' || op === 'Concat') {
      const parts = op === 'ConcatV2' ? ins.slice(0, -1) : ins.slice(1);
      const axisT = constOf(op === 'ConcatV2' ? ins[ins.length - 1]! : ins[0]!, node, 'axis');
      const axis = axisT.data[0]!;
      if (parts.every((v) => v.kind === 'const')) return [concatConst(parts.map((v) => (v as ConstValue).t), axis, dtypeOf(parts[0]!), origin)];
      if (parts.every((v) => v.kind === 'const' || (v.kind === 'partial' && !v.scalar))) {
        const dims: Dim[] = parts.flatMap((v) => (v.kind === 'const' ? Array.from(v.t.data) : (v as { dims: Dim[] }).dims));
        return [{ kind: 'partial', dims, scalar: false, dtype: dtypeOf(parts[0]!) }];
      }
      const shapes = parts.map((v) => shapeOf(v, node.name));
      const rank = shapes[0]!.length;
      const ax = axis < 0 ? axis + rank : axis;
      const shape = [...shapes[0]!];
      shape[ax] = shapes.some((s) => s[ax] === null) ? null : shapes.reduce((a, s) => a + (s[ax] as number), 0);
      const axisConst = makeConst(TfDType.int32, [], [ax], `${origin}/axis`);
      return keep({ ...node, op: 'ConcatV2' }, [...parts, axisConst], [{ shape, dtype: dtypeOf(parts[0]!) }], { ...node.attr, N: { i: parts.length } });
    }
    if (op === 'Fill') {
      const dims = ins[0]!;
      const v = constOf(ins[1]!, node, 'value');
      const shape: Dim[] = dims.kind === 'partial' ? dims.dims : Array.from(constOf(dims, node, 'dims').data);
      const val = v.data[0]!;
      if (shape.every((d) => d !== null)) return [makeConst(v.dtype, shape as number[], new Float64Array(numel(shape as number[])).fill(val), origin)];
      return [{ kind: 'uniform', lo: val, hi: val, hiOpen: false, shape, dtype: v.dtype }];
    }
    if (op === 'RandomUniform') {
      const dims = ins[0]!;
      const shape: Dim[] | null = dims.kind === 'partial' ? dims.dims : dims.kind === 'const' ? Array.from(dims.t.data) : null;
      return [{ kind: 'uniform', lo: 0, hi: 1, hiOpen: true, shape, dtype: node.attr.dtype?.type ?? TfDType.float }];
    }
    if (op === 'Cast') {
      const dst = node.attr.DstT?.type ?? TfDType.float;
      const x = ins[0]!;
      if (x.kind === 'const') return [makeConst(dst, x.t.shape, Array.from(x.t.data, (v) => castValue(v, dst)), origin)];
      if (x.kind === 'partial') return [{ ...x, dtype: dst }];
      if (x.kind === 'uniform') {
        if (x.lo === x.hi) return [{ ...x, lo: castValue(x.lo, dst), hi: castValue(x.lo, dst), dtype: dst }];
        if (!INT_TYPES.has(dst % 100) && dst % 100 !== TfDType.bool) return [{ ...x, dtype: dst }];
        throw unsupported(node, 'cast of a random tensor');
      }
      const d = x as DynValue;
      if (d.dtype % 100 === dst % 100) return [x];
      return keep(node, ins, [{ shape: d.shape, dtype: dst }]);
    }
    if (UNARY.has(op) || op === 'LogicalNot') {
      const x = ins[0]!;
      const f = unaryFn(op);
      if (x.kind === 'const' && f !== undefined) {
        return [makeConst(x.t.dtype, x.t.shape, Array.from(x.t.data, f), origin)];
      }
      if (x.kind === 'uniform' && (op === 'Floor' || op === 'Ceil')) {
        const lo = op === 'Floor' ? Math.floor(x.lo) : Math.ceil(x.lo);
        const hiEnd = op === 'Floor' ? (x.hiOpen ? Math.ceil(x.hi) - 1 : Math.floor(x.hi)) : Math.ceil(x.hi);
        if (lo === hiEnd) return [{ ...x, lo, hi: lo, hiOpen: false }];
        return [{ ...x, lo, hi: hiEnd, hiOpen: false }];
      }
      if (x.kind === 'uniform' && x.lo === x.hi && f !== undefined) {
        const v = f(x.lo);
        return [{ ...x, lo: v, hi: v }];
      }
      if (x.kind === 'dyn' && op !== 'LogicalNot') return keep(node, ins, [{ shape: x.shape, dtype: x.dtype }]);
      throw unsupported(node, `on a ${x.kind} value`);
    }
    if (BINARY.has(op) || COMPARE.has(op)) {
      const [a, b] = [ins[0]!, ins[1]!];
      const outType = COMPARE.has(op) ? TfDType.bool : T;
      if (a.kind === 'const' && b.kind === 'const') {
        if (op === 'BiasAdd') checkNhwc(node);
        return [broadcastBinary(a.t, b.t, binaryFn(op, T), outType, node.name, origin)];
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
        const u = (a.kind === 'uniform' ? a : b) as Extract<Value, { kind: 'uniform' }>;
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
          const s = makeConst(u.dtype, [], [u.lo], `${origin}/mask`);
          return evalBinaryDyn(node, uFirst ? s : other, uFirst ? other : s, outType);
        }
        throw unsupported(node, 'random values that do not fold (is dropout fed keep probability 1.0?)');
      }
      return evalBinaryDyn(node, a, b, outType);
    }
    if (op === 'Reshape') {
      const x = ins[0]!;
      const target = ins[1]!;
      const tdims: Dim[] = target.kind === 'partial' ? target.dims : Array.from(constOf(target, node, 'shape').data);
      if (x.kind === 'const') return [makeConst(x.t.dtype, resolveReshape(tdims as number[], x.t.data.length, node.name), x.t.data, origin)];
      const xs = shapeOf(x, node.name);
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
      return keep(node, [x, shapeConst], [{ shape: outShape, dtype: dtypeOf(x) }], { T: { type: dtypeOf(x) }, Tshape: { type: TfDType.int32 } });
    }
    if (op === 'ExpandDims' || op === 'Squeeze') {
      const x = ins[0]!;
      const s = shapeOf(x, node.name);
      let out: Dim[];
      if (op === 'ExpandDims') {
        let ax = constOf(ins[1]!, node, 'axis').data[0]!;
        if (ax < 0) ax += s.length + 1;
        out = [...s.slice(0, ax), 1, ...s.slice(ax)];
      } else {
        const axes = intList(node.attr.squeeze_dims, []).map((a) => (a < 0 ? a + s.length : a));
        out = s.filter((d, i) => (axes.length === 0 ? d !== 1 : !axes.includes(i)));
      }
      if (x.kind === 'const') return [makeConst(x.t.dtype, out as number[], x.t.data, origin)];
      if (x.kind !== 'dyn') throw unsupported(node, `on a ${x.kind} value`);
      return keep(node, ins, [{ shape: out, dtype: x.dtype }]);
    }
    if (op === 'Transpose' && ins[0]!.kind === 'const') {
      const t = (ins[0] as ConstValue).t;
      const perm = Array.from(constOf(ins[1]!, node, 'perm').data);
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
      return [makeConst(t.dtype, shape, out, origin)];
    }

    // Everything else is a network op: it must be one we convert, with a computed input.
    if (!KEPT_OPS.has(op)) throw unsupported(node);
    if (op === 'Conv2DBackpropInput' && ins[0]!.kind === 'partial') {
      // The output size's batch entry is unknown; the writers read only its spatial entries.
      const p = ins[0] as Extract<Value, { kind: 'partial' }>;
      ins[0] = makeConst(p.dtype, [p.dims.length], p.dims.map((d) => d ?? -1), `${origin}/input_sizes`);
    }
    return keep(node, ins, inferKept(node, ins.map((v) => {
      if (v.kind === 'const') return { shape: v.t.shape as Dim[], dtype: v.t.dtype, value: v.t };
      return { shape: shapeOf(v, node.name), dtype: dtypeOf(v), value: v.kind === 'partial' && v.dims.every((d) => d !== null) ? constOf(v, node, 'input') : undefined };
    }), batch));
  };

  /** A binary op with at least one computed input: drops `x*1`, `x/1`, `x+0`, `x-0`. */
  const evalBinaryDyn = (node: TfNode, a: Value, b: Value, outType: number): Value[] => {
    const one = (v: Value, k: number): boolean => v.kind === 'const' && v.t.data.length === 1 && v.t.data[0] === k;
    const sa = shapeOf(a, node.name);
    const sb = shapeOf(b, node.name);
    const same = (x: Value, other: Dim[]): boolean => broadcastShape(shapeOf(x, node.name), other, node.name).length === shapeOf(x, node.name).length;
    if (node.op === 'Mul' && one(b, 1) && a.kind === 'dyn' && same(a, sb)) return [a];
    if (node.op === 'Mul' && one(a, 1) && b.kind === 'dyn' && same(b, sa)) return [b];
    if ((node.op === 'RealDiv' || node.op === 'Div') && one(b, 1) && a.kind === 'dyn' && same(a, sb) && !INT_TYPES.has(outType % 100)) return [a];
    if ((node.op === 'Add' || node.op === 'AddV2' || node.op === 'Sub' || node.op === 'BiasAdd') && one(b, 0) && a.kind === 'dyn' && same(a, sb)) return [a];
    if ((node.op === 'Add' || node.op === 'AddV2') && one(a, 0) && b.kind === 'dyn' && same(b, sa)) return [b];
    if (node.op === 'BiasAdd') checkNhwc(node);
    return keep(node, [a, b], [{ shape: broadcastShape(sa, sb, node.name), dtype: outType }]);
  };

  // Nodes reached only through control edges (asserts, prints, pivots) decide deadness at most: one
  // that cannot be evaluated counts as alive with no outputs instead of failing the import.
  const viaData = new Set<string>();
  const stack = outRefs.map((o) => o.node);
  while (stack.length > 0) {
    const name = stack.pop()!;
    if (viaData.has(name)) continue;
    viaData.add(name);
    for (const i of byName.get(name)!.inputs) if (!i.startsWith('^')) stack.push(parseInputRef(i).node);
  }
  for (const node of order) {
    if (viaData.has(node.name)) values.set(node.name, evalNode(node));
    else {
      try {
        values.set(node.name, evalNode(node));
      } catch {
        values.set(node.name, []);
      }
    }
  }

  const outputs: FoldedGraph['outputs'] = options.outputs.map((name) => {
    const v = valueOf(name);
    if (v.kind === 'dead') throw graphError(`output '${name}' is not computed when the fixed feeds are applied`);
    if (v.kind === 'dyn') return { name, ref: v.ref, shape: v.shape, dtype: v.dtype };
    if (v.kind === 'const') {
      const ref = refOf(v, byName.get(parseInputRef(name).node)!);
      return { name, ref, shape: v.t.shape, dtype: v.t.dtype };
    }
    throw graphError(`output '${name}' is a ${v.kind === 'uniform' ? 'random' : 'shape'} value, not a network output`);
  });
  // Keep only what the outputs need (control-only branches may have emitted nodes).
  const live = new Set<string>();
  const todo = outputs.map((o) => parseInputRef(o.ref).node);
  const byFolded = new Map(nodes.map((n) => [n.name, n]));
  while (todo.length > 0) {
    const name = todo.pop()!;
    if (live.has(name)) continue;
    live.add(name);
    for (const i of byFolded.get(name)?.inputs ?? []) todo.push(parseInputRef(i).node);
  }
  return { nodes: nodes.filter((n) => live.has(n.name)), inputs: inputs.filter((i) => live.has(i.name)), outputs };
}

interface InInfo {
  shape: Dim[];
  dtype: number;
  value: TfTensor | undefined;
}

/** Output shapes and dtypes of a kept network op. */
function inferKept(node: TfNode, ins: InInfo[], batch: number | null): TensorInfo[] {
  const op = node.op;
  const x = ins[0]!;
  const T = node.attr.T?.type ?? x.dtype;
  const need = (i: number, what: string): TfTensor => {
    const v = ins[i]?.value;
    if (v === undefined) throw graphError(`${what} of '${op}' must be a constant after folding`, node.name);
    return v;
  };
  const rank4 = (s: Dim[]): void => {
    if (s.length !== 4) throw graphError(`'${op}' needs a rank-4 NHWC input, got [${s.map((d) => d ?? '?').join(',')}]`, node.name);
  };
  switch (op) {
    case 'Conv2D':
    case 'DepthwiseConv2dNative': {
      checkNhwc(node);
      rank4(x.shape);
      const w = ins[1]!.shape as number[];
      const [, sh, sw] = intList(node.attr.strides, [1, 1, 1, 1]);
      const [, dh, dw] = intList(node.attr.dilations, [1, 1, 1, 1]);
      const padding = attrString(node.attr.padding) ?? 'VALID';
      const ep = intList(node.attr.explicit_paddings, [0, 0, 0, 0, 0, 0, 0, 0]);
      const oc = op === 'Conv2D' ? w[3]! : w[2]! * w[3]!;
      return [{ shape: [x.shape[0]!, convOut(x.shape[1]!, w[0]!, sh!, dh!, padding, ep[2], ep[3]), convOut(x.shape[2]!, w[1]!, sw!, dw!, padding, ep[4], ep[5]), oc], dtype: T }];
    }
    case 'Conv2DBackpropInput': {
      checkNhwc(node);
      const sizes = Array.from(need(0, 'input_sizes').data);
      return [{ shape: sizes.map((d, i) => (i === 0 ? ins[2]!.shape[0]! ?? batch : d)), dtype: T }];
    }
    case 'MaxPool':
    case 'AvgPool': {
      checkNhwc(node);
      rank4(x.shape);
      const [, kh, kw] = intList(node.attr.ksize, [1, 1, 1, 1]);
      const [, sh, sw] = intList(node.attr.strides, [1, 1, 1, 1]);
      const padding = attrString(node.attr.padding) ?? 'VALID';
      return [{ shape: [x.shape[0]!, convOut(x.shape[1]!, kh!, sh!, 1, padding), convOut(x.shape[2]!, kw!, sw!, 1, padding), x.shape[3]!], dtype: T }];
    }
    case 'FusedBatchNorm':
    case 'FusedBatchNormV2':
    case 'FusedBatchNormV3': {
      checkNhwc(node);
      if (node.attr.is_training?.b === true) throw unsupported(node, 'batch normalisation in training mode (is the training flag fed False?)');
      for (let i = 1; i < 5; i++) need(i, 'scale/offset/mean/variance');
      const c = x.shape[x.shape.length - 1]!;
      const n = op === 'FusedBatchNormV3' ? 6 : 5;
      return [{ shape: x.shape, dtype: T }, ...Array.from({ length: n - 1 }, () => ({ shape: [c] as Dim[], dtype: TfDType.float }))];
    }
    case 'MatMul': {
      const a = x.shape;
      const b = ins[1]!.shape;
      if (a.length !== 2 || b.length !== 2) throw unsupported(node, 'MatMul of tensors that are not matrices');
      const ta = node.attr.transpose_a?.b === true;
      const tb = node.attr.transpose_b?.b === true;
      return [{ shape: [ta ? a[1]! : a[0]!, tb ? b[0]! : b[1]!], dtype: T }];
    }
    case 'ArgMax': {
      let ax = need(1, 'dimension').data[0]!;
      if (ax < 0) ax += x.shape.length;
      return [{ shape: x.shape.filter((_, i) => i !== ax), dtype: node.attr.output_type?.type ?? TfDType.int64 }];
    }
    case 'Mean':
    case 'Sum':
    case 'Max':
    case 'Min': {
      const axes = Array.from(need(1, 'axes').data).map((a) => (a < 0 ? a + x.shape.length : a));
      const keepDims = node.attr.keep_dims?.b === true;
      return [{ shape: keepDims ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d)) : x.shape.filter((_, i) => !axes.includes(i)), dtype: T }];
    }
    case 'ResizeBilinear':
    case 'ResizeNearestNeighbor': {
      rank4(x.shape);
      const size = Array.from(need(1, 'size').data);
      return [{ shape: [x.shape[0]!, size[0]!, size[1]!, x.shape[3]!], dtype: op === 'ResizeBilinear' ? TfDType.float : T }];
    }
    case 'Pad':
    case 'PadV2':
    case 'MirrorPad': {
      const p = Array.from(need(1, 'paddings').data);
      if (op === 'PadV2') need(2, 'constant_values');
      return [{ shape: x.shape.map((d, i) => (d === null ? null : d + p[2 * i]! + p[2 * i + 1]!)), dtype: T }];
    }
    case 'Transpose': {
      const perm = Array.from(need(1, 'perm').data);
      return [{ shape: perm.map((p) => x.shape[p]!), dtype: T }];
    }
    case 'Slice': {
      const begin = Array.from(need(1, 'begin').data);
      const size = Array.from(need(2, 'size').data);
      return [{ shape: x.shape.map((d, i) => (size[i] === -1 ? (d === null ? null : d - begin[i]!) : size[i]!)), dtype: T }];
    }
    default:
      throw unsupported(node, `no shape rule (${dtypeName(T)})`);
  }
}
