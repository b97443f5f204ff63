/**
 * A minimal protobuf wire-format reader and writer: just what reading a TensorFlow `GraphDef` and
 * writing an ONNX `ModelProto` need (varints, fixed32/64, length-delimited fields, packed repeats).
 * Hand-written on purpose, and kept so: importing a model needs no `.proto` build step (no protoc,
 * no generated code) and pulls in no schema compiler or runtime dependency.
 */

export const Wire = { Varint: 0, Fixed64: 1, Bytes: 2, Fixed32: 5 } as const;

/** Thrown on malformed input; callers turn it into an `SgusError` naming the file. */
export class ProtoError extends Error {
  override name = 'ProtoError';
}

const TEXT_DECODER = new TextDecoder('utf-8');
const TEXT_ENCODER = new TextEncoder();

export class ProtoReader {
  readonly buf: Uint8Array;
  pos: number;
  readonly end: number;
  readonly #view: DataView;

  constructor(buf: Uint8Array, start = 0, end = buf.length) {
    this.buf = buf;
    this.pos = start;
    this.end = end;
    this.#view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  /** An unsigned varint as (lo, hi) 32-bit halves. */
  #varint64(): [number, number] {
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new ProtoError(`truncated varint at byte ${this.pos}`);
      const b = this.buf[this.pos++]!;
      if (i < 4) lo |= (b & 0x7f) << (7 * i);
      else if (i === 4) {
        lo |= (b & 0x0f) << 28;
        hi |= (b & 0x7f) >> 4;
      } else hi |= (b & 0x7f) << (7 * i - 32);
      if ((b & 0x80) === 0) return [lo >>> 0, hi >>> 0];
    }
    throw new ProtoError(`varint longer than 10 bytes at byte ${this.pos}`);
  }

  /** A varint as a signed 64-bit number (two's complement), exact up to 2^53. */
  int64(): number {
    const [lo, hi] = this.#varint64();
    if (hi & 0x80000000) return -((~hi >>> 0) * 4294967296 + ((~lo >>> 0) + 1));
    return hi * 4294967296 + lo;
  }

  /** A varint as an unsigned number (tags, lengths, enums, bools). */
  uint(): number {
    const [lo, hi] = this.#varint64();
    return hi * 4294967296 + lo;
  }

  /** int32 fields are sign-extended to 64 bits on the wire. */
  int32(): number {
    return this.int64() | 0;
  }

  bool(): boolean {
    return this.uint() !== 0;
  }

  float(): number {
    if (this.pos + 4 > this.end) throw new ProtoError(`truncated float at byte ${this.pos}`);
    const v = this.#view.getFloat32(this.pos, true);
    this.pos += 4;
    return v;
  }

  double(): number {
    if (this.pos + 8 > this.end) throw new ProtoError(`truncated double at byte ${this.pos}`);
    const v = this.#view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  /** A length-delimited field's bytes (a view, not a copy). */
  bytes(): Uint8Array {
    const n = this.uint();
    if (this.pos + n > this.end) throw new ProtoError(`length-delimited field of ${n} bytes at byte ${this.pos} runs past the end (${this.end})`);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  string(): string {
    return TEXT_DECODER.decode(this.bytes());
  }

  /** A sub-message reader over the next length-delimited field. */
  message(): ProtoReader {
    const b = this.bytes();
    return new ProtoReader(b);
  }

  /** The next tag as [field number, wire type]. */
  tag(): [number, number] {
    const t = this.uint();
    const field = Math.floor(t / 8);
    const wire = t & 7;
    if (field === 0) throw new ProtoError(`invalid field number 0 at byte ${this.pos}`);
    return [field, wire];
  }

  skip(wire: number): void {
    switch (wire) {
      case Wire.Varint:
        this.uint();
        return;
      case Wire.Fixed64:
        this.pos += 8;
        break;
      case Wire.Bytes:
        this.bytes();
        return;
      case Wire.Fixed32:
        this.pos += 4;
        break;
      default:
        throw new ProtoError(`unsupported wire type ${wire} at byte ${this.pos}`);
    }
    if (this.pos > this.end) throw new ProtoError('truncated field');
  }

  /** Repeated numeric field, packed (wire type 2) or not: appends to `out`. */
  repeated(wire: number, read: (r: ProtoReader) => number, out: number[]): void {
    if (wire === Wire.Bytes) {
      const sub = this.message();
      while (!sub.done) out.push(read(sub));
    } else out.push(read(this));
  }
}

/** Grows a byte buffer; messages are written into a child writer and then embedded with their length. */
export class ProtoWriter {
  #buf = new Uint8Array(256);
  #len = 0;
  #view = new DataView(this.#buf.buffer);

  get length(): number {
    return this.#len;
  }

  #reserve(n: number): void {
    if (this.#len + n <= this.#buf.length) return;
    let size = this.#buf.length * 2;
    while (size < this.#len + n) size *= 2;
    const b = new Uint8Array(size);
    b.set(this.#buf.subarray(0, this.#len));
    this.#buf = b;
    this.#view = new DataView(b.buffer);
  }

  /** Raw varint of a non-negative or negative (two's complement, 10 bytes) integer. */
  varint(v: number): this {
    if (!Number.isInteger(v)) throw new ProtoError(`varint of a non-integer ${v}`);
    this.#reserve(10);
    if (v < 0) {
      // Two's complement over 64 bits.
      let big = BigInt.asUintN(64, BigInt(v));
      while (big >= 0x80n) {
        this.#buf[this.#len++] = Number(big & 0x7fn) | 0x80;
        big >>= 7n;
      }
      this.#buf[this.#len++] = Number(big);
      return this;
    }
    while (v >= 0x80) {
      this.#buf[this.#len++] = (v % 128) | 0x80;
      v = Math.floor(v / 128);
    }
    this.#buf[this.#len++] = v;
    return this;
  }

  tag(field: number, wire: number): this {
    return this.varint(field * 8 + wire);
  }

  int(field: number, v: number): this {
    return this.tag(field, Wire.Varint).varint(v);
  }

  bool(field: number, v: boolean): this {
    return this.int(field, v ? 1 : 0);
  }

  float(field: number, v: number): this {
    this.tag(field, Wire.Fixed32);
    this.#reserve(4);
    this.#view.setFloat32(this.#len, v, true);
    this.#len += 4;
    return this;
  }

  bytes(field: number, b: Uint8Array): this {
    this.tag(field, Wire.Bytes).varint(b.length);
    this.#reserve(b.length);
    this.#buf.set(b, this.#len);
    this.#len += b.length;
    return this;
  }

  string(field: number, s: string): this {
    return this.bytes(field, TEXT_ENCODER.encode(s));
  }

  message(field: number, write: (w: ProtoWriter) => void): this {
    const w = new ProtoWriter();
    write(w);
    return this.bytes(field, w.finish());
  }

  packedInts(field: number, vs: readonly number[]): this {
    const w = new ProtoWriter();
    for (const v of vs) w.varint(v);
    return this.bytes(field, w.finish());
  }

  packedFloats(field: number, vs: ArrayLike<number>): this {
    const b = new Uint8Array(vs.length * 4);
    const dv = new DataView(b.buffer);
    for (let i = 0; i < vs.length; i++) dv.setFloat32(i * 4, vs[i]!, true);
    return this.bytes(field, b);
  }

  finish(): Uint8Array {
    return this.#buf.subarray(0, this.#len);
  }
}
