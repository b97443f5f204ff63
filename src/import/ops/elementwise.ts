/**
 * One-input element-wise ops: activations and math functions, `Softmax` / `LogSoftmax` (over the
 * last axis, so over channels in NCHW) and `Cast`. Each runs in whichever layout its input already
 * has. On constants they fold; on dropout's random interval, `Floor` / `Ceil` fold exactly.
 */
import { TfDType } from '../tf-graphdef.js';
import { unsupported } from '../folded-graph.js';
import type { FoldedNode } from '../folded-graph.js';
import { onnxType } from '../onnx-builder.js';
import type { AttrV, OnnxBuilder } from '../onnx-builder.js';
import { castValue, INT_TYPES, makeConst, unaryFn } from './const-math.js';
import type { DynValue, FoldRule, OpHandler } from './types.js';

const unaryFold: FoldRule = (c, node, ins) => {
  const op = node.op;
  const x = ins[0]!;
  const f = unaryFn(op);
  if (x.kind === 'const' && f !== undefined) {
    return [makeConst(x.t.dtype, x.t.shape, Array.from(x.t.data, f), node.name)];
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
  if (x.kind === 'dyn' && op !== 'LogicalNot') return c.keep(node, ins, [{ shape: x.shape, dtype: x.dtype }]);
  throw unsupported(node, `on a ${x.kind} value`);
};

/** An op with an ONNX op of the same meaning (attributes as TF names them). */
function direct(tfOp: string, onnxOp: string, attrs: (n: FoldedNode) => Record<string, AttrV> = () => ({})): OpHandler {
  return { ops: [tfOp], fold: unaryFold, onnx: (c, n) => c.unary(n, (x, out) => c.emit(onnxOp, [x], [out], attrs(n))), tfjs: 'native' };
}

function composite(tfOp: string, onnx: (c: OnnxBuilder, n: FoldedNode) => void): OpHandler {
  return { ops: [tfOp], fold: unaryFold, onnx, tfjs: 'native' };
}

const softmax = (c: OnnxBuilder, n: FoldedNode): void => {
  const x = n.inputs[0]!;
  const rank = c.infoOf(x).shape.length;
  const useNchw = rank === 4 && c.hasNchw(x);
  const out = c.outName(n, useNchw ? 'nchw' : 'nhwc');
  c.emit(n.op, [useNchw ? c.nchw(x) : c.nhwc(x)], [out], { axis: useNchw ? 1 : -1 });
  c.setOut(n, useNchw ? 'nchw' : 'nhwc', out);
};

export const elementwiseHandlers: OpHandler[] = [
  ...['Relu', 'Sigmoid', 'Tanh', 'Exp', 'Log', 'Sqrt', 'Neg', 'Abs', 'Floor', 'Ceil', 'Reciprocal', 'Erf', 'Softplus', 'Elu', 'Selu'].map((op) => direct(op, op)),
  direct('LeakyRelu', 'LeakyRelu', (n) => ({ alpha: { float: n.attr.alpha?.f ?? 0.2 } })),
  composite('Relu6', (c, n) => c.unary(n, (x, out) => c.emit('Clip', [x, c.f32(`${n.name}/min`, [], [0]), c.f32(`${n.name}/max`, [], [6])], [out]))),
  composite('Rsqrt', (c, n) =>
    c.unary(n, (x, out) => {
      const s = c.unique(`${n.name}/sqrt`);
      c.emit('Sqrt', [x], [s]);
      c.emit('Reciprocal', [s], [out]);
    }),
  ),
  composite('Square', (c, n) => c.unary(n, (x, out) => c.emit('Mul', [x, x], [out]))),
  composite('Softmax', softmax),
  composite('LogSoftmax', softmax),
  // On constants and exact values only (boolean masks); never kept.
  { ops: ['LogicalNot'], fold: unaryFold },
  {
    ops: ['Cast'],
    fold(c, node, ins) {
      const dst = node.attr.DstT?.type ?? TfDType.float;
      const x = ins[0]!;
      if (x.kind === 'const') return [makeConst(dst, x.t.shape, Array.from(x.t.data, (v) => castValue(v, dst)), node.name)];
      if (x.kind === 'partial') return [{ ...x, dtype: dst }];
      if (x.kind === 'uniform') {
        if (x.lo === x.hi) return [{ ...x, lo: castValue(x.lo, dst), hi: castValue(x.lo, dst), dtype: dst }];
        if (!INT_TYPES.has(dst % 100) && dst % 100 !== TfDType.bool) return [{ ...x, dtype: dst }];
        throw unsupported(node, 'cast of a random tensor');
      }
      const d = x as DynValue;
      if (d.dtype % 100 === dst % 100) return [x];
      return c.keep(node, ins, [{ shape: d.shape, dtype: dst }]);
    },
    onnx(c, n) {
      const to = onnxType(n.attr.DstT?.type ?? TfDType.float, n.name);
      c.unary(n, (x, out) => c.emit('Cast', [x], [out], { to }));
    },
    tfjs: 'native',
  },
];
