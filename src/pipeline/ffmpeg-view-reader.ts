/**
 * The viewer video pipe (pipe:3) of one FFmpeg run cut into pictures for viewers: H.264 at its
 * access unit delimiters (FFmpeg inserts one before every picture), MJPEG at its end-of-image
 * markers. The size is the source's; it is 0 while FFmpeg has not told it yet (the source fills it
 * in when the picture is joined).
 */
import type { ViewPayload } from './frame.js';
import { JpegSplitter } from './jpeg-splitter.js';
import { AnnexBSplitter } from '../shared/h264-annexb.js';
import type { AccessUnit } from '../shared/h264-annexb.js';

/** The source's picture size, once known. */
export interface ViewSize {
  width: number;
  height: number;
}

export class ViewPictureReader {
  readonly #codec: 'h264' | 'jpeg';
  readonly #splitter: { push(chunk: Buffer): AccessUnit[]; flush(): AccessUnit[] };

  constructor(codec: 'h264' | 'jpeg') {
    this.#codec = codec;
    this.#splitter = codec === 'h264' ? new AnnexBSplitter() : new JpegSplitter();
  }

  /** The pictures this chunk completes. */
  push(chunk: Buffer, size: ViewSize | undefined): ViewPayload[] {
    return this.#payloads(this.#splitter.push(chunk), size);
  }

  /** The pipe ended: the last picture (H.264 has no marker after it). */
  flush(size: ViewSize | undefined): ViewPayload[] {
    return this.#payloads(this.#splitter.flush(), size);
  }

  #payloads(units: AccessUnit[], size: ViewSize | undefined): ViewPayload[] {
    return units.map((u) => {
      // Every JPEG picture stands alone; an H.264 one is key when it holds an IDR slice.
      const p: ViewPayload = { codec: this.#codec, key: this.#codec === 'jpeg' ? true : u.key, data: asBuffer(u.data), width: size?.width ?? 0, height: size?.height ?? 0 };
      if (u.codecString !== undefined) p.codecString = u.codecString;
      return p;
    });
  }
}

/** The same bytes as a Buffer (no copy): the shared splitter gives plain Uint8Arrays. */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
