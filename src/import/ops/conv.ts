/**
 * Convolutions: `Conv2D`, `DepthwiseConv2dNative` and `Conv2DBackpropInput` (→ ONNX `Conv` /
 * `ConvTranspose`, NCHW). Weights are transposed from TF's HWIO once and stay open (`convs`) so
 * that a following bias add or batch norm folds into them; TF `SAME` padding becomes explicit,
 * possibly asymmetric pads.
 */
import { attrString } from '../tf-graphdef.js';
import { graphError } from '../folded-graph.js';
import { padAttrs, padsFor } from '../onnx-builder.js';
import { checkNhwc, convOut, intList, makeConst, needConst, rank4 } from './const-math.js';
import type { OpHandler, PartialValue } from './types.js';

export const convHandlers: OpHandler[] = [
  {
    ops: ['Conv2D', 'DepthwiseConv2dNative'],
    shape(node, ins) {
      const x = ins[0]!;
      const T = node.attr.T?.type ?? x.dtype;
      checkNhwc(node);
      rank4(node, x.shape);
      const w = ins[1]!.shape as number[];
      const [, sh, sw] = intList(node.attr.strides, [1, 1, 1, 1]);
      const [, dh, dw] = intList(node.attr.dilations, [1, 1, 1, 1]);
      const padding = attrString(node.attr.padding) ?? 'VALID';
      const ep = intList(node.attr.explicit_paddings, [0, 0, 0, 0, 0, 0, 0, 0]);
      const oc = node.op === 'Conv2D' ? w[3]! : w[2]! * w[3]!;
      return [{ shape: [x.shape[0]!, convOut(x.shape[1]!, w[0]!, sh!, dh!, padding, ep[2], ep[3]), convOut(x.shape[2]!, w[1]!, sw!, dw!, padding, ep[4], ep[5]), oc], dtype: T }];
    },
    onnx(c, n) {
      const x = n.inputs[0]!;
      const w = c.constOf(n.inputs[1]!, n, 'the filter');
      const [kh, kw, ci, m] = w.shape as [number, number, number, number];
      const [, sh, sw] = n.attr.strides?.list?.i ?? [1, 1, 1, 1];
      const [, dh, dw] = n.attr.dilations?.list?.i ?? [1, 1, 1, 1];
      const depthwise = n.op === 'DepthwiseConv2dNative';
      const co = depthwise ? ci * m : m;
      // HWIO → OIHW; depthwise HW(C)(M) → (C·M)1HW.
      const weight = new Float32Array(co * (depthwise ? 1 : ci) * kh * kw);
      for (let y = 0; y < kh; y++) for (let xk = 0; xk < kw; xk++) for (let i = 0; i < ci; i++) for (let o = 0; o < m; o++) {
        const v = w.data[((y * kw + xk) * ci + i) * m + o]!;
        if (depthwise) weight[((i * m + o) * kh + y) * kw + xk] = v;
        else weight[((o * ci + i) * kh + y) * kw + xk] = v;
      }
      const { h, w: wd } = c.spatial(x);
      const pads = padsFor(n, h, wd, kh, kw, sh!, sw!, dh!, dw!);
      const out = c.outName(n, 'nchw');
      const node = c.emit('Conv', [c.nchw(x), '', ''], [out], { kernel_shape: [kh, kw], strides: [sh!, sw!], dilations: [dh!, dw!], group: depthwise ? ci : 1, ...padAttrs(pads) });
      c.convs.set(n.name, { node, weight, weightDims: [co, depthwise ? 1 : ci, kh, kw], bias: undefined, outChannels: co, transposed: false });
      c.setOut(n, 'nchw', out);
      const os = n.outputs[0]!.shape;
      if (os[1] !== null && os[2] !== null) c.flops += 2 * os[1]! * os[2]! * co * (depthwise ? 1 : ci) * kh * kw;
    },
    tfjs: 'native',
  },
  {
    ops: ['Conv2DBackpropInput'],
    fold(_c, node, ins) {
      if (ins[0]!.kind === 'partial') {
        // The output size's batch entry is unknown; the writers read only its spatial entries.
        const p = ins[0] as PartialValue;
        ins[0] = makeConst(p.dtype, [p.dims.length], p.dims.map((d) => d ?? -1), `${node.name}/input_sizes`);
      }
      return undefined;
    },
    shape(node, ins, batch) {
      checkNhwc(node);
      const sizes = Array.from(needConst(node, ins, 0, 'input_sizes').data);
      return [{ shape: sizes.map((d, i) => (i === 0 ? ins[2]!.shape[0]! ?? batch : d)), dtype: node.attr.T?.type ?? ins[0]!.dtype }];
    },
    onnx(c, n) {
      const sizes = Array.from(c.constOf(n.inputs[0]!, n, 'input_sizes').data);
      const w = c.constOf(n.inputs[1]!, n, 'the filter');
      const x = n.inputs[2]!;
      const [kh, kw, co, ci] = w.shape as [number, number, number, number];
      const [, sh, sw] = n.attr.strides?.list?.i ?? [1, 1, 1, 1];
      const [, dh, dw] = n.attr.dilations?.list?.i ?? [1, 1, 1, 1];
      // filter [kh, kw, out, in] → ONNX ConvTranspose [in, out, kh, kw].
      const weight = new Float32Array(ci * co * kh * kw);
      for (let y = 0; y < kh; y++) for (let xk = 0; xk < kw; xk++) for (let o = 0; o < co; o++) for (let i = 0; i < ci; i++) {
        weight[((i * co + o) * kh + y) * kw + xk] = w.data[((y * kw + xk) * co + o) * ci + i]!;
      }
      const { h: inH, w: inW } = c.spatial(x);
      if (inH === null || inW === null) throw graphError('transposed convolution needs known spatial sizes', n.name);
      const outH = sizes[1]!;
      const outW = sizes[2]!;
      // The pads of the forward convolution (output size → input size), and what is left over
      // at the end of the output as output_padding.
      const forward = padsFor(n, outH, outW, kh, kw, sh!, sw!, dh!, dw!) as number[];
      const pb = [forward[0]!, forward[1]!];
      const full = [(inH - 1) * sh! + (kh - 1) * dh! + 1, (inW - 1) * sw! + (kw - 1) * dw! + 1];
      const extra = [full[0]! - pb[0]! - outH, full[1]! - pb[1]! - outW];
      const pads = [pb[0]!, pb[1]!, Math.max(extra[0]!, 0), Math.max(extra[1]!, 0)];
      const outputPadding = [Math.max(-extra[0]!, 0), Math.max(-extra[1]!, 0)];
      const out = c.outName(n, 'nchw');
      const node = c.emit('ConvTranspose', [c.nchw(x), '', ''], [out], { kernel_shape: [kh, kw], strides: [sh!, sw!], dilations: [dh!, dw!], pads, output_padding: outputPadding });
      c.convs.set(n.name, { node, weight, weightDims: [ci, co, kh, kw], bias: undefined, outChannels: co, transposed: true });
      c.setOut(n, 'nchw', out);
      c.flops += 2 * inH * inW * ci * co * kh * kw;
    },
    tfjs: 'native',
  },
];
