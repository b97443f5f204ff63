/**
 * Tensors made from nothing but a shape: `Fill`, `Range`, `ZerosLike` / `OnesLike` and
 * `RandomUniform`. None is kept: they fold to constants, or to exactly-known values the shape of a
 * computed tensor (tracked as a one-point interval), or — for the random draws of dropout — to the
 * interval [0, 1) that keep probability 1.0 then folds away (`elementwise.ts`).
 */
import { TfDType, numel } from '../tf-graphdef.js';
import type { Dim } from '../folded-graph.js';
import { makeConst } from './const-math.js';
import type { ConstValue, OpHandler } from './types.js';

export const generatorHandlers: OpHandler[] = [
  {
    ops: ['ZerosLike', 'OnesLike'],
    fold(c, node, ins) {
      const x = ins[0]!;
      const v = node.op === 'ZerosLike' ? 0 : 1;
      if (x.kind === 'const') return [makeConst(x.t.dtype, x.t.shape, new Float64Array(x.t.data.length).fill(v), node.name)];
      const shape: Dim[] | null = x.kind === 'dyn' ? x.shape : x.kind === 'uniform' ? x.shape : x.kind === 'partial' ? (x.scalar ? [] : [x.dims.length]) : null;
      return [{ kind: 'uniform', lo: v, hi: v, hiOpen: false, shape, dtype: c.dtypeOf(x) }];
    },
  },
  {
    ops: ['Range'],
    fold(c, node, ins) {
      if (!ins.every((v) => v.kind === 'const')) return undefined;
      const [start, limit, delta] = ins.map((v) => (v as ConstValue).t.data[0]!);
      const out: number[] = [];
      for (let v = start!; delta! > 0 ? v < limit! : v > limit!; v += delta!) out.push(v);
      return [makeConst(node.attr.Tidx?.type ?? c.dtypeOf(ins[0]!), [out.length], out, node.name)];
    },
  },
  {
    ops: ['Fill'],
    fold(c, node, ins) {
      const dims = ins[0]!;
      const v = c.constOf(ins[1]!, node, 'value');
      const shape: Dim[] = dims.kind === 'partial' ? dims.dims : Array.from(c.constOf(dims, node, 'dims').data);
      const val = v.data[0]!;
      if (shape.every((d) => d !== null)) return [makeConst(v.dtype, shape as number[], new Float64Array(numel(shape as number[])).fill(val), node.name)];
      return [{ kind: 'uniform', lo: val, hi: val, hiOpen: false, shape, dtype: v.dtype }];
    },
  },
  {
    ops: ['RandomUniform'],
    fold(_c, node, ins) {
      const dims = ins[0]!;
      const shape: Dim[] | null = dims.kind === 'partial' ? dims.dims : dims.kind === 'const' ? Array.from(dims.t.data) : null;
      return [{ kind: 'uniform', lo: 0, hi: 1, hiOpen: true, shape, dtype: node.attr.dtype?.type ?? TfDType.float }];
    },
  },
];
