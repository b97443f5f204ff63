/** `MaxPool` and `AvgPool` (NHWC in TF, NCHW in ONNX; an average never counts padding, as in TF). */
import { attrString } from '../tf-graphdef.js';
import { padAttrs, padsFor } from '../onnx-builder.js';
import { checkNhwc, convOut, intList, rank4 } from './const-math.js';
import type { OpHandler } from './types.js';

export const poolingHandlers: OpHandler[] = [
  {
    ops: ['MaxPool', 'AvgPool'],
    shape(node, ins) {
      const x = ins[0]!;
      checkNhwc(node);
      rank4(node, x.shape);
      const [, kh, kw] = intList(node.attr.ksize, [1, 1, 1, 1]);
      const [, sh, sw] = intList(node.attr.strides, [1, 1, 1, 1]);
      const padding = attrString(node.attr.padding) ?? 'VALID';
      return [{ shape: [x.shape[0]!, convOut(x.shape[1]!, kh!, sh!, 1, padding), convOut(x.shape[2]!, kw!, sw!, 1, padding), x.shape[3]!], dtype: node.attr.T?.type ?? x.dtype }];
    },
    onnx(c, n) {
      const x = n.inputs[0]!;
      const [, kh, kw] = n.attr.ksize?.list?.i ?? [1, 1, 1, 1];
      const [, sh, sw] = n.attr.strides?.list?.i ?? [1, 1, 1, 1];
      const { h, w } = c.spatial(x);
      const pads = padsFor(n, h, w, kh!, kw!, sh!, sw!, 1, 1);
      const out = c.outName(n, 'nchw');
      c.emit(n.op === 'MaxPool' ? 'MaxPool' : 'AveragePool', [c.nchw(x)], [out], { kernel_shape: [kh!, kw!], strides: [sh!, sw!], ...padAttrs(pads), ...(n.op === 'AvgPool' ? { count_include_pad: 0 } : {}) });
      c.setOut(n, 'nchw', out);
    },
    tfjs: 'native',
  },
];
