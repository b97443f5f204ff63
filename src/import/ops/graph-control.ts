/**
 * Graph plumbing: constants, placeholders (fed ones become constants), identities, side-effect
 * ops, tf.cond (`Switch` / `Merge`) and `Select` on a fixed condition.
 */
import { TfDType, dtypeName } from '../tf-graphdef.js';
import { graphError, unsupported } from '../folded-graph.js';
import type { Dim, TensorInfo } from '../folded-graph.js';
import type { TfNode } from '../tf-graphdef.js';
import { onnxType } from '../onnx-builder.js';
import { makeConst } from './const-math.js';
import { DEAD } from './types.js';
import type { FoldContext, OpHandler, Value } from './types.js';

/** A placeholder: a constant when fed, else an input of the folded graph with its (given) shape. */
function placeholder(c: FoldContext, node: TfNode): Value[] {
  const dtype = node.attr.dtype?.type ?? TfDType.float;
  if (node.name in c.feeds) {
    const f = c.feeds[node.name]!;
    return [makeConst(dtype, [], [typeof f === 'boolean' ? +f : f], node.name)];
  }
  const given = c.inputShapes?.[node.name];
  const s = given !== undefined ? { dims: given, unknownRank: false } : node.attr.shape?.shape;
  if (s === undefined || s.unknownRank) throw graphError('placeholder of unknown rank: give its value (--feed) or re-export it with a shape', node.name);
  const shape: Dim[] = s.dims.map((d, i) => (d >= 0 ? d : i === 0 ? c.batch : null));
  c.addInput({ name: node.name, shape, dtype });
  const out: TensorInfo = { shape, dtype };
  return c.keep(node, [], [out], { dtype: { type: dtype }, shape: { shape: { dims: shape.map((d) => d ?? -1), unknownRank: false } } });
}

export const graphControlHandlers: OpHandler[] = [
  {
    ops: ['Const'],
    fold(_c, node) {
      const t = node.attr.value?.tensor;
      if (t === undefined) throw graphError('Const without a value', node.name);
      return [{ kind: 'const', t, origin: node.name }];
    },
    onnx() {
      // Constants become initializers where a node reads them.
    },
    tfjs: 'native',
  },
  {
    ops: ['Placeholder'],
    fold: (c, node) => placeholder(c, node),
    onnx(c, n) {
      c.taken.add(n.name);
      const dtype = n.outputs[0]!.dtype % 100;
      if (dtype === TfDType.float || dtype === TfDType.half) {
        c.setRep(n.name, { nhwc: n.name });
        return;
      }
      // Engines feed float32: a uint8 / int image placeholder gets a float input and a cast.
      const cast = c.unique(`${n.name}/as_${dtypeName(dtype)}`);
      c.emit('Cast', [n.name], [cast], { to: onnxType(dtype, n.name) });
      c.setRep(n.name, { nhwc: cast });
    },
    tfjs: 'native',
  },
  {
    // A fed PlaceholderWithDefault is a placeholder; otherwise its default flows through.
    ops: ['PlaceholderWithDefault'],
    fold: (c, node, ins) => (node.name in c.feeds ? placeholder(c, node) : [ins[0]!]),
  },
  {
    ops: ['Identity', 'StopGradient', 'Snapshot', 'PreventGradient', 'CheckNumerics', 'EnsureShape', 'Print'],
    fold: (_c, _node, ins) => [ins[0]!],
  },
  { ops: ['IdentityN'], fold: (_c, _node, ins) => ins },
  {
    // Ops that only matter through control edges (checks, logging): they produce nothing here.
    ops: ['NoOp', 'Assert', 'PrintV2'],
    fold: () => [],
  },
  {
    ops: ['Switch'],
    fold(_c, node, ins) {
      const pred = ins[1]!;
      if (pred.kind !== 'const') throw graphError(`tf.cond on a value that is not fixed: feed the placeholder it depends on (e.g. TRAINING=false)`, node.name);
      return pred.t.data[0] ? [DEAD, ins[0]!] : [ins[0]!, DEAD];
    },
  },
  {
    ops: ['Merge'],
    takesDeadInputs: true,
    fold(_c, node, ins) {
      const k = ins.findIndex((v) => v.kind !== 'dead');
      if (k < 0) return [DEAD];
      return [ins[k]!, makeConst(TfDType.int32, [], [k], `${node.name}:1`)];
    },
  },
  {
    ops: ['Select', 'SelectV2'],
    fold(_c, node, ins) {
      const c = ins[0]!;
      if (c.kind === 'const' && c.t.data.length > 0 && c.t.data.every((v) => v === c.t.data[0])) return [c.t.data[0] ? ins[1]! : ins[2]!];
      if (c.kind === 'uniform' && c.lo === c.hi) return [c.lo ? ins[1]! : ins[2]!];
      throw unsupported(node, 'a condition that is not fixed after folding');
    },
  },
];
