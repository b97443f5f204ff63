/**
 * `ResizeBilinear` and `ResizeNearestNeighbor` → ONNX `Resize` (NCHW), with TF's coordinate modes:
 * align_corners, half_pixel_centers (`tf_half_pixel_for_nn` for nearest) or TF 1's asymmetric default.
 */
import { TfDType } from '../tf-graphdef.js';
import { needConst, rank4 } from './const-math.js';
import type { OpHandler } from './types.js';

export const resizeHandlers: OpHandler[] = [
  {
    ops: ['ResizeBilinear', 'ResizeNearestNeighbor'],
    shape(node, ins) {
      const x = ins[0]!;
      rank4(node, x.shape);
      const size = Array.from(needConst(node, ins, 1, 'size').data);
      return [{ shape: [x.shape[0]!, size[0]!, size[1]!, x.shape[3]!], dtype: node.op === 'ResizeBilinear' ? TfDType.float : (node.attr.T?.type ?? x.dtype) }];
    },
    onnx(c, n) {
      const x = n.inputs[0]!;
      const size = Array.from(c.constOf(n.inputs[1]!, n, 'size').data);
      const align = n.attr.align_corners?.b === true;
      const half = n.attr.half_pixel_centers?.b === true;
      const bilinear = n.op === 'ResizeBilinear';
      const src = c.nchw(x);
      const shp = c.unique(`${n.name}/shape`);
      c.emit('Shape', [src], [shp]);
      const nc = c.unique(`${n.name}/nc`);
      c.emit('Slice', [shp, c.i64(`${n.name}/starts`, [0]), c.i64(`${n.name}/ends`, [2])], [nc]);
      const sizes = c.unique(`${n.name}/sizes`);
      c.emit('Concat', [nc, c.i64(`${n.name}/hw`, size)], [sizes], { axis: 0 });
      const out = c.outName(n, 'nchw');
      c.emit('Resize', [src, '', '', sizes], [out], {
        mode: bilinear ? 'linear' : 'nearest',
        coordinate_transformation_mode: align ? 'align_corners' : half ? (bilinear ? 'half_pixel' : 'tf_half_pixel_for_nn') : 'asymmetric',
        nearest_mode: align ? 'round_prefer_ceil' : 'floor',
      });
      c.setOut(n, 'nchw', out);
    },
    tfjs: 'native',
  },
];
