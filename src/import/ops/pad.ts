/** `Pad`, `PadV2` (a constant value) and `MirrorPad` (REFLECT); rank-4 tensors already NCHW stay so. */
import { attrString } from '../tf-graphdef.js';
import { graphError } from '../folded-graph.js';
import { TO_NCHW } from '../onnx-builder.js';
import { needConst } from './const-math.js';
import type { OpHandler } from './types.js';

export const padHandlers: OpHandler[] = [
  {
    ops: ['Pad', 'PadV2', 'MirrorPad'],
    shape(node, ins) {
      const x = ins[0]!;
      const p = Array.from(needConst(node, ins, 1, 'paddings').data);
      if (node.op === 'PadV2') needConst(node, ins, 2, 'constant_values');
      return [{ shape: x.shape.map((d, i) => (d === null ? null : d + p[2 * i]! + p[2 * i + 1]!)), dtype: node.attr.T?.type ?? x.dtype }];
    },
    onnx(c, n) {
      const x = n.inputs[0]!;
      const p = Array.from(c.constOf(n.inputs[1]!, n, 'paddings').data);
      const rank = p.length / 2;
      const mode = n.op === 'MirrorPad' ? (attrString(n.attr.mode) ?? 'REFLECT') : 'CONSTANT';
      if (mode !== 'CONSTANT' && mode !== 'REFLECT') throw graphError(`MirrorPad mode ${mode} is not supported (REFLECT is)`, n.name);
      const useNchw = rank === 4 && c.hasNchw(x);
      const perm = useNchw ? TO_NCHW : Array.from({ length: rank }, (_, i) => i);
      const pads = [...perm.map((a) => p[2 * a]!), ...perm.map((a) => p[2 * a + 1]!)];
      const value = n.op === 'PadV2' ? c.constOf(n.inputs[2]!, n, 'constant_values').data[0]! : 0;
      const out = c.outName(n, useNchw ? 'nchw' : 'nhwc');
      c.emit('Pad', [useNchw ? c.nchw(x) : c.nhwc(x), c.i64(`${n.name}/pads`, pads), c.f32(`${n.name}/value`, [], [value])], [out], { mode: mode === 'REFLECT' ? 'reflect' : 'constant' });
      c.setOut(n, useNchw ? 'nchw' : 'nhwc', out);
    },
    tfjs: 'native',
  },
];
