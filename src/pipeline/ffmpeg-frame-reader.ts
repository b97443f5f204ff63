/**
 * Cutting a raw-video pipe (FFmpeg's `-f rawvideo`) into pictures of a fixed byte size. Pipe
 * chunks do not follow picture bounds: one chunk may hold several small pictures or a part of a
 * big one. The same reader serves the model pixels (size known at start) and the full-size
 * pictures (size known only once FFmpeg has told the input's size: bytes are held until then).
 */
import { ErrorCode, SgusError } from '../errors.js';

/** One whole picture read from the pipe. */
export interface RawPicture {
  bytes: Buffer;
  /** When its first byte arrived (ms since the epoch): the picture's decode time. */
  firstByteTs: number;
}

/** Options of a raw picture reader. */
export interface RawPictureReaderOptions {
  /** Bytes of one picture; undefined until `setPictureBytes` (chunks are held). Default undefined. */
  pictureBytes?: number;
  /** Where a picture's buffer comes from (the source's pool). Default `Buffer.allocUnsafeSlow`. */
  alloc?: (bytes: number) => Buffer;
  /** Clock for `firstByteTs`, ms since the epoch. Default `performance.timeOrigin + performance.now()`. */
  now?: () => number;
}

export class RawPictureReader {
  #bytes: number | undefined;
  readonly #alloc: (bytes: number) => Buffer;
  readonly #now: () => number;
  #cur: Buffer | undefined;
  #filled = 0;
  #firstTs = 0;
  /** Chunks read before the picture size was known (bounded by FFmpeg blocking on a paused pipe). */
  #held: Buffer[] = [];

  constructor(options: RawPictureReaderOptions = {}) {
    const b = options.pictureBytes;
    if (b !== undefined && !(Number.isInteger(b) && b > 0)) throw new SgusError(ErrorCode.InvalidArgument, `pictureBytes must be a positive integer, got ${String(b)}`);
    this.#bytes = b;
    this.#alloc = options.alloc ?? ((n) => Buffer.allocUnsafeSlow(n));
    this.#now = options.now ?? (() => performance.timeOrigin + performance.now());
  }

  /** Bytes of one picture, once known. */
  get pictureBytes(): number | undefined {
    return this.#bytes;
  }

  /** Bytes of a picture begun and not finished (at the end of a stream: a short read). */
  get partialBytes(): number {
    return this.#cur === undefined ? 0 : this.#filled;
  }

  /** Sets the picture size (once) and returns the pictures in the chunks held until now. */
  setPictureBytes(bytes: number): RawPicture[] {
    if (this.#bytes !== undefined) return [];
    if (!(Number.isInteger(bytes) && bytes > 0)) throw new SgusError(ErrorCode.InvalidArgument, `pictureBytes must be a positive integer, got ${String(bytes)}`);
    this.#bytes = bytes;
    const out: RawPicture[] = [];
    for (const c of this.#held.splice(0)) this.#cut(c, out);
    return out;
  }

  /** The pictures this chunk completes (none while the size is unknown: the chunk is held). */
  push(chunk: Buffer): RawPicture[] {
    if (this.#bytes === undefined) {
      this.#held.push(chunk);
      return [];
    }
    const out: RawPicture[] = [];
    this.#cut(chunk, out);
    return out;
  }

  #cut(chunk: Buffer, out: RawPicture[]): void {
    const bytes = this.#bytes!;
    let off = 0;
    while (off < chunk.length) {
      if (this.#cur === undefined) {
        this.#cur = this.#alloc(bytes);
        this.#filled = 0;
        this.#firstTs = this.#now();
      }
      const n = Math.min(bytes - this.#filled, chunk.length - off);
      chunk.copy(this.#cur, this.#filled, off, off + n);
      this.#filled += n;
      off += n;
      if (this.#filled === bytes) {
        out.push({ bytes: this.#cur, firstByteTs: this.#firstTs });
        this.#cur = undefined;
      }
    }
  }
}
