/** Splitting the viewer MJPEG pipe into pictures, as `AnnexBSplitter` does for H.264. */
import type { AccessUnit } from '../shared/h264-annexb.js';

/** Splits an MJPEG byte stream into pictures at the end-of-image marker (FF D9). */
export class JpegSplitter {
  #pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): AccessUnit[] {
    this.#pending = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    const out: AccessUnit[] = [];
    let start = 0;
    for (;;) {
      const end = this.#pending.indexOf(EOI, start + 2);
      if (end < 0) break;
      out.push({ data: Buffer.from(this.#pending.subarray(start, end + 2)), key: true });
      start = end + 2;
    }
    this.#pending = start > 0 ? Buffer.from(this.#pending.subarray(start)) : this.#pending;
    if (this.#pending.length > 16 * 1024 * 1024) this.#pending = Buffer.alloc(0);
    return out;
  }

  flush(): AccessUnit[] {
    this.#pending = Buffer.alloc(0);
    return [];
  }
}
const EOI = Buffer.from([0xff, 0xd9]);
