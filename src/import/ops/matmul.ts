/** `MatMul` of two matrices (NHWC side: a flattened feature vector); a transposed constant is transposed once. */
import { unsupported } from '../folded-graph.js';
import type { OpHandler } from './types.js';

export const matmulHandlers: OpHandler[] = [
  {
    ops: ['MatMul'],
    shape(node, ins) {
      const a = ins[0]!.shape;
      const b = ins[1]!.shape;
      if (a.length !== 2 || b.length !== 2) throw unsupported(node, 'MatMul of tensors that are not matrices');
      const ta = node.attr.transpose_a?.b === true;
      const tb = node.attr.transpose_b?.b === true;
      return [{ shape: [ta ? a[1]! : a[0]!, tb ? b[0]! : b[1]!], dtype: node.attr.T?.type ?? ins[0]!.dtype }];
    },
    onnx(c, n) {
      const ins = n.inputs;
      const ta = n.attr.transpose_a?.b === true;
      const tb = n.attr.transpose_b?.b === true;
      const side = (ref: string, t: boolean): string => {
        const k = c.consts.get(ref);
        if (k !== undefined && t) {
          const [r, q] = k.shape as [number, number];
          const d = new Float32Array(r * q);
          for (let i = 0; i < r; i++) for (let j = 0; j < q; j++) d[j * r + i] = k.data[i * q + j]!;
          return c.f32(`${ref}/transposed`, [q, r], d);
        }
        if (!t) return c.nhwc(ref);
        const o = c.unique(`${ref}/transposed`);
        c.emit('Transpose', [c.nhwc(ref)], [o], { perm: [1, 0] });
        return o;
      };
      const out = c.outName(n, 'nhwc');
      c.emit('MatMul', [side(ins[0]!, ta), side(ins[1]!, tb)], [out]);
      c.setOut(n, 'nhwc', out);
      const [m, k2] = n.outputs[0]!.shape;
      const bs = c.infoOf(ins[1]!).shape;
      if (k2 !== null && bs[0] !== null) c.flops += 2 * (m ?? 1) * (k2 as number) * (tb ? bs[1]! : bs[0]!)!;
    },
    tfjs: 'native',
  },
];
