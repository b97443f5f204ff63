/**
 * Folding a frozen TF 1.x graph for inference: what the fixed feeds decide is computed here, once,
 * so that the converted model holds only the network.
 *
 * This file is the driver: it orders the nodes, tracks each tensor's value (constant, computed,
 * shape with a symbolic batch, random interval, dead) and asks the op table (`ops/index.ts`) what
 * each op does. The rules themselves live with their ops:
 *
 * - `TRAINING` fed False: every `Switch` on it becomes a pass-through on the taken side and a dead
 *   value on the other; deadness spreads (also along control edges, as in TF) and `Merge` takes the
 *   live input (`ops/graph-control.ts`). The training branch disappears.
 * - keep probability fed 1.0: dropout disappears. `RandomUniform` is tracked as an interval [0, 1)
 *   (TF draws it as k·2⁻²³, so `keep + U` stays below 2 in float32) and `floor(1 + U)` = 1 and
 *   `U >= 0` = true are exact; `x / 1 * 1` then folds to `x` (`ops/binary.ts`, `ops/elementwise.ts`).
 * - Shapes are inferred from the placeholder's shape with the batch kept symbolic (`null`), so
 *   `Shape` → `StridedSlice` → `Pack` chains fold to constants (the batch entry becomes -1 where a
 *   `Reshape` reads it; `ops/shape-ops.ts`, `ops/slice.ts`).
 * - Identity-like ops are removed.
 *
 * The result is a smaller TF graph (`FoldedGraph`) with every tensor's shape and dtype, which the
 * ONNX writer and the TF.js export both read.
 */
import { TfDType, dtypeName, numel, parseInputRef } from './tf-graphdef.js';
import type { TfAttr, TfGraph, TfNode, TfTensor } from './tf-graphdef.js';
import { graphError, unsupported } from './folded-graph.js';
import type { Dim, FoldedGraph, FoldedNode, TensorInfo } from './folded-graph.js';
import { makeConst } from './ops/const-math.js';
import { OP_TABLE } from './ops/index.js';
import { DEAD } from './ops/types.js';
import type { FoldContext, InInfo, Value } from './ops/types.js';

export { graphError } from './folded-graph.js';
export type { Dim, FoldedGraph, FoldedNode, TensorInfo } from './folded-graph.js';
export { KEPT_OPS } from './ops/index.js';
export { stridedSliceSpec } from './ops/slice.js';
export type { SliceAxis } from './ops/slice.js';

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

  const ctx: FoldContext = { feeds, inputShapes: options.inputShapes, batch, addInput: (i) => inputs.push(i), keep, constOf, shapeOf, dtypeOf };

  const evalNode = (node: TfNode): Value[] => {
    const data = node.inputs.filter((i) => !i.startsWith('^'));
    const ctrl = node.inputs.filter((i) => i.startsWith('^'));
    const ins = data.map(valueOf);
    const handler = OP_TABLE.get(node.op);
    if (handler?.takesDeadInputs !== true) {
      if (ins.some((v) => v.kind === 'dead')) return [DEAD];
      for (const c of ctrl) {
        const cn = byName.get(c.slice(1))!;
        if (cn.op === 'Switch') continue;
        const cv = values.get(cn.name);
        if (cv !== undefined && cv.length > 0 && cv.every((v) => v.kind === 'dead')) return [DEAD];
      }
    }
    if (handler === undefined) throw unsupported(node);
    const T = node.attr.T?.type ?? (ins[0] ? dtypeOf(ins[0]) : TfDType.float);
    const folded = handler.fold?.(ctx, node, ins, T);
    if (folded !== undefined) return folded;
    // Not folded: a network op, which must be one we convert, with a computed input.
    if (handler.onnx === undefined) throw unsupported(node);
    if (handler.shape === undefined) throw unsupported(node, `no shape rule (${dtypeName(T)})`);
    const infos: InInfo[] = ins.map((v) => {
      if (v.kind === 'const') return { shape: v.t.shape as Dim[], dtype: v.t.dtype, value: v.t };
      return { shape: shapeOf(v, node.name), dtype: dtypeOf(v), value: v.kind === 'partial' && v.dims.every((d) => d !== null) ? constOf(v, node, 'input') : undefined };
    });
    return keep(node, ins, handler.shape(node, infos, batch));
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
