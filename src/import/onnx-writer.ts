/**
 * Writes a folded TF graph (`graph-fold.ts`) as an ONNX model (opset 13) that ONNX Runtime runs.
 *
 * The driver: each kept node is written by its op's handler (`ops/`), which adds nodes to an
 * `OnnxBuilder` (layouts, initializers, open convolutions); then the outputs are named, the
 * convolutions get their final (folded) weights and the model is serialised by hand with the
 * project's protobuf writer (`protobuf.ts`: no generated code, no .proto build step).
 *
 * The model keeps the placeholder's NHWC input; a conv → BN → relu → pool → concat chain runs NCHW
 * end to end with one transpose at the input and one before an NHWC-only op (reshape, matmul) or
 * the output. Bias adds and inference batch norms after a convolution fold into its weights.
 */
import { ProtoWriter } from './protobuf.js';
import { TfDType } from './tf-graphdef.js';
import type { TfAttr } from './tf-graphdef.js';
import { graphError } from './folded-graph.js';
import type { FoldedGraph, TensorInfo } from './folded-graph.js';
import { OnnxBuilder, OnnxType, onnxType } from './onnx-builder.js';
import type { Init, ONode } from './onnx-builder.js';
import { OP_TABLE } from './ops/index.js';

export const ONNX_OPSET = 13;

export interface OnnxModel {
  bytes: Uint8Array;
  /** Float parameters in the model (weights and biases). */
  parameters: number;
  /** Multiply-adds × 2 of the convolutions and matrix products at batch 1 (0 where sizes are unknown). */
  flops: number;
  inputNames: string[];
  outputNames: string[];
  /** ONNX op types used, with counts. */
  opCounts: Record<string, number>;
}

/** The output name as the card gives it: the TF tensor name without `:0`. */
export function onnxName(tfRef: string): string {
  return tfRef.endsWith(':0') ? tfRef.slice(0, -2) : tfRef;
}

export function writeOnnx(g: FoldedGraph, producer = 'sgus-live import-frozen'): OnnxModel {
  const c = new OnnxBuilder(g);
  const { nodes, inits, convs, taken } = c;
  for (const n of g.nodes) {
    const write = OP_TABLE.get(n.op)?.onnx;
    if (write === undefined) throw graphError(`unsupported op '${n.op}' at node '${n.name}' (no ONNX mapping)`);
    write(c, n);
  }

  // Outputs: NHWC, named as asked for.
  const outputNames: string[] = [];
  const outputInfos: TensorInfo[] = [];
  for (const o of g.outputs) {
    const want = onnxName(o.name);
    const have = c.nhwc(o.ref);
    if (have !== want) {
      if (taken.has(want) && have !== want) {
        // The name is in use by an intermediate tensor: rename that one is not possible, so
        // route through an Identity only when free.
        throw graphError(`output name '${want}' clashes with another tensor`);
      }
      taken.add(want);
      c.emit('Identity', [have], [want]);
    }
    outputNames.push(want);
    outputInfos.push({ shape: o.shape, dtype: o.dtype });
  }

  // Convolution weights, now final.
  for (const cv of new Set(convs.values())) {
    cv.node.inputs[1] = c.f32(`${cv.node.name}/W`, cv.weightDims, cv.weight);
    if (cv.bias !== undefined) cv.node.inputs[2] = c.f32(`${cv.node.name}/B`, [cv.outChannels], cv.bias);
    else cv.node.inputs.length = 2;
  }
  // Convolutions whose records were moved by folding are in `convs` under another key; the loop
  // above covers them. Any convolution node left without weights is a bug.
  for (const nd of nodes) if ((nd.op === 'Conv' || nd.op === 'ConvTranspose') && nd.inputs[1] === '') throw graphError(`internal: convolution '${nd.name}' lost its weights`);

  // Initializers not referenced by any node (folded-away biases) are dropped.
  const used = new Set(nodes.flatMap((nd) => nd.inputs));
  let parameters = 0;
  for (const [name, i] of inits) {
    if (!used.has(name)) inits.delete(name);
    // Scalars are arithmetic constants (x / 255), not learned parameters.
    else if (i.type === OnnxType.float && i.data.length > 1) parameters += i.data.length;
  }

  const opCounts: Record<string, number> = {};
  for (const nd of nodes) opCounts[nd.op] = (opCounts[nd.op] ?? 0) + 1;

  const w = new ProtoWriter();
  w.int(1, 7); // ir_version 7 goes with opset 13
  w.string(2, producer);
  w.string(3, '1');
  w.message(7, (gw) => {
    for (const nd of nodes) gw.message(1, (nw) => writeNode(nw, nd));
    gw.string(2, 'imported_tf_graph');
    for (const [name, i] of inits) gw.message(5, (tw) => writeOnnxTensor(tw, name, i));
    for (const inp of g.inputs) gw.message(11, (vw) => writeValueInfo(vw, inp.name, { shape: inp.shape, dtype: TfDType.float }));
    outputNames.forEach((name, k) => gw.message(12, (vw) => writeValueInfo(vw, name, outputInfos[k]!)));
  });
  w.message(8, (ow) => {
    ow.string(1, '');
    ow.int(2, ONNX_OPSET);
  });
  return { bytes: w.finish(), parameters, flops: c.flops, inputNames: g.inputs.map((i) => i.name), outputNames, opCounts };
}

function writeNode(w: ProtoWriter, n: ONode): void {
  // Trailing empty optional inputs are dropped; inner ones stay as ''.
  const inputs = [...n.inputs];
  while (inputs.length > 0 && inputs[inputs.length - 1] === '') inputs.pop();
  for (const i of inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  w.string(3, n.name);
  w.string(4, n.op);
  for (const [name, v] of Object.entries(n.attrs)) {
    w.message(5, (aw) => {
      aw.string(1, name);
      if (typeof v === 'number') aw.int(20, 2).int(3, v);
      else if (typeof v === 'string') aw.int(20, 3).string(4, v);
      else if (Array.isArray(v)) {
        aw.int(20, 7);
        for (const x of v) aw.int(8, x);
      } else if ('float' in v) aw.int(20, 1).float(2, v.float);
      else {
        aw.int(20, 6);
        for (const x of v.floats) aw.float(7, x);
      }
    });
  }
}

function writeOnnxTensor(w: ProtoWriter, name: string, t: Init): void {
  for (const d of t.dims) w.int(1, d);
  w.int(2, t.type);
  w.string(8, name);
  const n = t.data.length;
  const size = t.type === OnnxType.int64 || t.type === OnnxType.double ? 8 : t.type === OnnxType.bool || t.type === OnnxType.uint8 || t.type === OnnxType.int8 ? 1 : 4;
  const b = new Uint8Array(n * size);
  const dv = new DataView(b.buffer);
  for (let i = 0; i < n; i++) {
    const v = t.data[i]!;
    switch (t.type) {
      case OnnxType.float: dv.setFloat32(i * 4, v, true); break;
      case OnnxType.double: dv.setFloat64(i * 8, v, true); break;
      case OnnxType.int32: dv.setInt32(i * 4, v, true); break;
      case OnnxType.int64: dv.setBigInt64(i * 8, BigInt(Math.trunc(v)), true); break;
      case OnnxType.int8: dv.setInt8(i, v); break;
      default: dv.setUint8(i, v);
    }
  }
  w.bytes(9, b);
}

function writeValueInfo(w: ProtoWriter, name: string, info: TensorInfo): void {
  w.string(1, name);
  w.message(2, (tw) =>
    tw.message(1, (tt) => {
      tt.int(1, onnxType(info.dtype, name));
      tt.message(2, (sw) => {
        info.shape.forEach((d, i) => sw.message(1, (dw) => (d === null ? dw.string(2, i === 0 ? 'N' : `d${i}`) : dw.int(1, d))));
      });
    }),
  );
}

export type { TfAttr };
