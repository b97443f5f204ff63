/**
 * Inference batch norm (`FusedBatchNorm`, V2, V3): y = x·a + b per channel, folded into the
 * convolution before it where there is one (`OnnxBuilder.affine`), else an NCHW Mul and Add.
 */
import { TfDType } from '../tf-graphdef.js';
import type { Dim } from '../folded-graph.js';
import { unsupported } from '../folded-graph.js';
import { checkNhwc, needConst } from './const-math.js';
import type { OpHandler } from './types.js';

export const normalizationHandlers: OpHandler[] = [
  {
    ops: ['FusedBatchNorm', 'FusedBatchNormV2', 'FusedBatchNormV3'],
    shape(node, ins) {
      const x = ins[0]!;
      const T = node.attr.T?.type ?? x.dtype;
      checkNhwc(node);
      if (node.attr.is_training?.b === true) throw unsupported(node, 'batch normalisation in training mode (is the training flag fed False?)');
      for (let i = 1; i < 5; i++) needConst(node, ins, i, 'scale/offset/mean/variance');
      const c = x.shape[x.shape.length - 1]!;
      const n = node.op === 'FusedBatchNormV3' ? 6 : 5;
      return [{ shape: x.shape, dtype: T }, ...Array.from({ length: n - 1 }, () => ({ shape: [c] as Dim[], dtype: TfDType.float }))];
    },
    onnx(c, n) {
      const [scale, offset, mean, variance] = [1, 2, 3, 4].map((i) => c.constOf(n.inputs[i]!, n, 'scale/offset/mean/variance'));
      const eps = n.attr.epsilon?.f ?? 1e-3;
      const k = scale!.data.length;
      const a = new Float32Array(k);
      const b = new Float32Array(k);
      for (let j = 0; j < k; j++) {
        a[j] = scale!.data[j]! / Math.sqrt(variance!.data[j]! + eps);
        b[j] = offset!.data[j]! - mean!.data[j]! * a[j]!;
      }
      c.affine(n, n.inputs[0]!, a, b);
    },
    tfjs: 'native',
  },
];
