/**
 * Decoding (and encoding) of TensorFlow's `GraphDef` protobuf, as written by TF 1.x
 * `freeze_graph` / `convert_variables_to_constants`. Only the parts an importer needs: nodes (name,
 * op, inputs, attributes) and tensors (dtype, shape, `tensor_content` or the typed `*_val` fields).
 * Field numbers follow tensorflow/core/framework/{graph,node_def,attr_value,tensor,tensor_shape}.proto.
 * The decoder is hand-written on `protobuf.ts` on purpose: no `.proto` build step, no generated code.
 * Decoder and encoder (which the tests build graphs with) stay in one file, field by field alike:
 * that pairing is why it is a little over 400 lines.
 */
import { ProtoError, ProtoReader, ProtoWriter, Wire } from './protobuf.js';

/** TF `DataType` enum values we know by name (a `_REF` type is the value + 100). */
export const TfDType = {
  float: 1,
  double: 2,
  int32: 3,
  uint8: 4,
  int16: 5,
  int8: 6,
  string: 7,
  int64: 9,
  bool: 10,
  uint16: 17,
  half: 19,
  uint32: 22,
  uint64: 23,
} as const;

const DTYPE_NAMES: Record<number, string> = Object.fromEntries(Object.entries(TfDType).map(([k, v]) => [v, k]));

export function dtypeName(dtype: number): string {
  return DTYPE_NAMES[dtype % 100] ?? `dtype ${dtype}`;
}

/** A TF tensor with its values as plain numbers (floats as float32, integers exact up to 2^53). */
export interface TfTensor {
  dtype: number;
  shape: number[];
  /** float / half / double → Float32Array or Float64Array; integers and bools → Float64Array. */
  data: Float32Array | Float64Array;
  /** For DT_STRING tensors. */
  strings?: Uint8Array[];
}

export interface TfShape {
  /** -1 for an unknown dimension. */
  dims: number[];
  unknownRank: boolean;
}

export interface TfAttrList {
  s: Uint8Array[];
  i: number[];
  f: number[];
  b: boolean[];
  type: number[];
  shape: TfShape[];
  tensor: TfTensor[];
}

export interface TfAttr {
  s?: Uint8Array;
  i?: number;
  f?: number;
  b?: boolean;
  type?: number;
  shape?: TfShape;
  tensor?: TfTensor;
  list?: TfAttrList;
  /** A function attribute (only its name is kept). */
  func?: string;
  placeholder?: string;
}

export interface TfNode {
  name: string;
  op: string;
  /** `node`, `node:k` or `^node` (control input). */
  inputs: string[];
  device: string;
  attr: Record<string, TfAttr>;
}

export interface TfGraph {
  nodes: TfNode[];
  producer: number;
}

const DEC = new TextDecoder();
const ENC = new TextEncoder();

export function attrString(a: TfAttr | undefined): string | undefined {
  return a?.s !== undefined ? DEC.decode(a.s) : undefined;
}

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function readShape(r: ProtoReader): TfShape {
  const dims: number[] = [];
  let unknownRank = false;
  while (!r.done) {
    const [f, w] = r.tag();
    if (f === 2 && w === Wire.Bytes) {
      const d = r.message();
      let size = 0;
      while (!d.done) {
        const [df, dw] = d.tag();
        if (df === 1 && dw === Wire.Varint) size = d.int64();
        else d.skip(dw);
      }
      dims.push(size);
    } else if (f === 3 && w === Wire.Varint) unknownRank = r.bool();
    else r.skip(w);
  }
  return { dims, unknownRank };
}

export function isFloatType(dtype: number): boolean {
  const d = dtype % 100;
  return d === TfDType.float || d === TfDType.half || d === TfDType.double;
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (m / 1024);
  if (e === 31) return m ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + m / 1024);
}

/** Decodes `tensor_content` raw little-endian bytes. */
function decodeContent(dtype: number, b: Uint8Array): Float32Array | Float64Array {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const d = dtype % 100;
  const sizes: Record<number, number> = { 1: 4, 2: 8, 3: 4, 4: 1, 5: 2, 6: 1, 9: 8, 10: 1, 17: 2, 19: 2, 22: 4, 23: 8 };
  const size = sizes[d];
  if (size === undefined) throw new ProtoError(`tensor_content of unsupported dtype ${dtypeName(dtype)}`);
  if (b.length % size !== 0) throw new ProtoError(`tensor_content of ${b.length} bytes is not a whole number of ${dtypeName(dtype)} values`);
  const n = b.length / size;
  if (d === TfDType.float) {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = dv.getFloat32(i * 4, true);
    return out;
  }
  const out = d === TfDType.half ? new Float32Array(n) : new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const o = i * size;
    switch (d) {
      case TfDType.double: out[i] = dv.getFloat64(o, true); break;
      case TfDType.int32: out[i] = dv.getInt32(o, true); break;
      case TfDType.uint8: case TfDType.bool: out[i] = dv.getUint8(o); break;
      case TfDType.int16: out[i] = dv.getInt16(o, true); break;
      case TfDType.int8: out[i] = dv.getInt8(o); break;
      case TfDType.int64: out[i] = Number(dv.getBigInt64(o, true)); break;
      case TfDType.uint16: out[i] = dv.getUint16(o, true); break;
      case TfDType.half: out[i] = halfToFloat(dv.getUint16(o, true)); break;
      case TfDType.uint32: out[i] = dv.getUint32(o, true); break;
      case TfDType.uint64: out[i] = Number(dv.getBigUint64(o, true)); break;
    }
  }
  return out;
}

export function readTensor(r: ProtoReader): TfTensor {
  let dtype = 0;
  let shape: number[] = [];
  let content: Uint8Array | undefined;
  const vals: number[] = [];
  const strings: Uint8Array[] = [];
  while (!r.done) {
    const [f, w] = r.tag();
    switch (f) {
      case 1: dtype = r.uint(); break;
      case 2: shape = readShape(r.message()).dims; break;
      case 4: content = r.bytes(); break;
      case 5: r.repeated(w, (x) => x.float(), vals); break; // float_val
      case 6: r.repeated(w, (x) => x.double(), vals); break; // double_val
      case 7: case 11: r.repeated(w, (x) => x.int64(), vals); break; // int_val, bool_val
      case 10: r.repeated(w, (x) => x.int64(), vals); break; // int64_val
      case 13: { // half_val: float16 bits in int32s
        const hs: number[] = [];
        r.repeated(w, (x) => x.int64(), hs);
        for (const h of hs) vals.push(halfToFloat(h));
        break;
      }
      case 8: strings.push(r.bytes()); break;
      default: r.skip(w);
    }
  }
  if (shape.some((d) => d < 0)) throw new ProtoError(`constant tensor with unknown shape [${shape.join(',')}]`);
  const n = numel(shape);
  if (dtype % 100 === TfDType.string) return { dtype, shape, data: new Float64Array(0), strings };
  let data: Float32Array | Float64Array;
  if (content !== undefined && content.length > 0) {
    data = decodeContent(dtype, content);
    if (data.length !== n) throw new ProtoError(`tensor_content holds ${data.length} values for shape [${shape.join(',')}]`);
  } else {
    // The typed fields may hold fewer values than the shape: the last one is repeated (TF splat).
    data = dtype % 100 === TfDType.float || dtype % 100 === TfDType.half ? new Float32Array(n) : new Float64Array(n);
    if (vals.length > n) throw new ProtoError(`tensor holds ${vals.length} values for shape [${shape.join(',')}]`);
    for (let i = 0; i < n; i++) data[i] = vals.length === 0 ? 0 : vals[Math.min(i, vals.length - 1)]!;
  }
  return { dtype, shape, data };
}

function emptyList(): TfAttrList {
  return { s: [], i: [], f: [], b: [], type: [], shape: [], tensor: [] };
}

function readList(r: ProtoReader): TfAttrList {
  const l = emptyList();
  while (!r.done) {
    const [f, w] = r.tag();
    switch (f) {
      case 2: l.s.push(r.bytes()); break;
      case 3: r.repeated(w, (x) => x.int64(), l.i); break;
      case 4: r.repeated(w, (x) => x.float(), l.f); break;
      case 5: {
        const bs: number[] = [];
        r.repeated(w, (x) => x.uint(), bs);
        l.b.push(...bs.map((v) => v !== 0));
        break;
      }
      case 6: r.repeated(w, (x) => x.uint(), l.type); break;
      case 7: l.shape.push(readShape(r.message())); break;
      case 8: l.tensor.push(readTensor(r.message())); break;
      default: r.skip(w);
    }
  }
  return l;
}

function readFuncName(r: ProtoReader): string {
  let name = '';
  while (!r.done) {
    const [f, w] = r.tag();
    if (f === 1 && w === Wire.Bytes) name = r.string();
    else r.skip(w);
  }
  return name;
}

function readAttr(r: ProtoReader): TfAttr {
  const a: TfAttr = {};
  while (!r.done) {
    const [f, w] = r.tag();
    switch (f) {
      case 1: a.list = readList(r.message()); break;
      case 2: a.s = r.bytes(); break;
      case 3: a.i = r.int64(); break;
      case 4: a.f = r.float(); break;
      case 5: a.b = r.bool(); break;
      case 6: a.type = r.uint(); break;
      case 7: a.shape = readShape(r.message()); break;
      case 8: a.tensor = readTensor(r.message()); break;
      case 9: a.placeholder = r.string(); break;
      case 10: a.func = readFuncName(r.message()); break;
      default: r.skip(w);
    }
  }
  return a;
}

function readNode(r: ProtoReader): TfNode {
  const node: TfNode = { name: '', op: '', inputs: [], device: '', attr: {} };
  while (!r.done) {
    const [f, w] = r.tag();
    switch (f) {
      case 1: node.name = r.string(); break;
      case 2: node.op = r.string(); break;
      case 3: node.inputs.push(r.string()); break;
      case 4: node.device = r.string(); break;
      case 5: {
        const e = r.message();
        let key = '';
        let value: TfAttr = {};
        while (!e.done) {
          const [ef, ew] = e.tag();
          if (ef === 1 && ew === Wire.Bytes) key = e.string();
          else if (ef === 2 && ew === Wire.Bytes) value = readAttr(e.message());
          else e.skip(ew);
        }
        node.attr[key] = value;
        break;
      }
      default: r.skip(w);
    }
  }
  return node;
}

/**
 * Decodes a serialized `GraphDef`. Throws `ProtoError` on malformed bytes, and when the bytes parse
 * but are not a graph (no node has both a name and an op).
 */
export function decodeGraphDef(bytes: Uint8Array): TfGraph {
  const r = new ProtoReader(bytes);
  const nodes: TfNode[] = [];
  let producer = 0;
  while (!r.done) {
    const [f, w] = r.tag();
    if (f === 1 && w === Wire.Bytes) nodes.push(readNode(r.message()));
    else if (f === 4 && w === Wire.Bytes) {
      const v = r.message();
      while (!v.done) {
        const [vf, vw] = v.tag();
        if (vf === 1 && vw === Wire.Varint) producer = v.int64();
        else v.skip(vw);
      }
    } else r.skip(w);
  }
  if (nodes.length === 0) throw new ProtoError('no nodes: not a TensorFlow GraphDef');
  for (const n of nodes) {
    if (n.name === '' || n.op === '') throw new ProtoError('a node without a name or op: not a TensorFlow GraphDef');
  }
  return { nodes, producer };
}

// ---- encoding (used by the tests to build frozen graphs, and by the TF.js export) ----

export function writeShape(w: ProtoWriter, dims: readonly number[], unknownRank = false): void {
  for (const d of dims) w.message(2, (dw) => dw.int(1, d));
  if (unknownRank) w.bool(3, true);
}

export function writeTensor(w: ProtoWriter, t: TfTensor): void {
  w.int(1, t.dtype);
  w.message(2, (s) => writeShape(s, t.shape));
  const d = t.dtype % 100;
  if (d === TfDType.string) {
    for (const s of t.strings ?? []) w.bytes(8, s);
    return;
  }
  const n = t.data.length;
  const bytes = tensorBytes(t);
  if (n > 0) w.bytes(4, bytes);
}

/** Raw little-endian bytes of a numeric tensor in its own dtype (as `tensor_content` holds them). */
export function tensorBytes(t: TfTensor): Uint8Array {
  const d = t.dtype % 100;
  const n = t.data.length;
  const size = d === TfDType.double || d === TfDType.int64 ? 8 : d === TfDType.uint8 || d === TfDType.bool || d === TfDType.int8 ? 1 : 4;
  const b = new Uint8Array(n * size);
  const dv = new DataView(b.buffer);
  for (let i = 0; i < n; i++) {
    const v = t.data[i]!;
    switch (d) {
      case TfDType.float: dv.setFloat32(i * 4, v, true); break;
      case TfDType.double: dv.setFloat64(i * 8, v, true); break;
      case TfDType.int32: dv.setInt32(i * 4, v, true); break;
      case TfDType.int64: dv.setBigInt64(i * 8, BigInt(Math.trunc(v)), true); break;
      case TfDType.uint8: case TfDType.bool: dv.setUint8(i, v); break;
      case TfDType.int8: dv.setInt8(i, v); break;
      default: throw new ProtoError(`cannot encode a tensor of dtype ${dtypeName(t.dtype)}`);
    }
  }
  return b;
}

function writeList(w: ProtoWriter, l: Partial<TfAttrList>): void {
  for (const s of l.s ?? []) w.bytes(2, s);
  if (l.i?.length) w.packedInts(3, l.i);
  if (l.f?.length) w.packedFloats(4, l.f);
  if (l.b?.length) w.packedInts(5, l.b.map((b) => (b ? 1 : 0)));
  if (l.type?.length) w.packedInts(6, l.type);
  for (const s of l.shape ?? []) w.message(7, (sw) => writeShape(sw, s.dims, s.unknownRank));
  for (const t of l.tensor ?? []) w.message(8, (tw) => writeTensor(tw, t));
}

export function writeAttr(w: ProtoWriter, a: TfAttr): void {
  if (a.list !== undefined) w.message(1, (lw) => writeList(lw, a.list!));
  if (a.s !== undefined) w.bytes(2, a.s);
  if (a.i !== undefined) w.int(3, a.i);
  if (a.f !== undefined) w.float(4, a.f);
  if (a.b !== undefined) w.bool(5, a.b);
  if (a.type !== undefined) w.int(6, a.type);
  if (a.shape !== undefined) w.message(7, (sw) => writeShape(sw, a.shape!.dims, a.shape!.unknownRank));
  if (a.tensor !== undefined) w.message(8, (tw) => writeTensor(tw, a.tensor!));
}

export function encodeGraphDef(g: TfGraph): Uint8Array {
  const w = new ProtoWriter();
  for (const n of g.nodes) {
    w.message(1, (nw) => {
      nw.string(1, n.name);
      nw.string(2, n.op);
      for (const i of n.inputs) nw.string(3, i);
      if (n.device) nw.string(4, n.device);
      for (const [k, v] of Object.entries(n.attr)) {
        nw.message(5, (ew) => {
          ew.string(1, k);
          ew.message(2, (aw) => writeAttr(aw, v));
        });
      }
    });
  }
  w.message(4, (vw) => vw.int(1, g.producer));
  return w.finish();
}

export function strAttr(s: string): TfAttr {
  return { s: ENC.encode(s) };
}

/** Parses an input reference: `node`, `node:2`, `^node`. */
export function parseInputRef(ref: string): { node: string; index: number; control: boolean } {
  if (ref.startsWith('^')) return { node: ref.slice(1), index: 0, control: true };
  const m = /^(.*):(\d+)$/.exec(ref);
  if (m) return { node: m[1]!, index: Number(m[2]), control: false };
  return { node: ref, index: 0, control: false };
}
