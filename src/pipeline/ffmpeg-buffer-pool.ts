/**
 * Reusable pixel buffers of a source, by byte size. At 25 fps, 1.5 MB of fresh buffers per frame
 * kept the garbage collector busy enough to stall the event loop for 100 ms and more; a finished
 * frame's buffers are given back and the raw picture readers take them again.
 */

/** Options of a buffer pool. */
export interface BufferPoolOptions {
  /** Most buffers kept per size. Default 12 (the source's highWaterMark + 4). */
  perSize?: number;
  /** Most sizes kept (model pixels, full-size pictures, a size change or two). Default 4. */
  sizes?: number;
}

export class BufferPool {
  readonly #perSize: number;
  readonly #sizes: number;
  readonly #free = new Map<number, Buffer[]>();

  constructor(options: BufferPoolOptions = {}) {
    this.#perSize = options.perSize ?? 12;
    this.#sizes = options.sizes ?? 4;
  }

  /** A buffer of `bytes` bytes: a given-back one when there is one, else a new one (not zeroed). */
  take(bytes: number): Buffer {
    return this.#free.get(bytes)?.pop() ?? Buffer.allocUnsafeSlow(bytes);
  }

  /**
   * Gives a buffer back for reuse; only one nothing reads any more. Only whole buffers of their
   * own are kept (a view into a bigger one, a plain byte array or a slice would hand out memory
   * shared with something else); beyond the bounds they are left to the garbage collector.
   */
  give(data: Uint8Array | undefined): void {
    if (!(data instanceof Buffer) || data.byteOffset !== 0 || data.buffer.byteLength !== data.length) return;
    let list = this.#free.get(data.length);
    if (list === undefined) {
      if (this.#free.size >= this.#sizes) return;
      list = [];
      this.#free.set(data.length, list);
    }
    if (list.length < this.#perSize && !list.includes(data)) list.push(data);
  }

  /** Buffers kept, all sizes together. */
  get size(): number {
    let n = 0;
    for (const l of this.#free.values()) n += l.length;
    return n;
  }
}
