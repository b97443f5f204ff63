/**
 * The state an ONNX export builds up while the op handlers (`ops/`) write their nodes: node list,
 * initializers, unique names, each TF tensor's ONNX names per layout, and the convolutions whose
 * weights a following bias add or batch norm may still fold into.
 *
 * TF graphs are NHWC, ONNX convolutions NCHW. Every tensor may exist in either layout and is
 * transposed only where an op needs the other one (`nhwc()` / `nchw()`), so a conv → BN → relu →
 * pool → concat chain runs NCHW end to end.
 */
import { TfDType, attrString, dtypeName } from './tf-graphdef.js';
import type { TfTensor } from './tf-graphdef.js';
import { graphError } from './folded-graph.js';
import type { Dim, FoldedGraph, FoldedNode, TensorInfo } from './folded-graph.js';

export const OnnxType = { float: 1, uint8: 2, int8: 3, int32: 6, int64: 7, bool: 9, double: 11 } as const;

export function onnxType(tfDtype: number, where: string): number {
  switch (tfDtype % 100) {
    case TfDType.float: case TfDType.half: return OnnxType.float;
    case TfDType.double: return OnnxType.double;
    case TfDType.int32: return OnnxType.int32;
    case TfDType.int64: return OnnxType.int64;
    case TfDType.uint8: return OnnxType.uint8;
    case TfDType.int8: return OnnxType.int8;
    case TfDType.bool: return OnnxType.bool;
    default: throw graphError(`dtype ${dtypeName(tfDtype)} has no ONNX equivalent here`, where);
  }
}

export type AttrV = number | string | number[] | { floats: number[] } | { float: number };

export interface ONode {
  op: string;
  inputs: string[];
  outputs: string[];
  name: string;
  attrs: Record<string, AttrV>;
}

export interface Init {
  dims: number[];
  type: number;
  data: ArrayLike<number>;
}

export interface ConvRecord {
  node: ONode;
  /** OIHW (or IOHW for ConvTranspose) weights, mutable until the end. */
  weight: Float32Array;
  weightDims: number[];
  bias: Float32Array | undefined;
  outChannels: number;
  transposed: boolean;
}

export type Layout = 'nhwc' | 'nchw';

export const TO_NCHW = [0, 3, 1, 2];
export const TO_NHWC = [0, 2, 3, 1];

export class OnnxBuilder {
  readonly nodes: ONode[] = [];
  readonly inits = new Map<string, Init>();
  readonly convs = new Map<string, ConvRecord>();
  readonly consts = new Map<string, TfTensor>();
  readonly taken = new Set<string>();
  /** Multiply-adds × 2 of the convolutions and matrix products at batch 1. */
  flops = 0;
  #infos = new Map<string, TensorInfo>();
  /** Each TF tensor's ONNX names per layout (rank-4 tensors may have an NCHW twin). */
  #rep = new Map<string, { nhwc?: string; nchw?: string }>();
  #consumers = new Map<string, number>();

  constructor(g: FoldedGraph) {
    for (const n of g.nodes) {
      n.outputs.forEach((o, k) => this.#infos.set(k === 0 ? n.name : `${n.name}:${k}`, o));
      if (n.op === 'Const') this.consts.set(n.name, n.attr.value!.tensor!);
      for (const i of n.inputs) this.#consumers.set(i, (this.#consumers.get(i) ?? 0) + 1);
    }
    for (const o of g.outputs) this.#consumers.set(o.ref, (this.#consumers.get(o.ref) ?? 0) + 1);
  }

  unique(base: string): string {
    let name = base;
    for (let k = 1; this.taken.has(name); k++) name = `${base}_${k}`;
    this.taken.add(name);
    return name;
  }

  emit(op: string, inputs: string[], outputs: string[], attrs: Record<string, AttrV> = {}, name?: string): ONode {
    const node: ONode = { op, inputs, outputs, attrs, name: name ?? outputs[0]! };
    this.nodes.push(node);
    return node;
  }

  init(base: string, dims: number[], type: number, data: ArrayLike<number>): string {
    const name = this.unique(base);
    this.inits.set(name, { dims, type, data });
    return name;
  }

  i64(base: string, values: number[], scalar = false): string {
    return this.init(base, scalar ? [] : [values.length], OnnxType.int64, values);
  }

  f32(base: string, dims: number[], values: ArrayLike<number>): string {
    return this.init(base, dims, OnnxType.float, values);
  }

  constOf(ref: string, node: FoldedNode, what: string): TfTensor {
    const t = this.consts.get(ref);
    if (t === undefined) throw graphError(`${what} of '${node.op}' must be a constant`, node.name);
    return t;
  }

  infoOf(ref: string): TensorInfo {
    const i = this.#infos.get(ref);
    if (i === undefined) throw graphError(`internal: no shape for '${ref}'`);
    return i;
  }

  /** The tensor's ONNX name in NHWC (TF's) layout, transposing its NCHW twin on first use. */
  nhwc(ref: string): string {
    const c = this.consts.get(ref);
    if (c !== undefined) {
      const r = this.#rep.get(ref);
      if (r?.nhwc) return r.nhwc;
      const name = this.init(ref, c.shape, onnxType(c.dtype, ref), c.data);
      this.#rep.set(ref, { nhwc: name });
      return name;
    }
    const r = this.#rep.get(ref);
    if (r === undefined) throw graphError(`internal: '${ref}' not emitted`);
    if (r.nhwc === undefined) {
      r.nhwc = this.unique(ref);
      this.emit('Transpose', [r.nchw!], [r.nhwc], { perm: TO_NHWC });
    }
    return r.nhwc;
  }

  nchw(ref: string): string {
    const r = this.#rep.get(ref);
    if (r?.nchw !== undefined) return r.nchw;
    const src = this.nhwc(ref);
    const r2 = this.#rep.get(ref)!;
    r2.nchw = this.unique(`${ref}/nchw`);
    this.emit('Transpose', [src], [r2.nchw], { perm: TO_NCHW });
    return r2.nchw;
  }

  /** The tensor in the given layout. */
  as(layout: Layout, ref: string): string {
    return layout === 'nchw' ? this.nchw(ref) : this.nhwc(ref);
  }

  hasNchw(ref: string): boolean {
    return this.#rep.get(ref)?.nchw !== undefined;
  }

  /** Names an ONNX tensor as the TF node's output k in one layout. */
  setOut(n: FoldedNode | string, layout: Layout, name: string, k = 0): void {
    const base = typeof n === 'string' ? n : n.name;
    this.#rep.set(k === 0 ? base : `${base}:${k}`, { [layout]: name });
  }

  /** Sets a TF tensor's names directly (a placeholder's input). */
  setRep(ref: string, rep: { nhwc?: string; nchw?: string }): void {
    this.#rep.set(ref, rep);
  }

  outName(n: FoldedNode, layout: Layout): string {
    return layout === 'nhwc' ? this.unique(n.name) : this.unique(`${n.name}/nchw`);
  }

  is4(ref: string): boolean {
    return this.infoOf(ref).shape.length === 4;
  }

  /** The convolution that produces `ref` alone (nothing else reads it), whose weights can still change. */
  convRecordOf(ref: string): ConvRecord | undefined {
    const c = this.convs.get(ref);
    return c !== undefined && this.#consumers.get(ref) === 1 && this.#rep.get(ref)?.nhwc === undefined ? c : undefined;
  }

  /** A per-channel vector const that broadcasts along the last axis of a rank-4 NHWC tensor. */
  channelVector(ref: string, x: string): Float32Array | undefined {
    const t = this.consts.get(ref);
    const c = this.infoOf(x).shape[3];
    if (t === undefined || t.dtype % 100 !== TfDType.float) return undefined;
    if (t.data.length === 1 && c !== null && c !== undefined) return new Float32Array(c).fill(t.data[0]!);
    const rank = t.shape.length;
    if (t.data.length === c && t.shape.slice(0, rank - 1).every((d) => d === 1)) return Float32Array.from(t.data);
    return undefined;
  }

  /** y = x * a + b per channel, folded into the preceding convolution where there is one. */
  affine(n: FoldedNode, x: string, a: Float32Array | undefined, b: Float32Array | undefined): void {
    const conv = this.convRecordOf(x);
    if (conv !== undefined) {
      const co = conv.outChannels;
      const bias = conv.bias ?? new Float32Array(co);
      if (a !== undefined) {
        const per = conv.weight.length / co;
        if (conv.transposed) {
          // IOHW: the output channel is the second axis.
          const [ci, , kh, kw] = conv.weightDims as [number, number, number, number];
          for (let i = 0; i < ci; i++) for (let o = 0; o < co; o++) for (let k = 0; k < kh * kw; k++) conv.weight[(i * co + o) * kh * kw + k]! *= a[o]!;
        } else for (let o = 0; o < co; o++) for (let k = 0; k < per; k++) conv.weight[o * per + k]! *= a[o]!;
        for (let o = 0; o < co; o++) bias[o] = bias[o]! * a[o]!;
      }
      if (b !== undefined) for (let o = 0; o < co; o++) bias[o] = bias[o]! + b[o]!;
      conv.bias = bias;
      this.convs.delete(x);
      this.convs.set(n.name, conv);
      this.setOut(n, 'nchw', this.#rep.get(x)!.nchw!);
      return;
    }
    const c = (a ?? b)!.length;
    let cur = this.nchw(x);
    if (a !== undefined) {
      const o = this.unique(`${n.name}/scale`);
      this.emit('Mul', [cur, this.f32(`${n.name}/a`, [c, 1, 1], a)], [o]);
      cur = o;
    }
    if (b !== undefined) {
      const o = this.unique(`${n.name}/nchw`);
      this.emit('Add', [cur, this.f32(`${n.name}/b`, [c, 1, 1], b)], [o]);
      cur = o;
    }
    this.setOut(n, 'nchw', cur);
  }

  spatial(ref: string): { h: Dim; w: Dim } {
    const s = this.infoOf(ref).shape;
    return { h: s[1]!, w: s[2]! };
  }

  /** A unary op applied in whichever layout the input already has. */
  unary(n: FoldedNode, build: (x: string, out: string) => void): void {
    const x = n.inputs[0]!;
    const layout = this.hasNchw(x) ? 'nchw' : 'nhwc';
    const out = this.outName(n, layout);
    build(this.as(layout, x), out);
    this.setOut(n, layout, out);
  }
}

/** TF padding → ONNX pads [top, left, bottom, right]. */
export function padsFor(n: FoldedNode, inH: Dim, inW: Dim, kh: number, kw: number, sh: number, sw: number, dh: number, dw: number): number[] | 'SAME_UPPER' {
  const padding = attrString(n.attr.padding) ?? 'VALID';
  if (padding === 'VALID') return [0, 0, 0, 0];
  if (padding === 'EXPLICIT') {
    const e = n.attr.explicit_paddings?.list?.i ?? [];
    return [e[2] ?? 0, e[4] ?? 0, e[3] ?? 0, e[5] ?? 0];
  }
  if (inH === null || inW === null) return 'SAME_UPPER';
  const total = (size: number, k: number, s: number, d: number): number => Math.max((Math.ceil(size / s) - 1) * s + (k - 1) * d + 1 - size, 0);
  const th = total(inH, kh, sh, dh);
  const tw = total(inW, kw, sw, dw);
  return [Math.floor(th / 2), Math.floor(tw / 2), th - Math.floor(th / 2), tw - Math.floor(tw / 2)];
}

export function padAttrs(p: number[] | 'SAME_UPPER'): Record<string, AttrV> {
  return p === 'SAME_UPPER' ? { auto_pad: 'SAME_UPPER' } : { pads: p };
}
