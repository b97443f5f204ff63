/**
 * Turning frame messages into pictures. H.264 goes through WebCodecs' VideoDecoder; the overlay of
 * each frame waits in a map keyed by frame index (used as the chunk timestamp) until the decoder
 * outputs the picture with that timestamp, so outline and picture always belong to the same frame,
 * whatever the decoder's delay. JPEG goes through createImageBitmap (the fallback where WebCodecs is
 * missing, when the server sends JPEG).
 */
import { codecStringFromSps } from '../../src/shared/h264-annexb.js';
import type { DecodedFrame, FrameHeader } from '../../src/shared/protocol.js';

export interface Picture {
  source: CanvasImageSource;
  width: number;
  height: number;
  header: FrameHeader;
  close(): void;
}

export interface PictureSink {
  onPicture(picture: Picture): void;
  /** `unsupported`: this browser cannot decode the codec at all (ask for JPEG instead). */
  onDecodeError(message: string, unsupported?: boolean): void;
}

export interface FrameDecoder {
  push(frame: DecodedFrame): void;
  /** Forget everything (new stream): the next picture must start at a key frame. */
  reset(): void;
  close(): void;
  readonly decoded: number;
  readonly dropped: number;
}

export function hasWebCodecs(): boolean {
  return typeof globalThis.VideoDecoder === 'function' && typeof globalThis.EncodedVideoChunk === 'function';
}

/** Beyond this many chunks waiting in the decoder, deltas are dropped until the next key frame. */
const MAX_DECODE_QUEUE = 8;
/** Overlays waiting for their picture; more means pictures were lost, so the oldest go. */
const MAX_PENDING_OVERLAYS = 120;

export class H264Decoder implements FrameDecoder {
  readonly #sink: PictureSink;
  #decoder: VideoDecoder | undefined;
  #configKey = '';
  #needKey = true;
  readonly #overlays = new Map<number, FrameHeader>();
  decoded = 0;
  dropped = 0;

  constructor(sink: PictureSink) {
    this.#sink = sink;
  }

  push(frame: DecodedFrame): void {
    const h = frame.header;
    if (!h.key && (this.#needKey || this.#decoder === undefined)) {
      this.dropped++;
      return;
    }
    if (h.key) {
      const codec = h.codecString ?? codecStringFromSps(frame.video) ?? 'avc1.42e01f';
      const key = `${codec}|${h.width}x${h.height}`;
      if (this.#decoder === undefined || this.#decoder.state === 'closed' || key !== this.#configKey) {
        this.#configure(codec, h.width, h.height);
        this.#configKey = key;
      }
    }
    const decoder = this.#decoder;
    if (decoder === undefined || decoder.state !== 'configured') {
      this.dropped++;
      return;
    }
    if (!h.key && decoder.decodeQueueSize > MAX_DECODE_QUEUE) {
      this.dropped++;
      this.#needKey = true;
      return;
    }
    this.#needKey = false;
    this.#overlays.set(h.index, h);
    if (this.#overlays.size > MAX_PENDING_OVERLAYS) {
      const oldest = this.#overlays.keys().next().value;
      if (oldest !== undefined) this.#overlays.delete(oldest);
    }
    try {
      decoder.decode(new EncodedVideoChunk({ type: h.key ? 'key' : 'delta', timestamp: h.index, data: frame.video }));
    } catch (err) {
      this.#failed(err instanceof Error ? err.message : String(err));
    }
  }

  #configure(codec: string, width: number, height: number): void {
    if (this.#decoder !== undefined && this.#decoder.state !== 'closed') this.#decoder.close();
    const decoder: VideoDecoder = new VideoDecoder({
      output: (picture) => this.#output(picture),
      error: (err) => {
        if (this.#decoder === decoder) this.#failed(err.message, err.name === 'NotSupportedError');
      },
    });
    try {
      decoder.configure({ codec, codedWidth: width, codedHeight: height, optimizeForLatency: true });
      this.#decoder = decoder;
    } catch (err) {
      this.#decoder = undefined;
      this.#sink.onDecodeError(`cannot decode ${codec}: ${err instanceof Error ? err.message : String(err)}`, true);
    }
  }

  #output(picture: VideoFrame): void {
    const index = picture.timestamp;
    const header = this.#overlays.get(index);
    // Overlays of older frames can never be matched any more.
    for (const k of this.#overlays.keys()) {
      if (k <= index) this.#overlays.delete(k);
      else break;
    }
    if (header === undefined) {
      picture.close();
      return;
    }
    this.decoded++;
    this.#sink.onPicture({ source: picture, width: picture.displayWidth, height: picture.displayHeight, header, close: () => picture.close() });
  }

  #failed(message: string, unsupported = false): void {
    this.#needKey = true;
    this.#overlays.clear();
    if (this.#decoder !== undefined && this.#decoder.state !== 'closed') this.#decoder.close();
    this.#decoder = undefined;
    this.#configKey = '';
    this.#sink.onDecodeError(message, unsupported);
  }

  reset(): void {
    this.#needKey = true;
    this.#overlays.clear();
    if (this.#decoder !== undefined && this.#decoder.state === 'configured') this.#decoder.reset();
    if (this.#decoder?.state === 'unconfigured') {
      this.#decoder.close();
      this.#decoder = undefined;
      this.#configKey = '';
    }
  }

  close(): void {
    this.#overlays.clear();
    if (this.#decoder !== undefined && this.#decoder.state !== 'closed') this.#decoder.close();
    this.#decoder = undefined;
  }
}

export class JpegDecoder implements FrameDecoder {
  readonly #sink: PictureSink;
  #pending = 0;
  #lastIndex = -1;
  #generation = 0;
  decoded = 0;
  dropped = 0;

  constructor(sink: PictureSink) {
    this.#sink = sink;
  }

  push(frame: DecodedFrame): void {
    const h = frame.header;
    if (this.#pending >= 3) {
      this.dropped++;
      return;
    }
    this.#pending++;
    const generation = this.#generation;
    const blob = new Blob([frame.video.slice()], { type: 'image/jpeg' });
    createImageBitmap(blob).then(
      (bitmap) => {
        this.#pending--;
        // A later picture already shown (decodes can finish out of order), or a new stream.
        if (generation !== this.#generation || h.index <= this.#lastIndex) {
          bitmap.close();
          this.dropped++;
          return;
        }
        this.#lastIndex = h.index;
        this.decoded++;
        this.#sink.onPicture({ source: bitmap, width: bitmap.width, height: bitmap.height, header: h, close: () => bitmap.close() });
      },
      (err: unknown) => {
        this.#pending--;
        this.#sink.onDecodeError(`JPEG frame ${h.index}: ${err instanceof Error ? err.message : String(err)}`);
      },
    );
  }

  reset(): void {
    this.#generation++;
    this.#lastIndex = -1;
  }

  close(): void {
    this.reset();
  }
}
