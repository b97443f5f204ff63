/**
 * Per-stream continuity of the H.264 pictures the hub sends: each picture references the previous
 * one, so the hub must notice a missing or late picture (viewers then wait for the next key frame),
 * hold the pictures of frames the pipeline dropped until the next published frame (they go out
 * first, in index order), and repeat the parameter sets before every key frame (a viewer that joins
 * late needs them). Pure bookkeeping: no sockets, no timers.
 */
import { ParameterSetCache } from '../shared/h264-annexb.js';
import type { Frame } from '../pipeline/frame.js';

/** Pictures of dropped frames held per stream (about 2.5 s at 25 fps); older ones are forgotten. */
export const MAX_HELD_PICTURES = 64;

/** What `admit` says about one H.264 picture in publishing order. */
export type Admission =
  /** Too late: the pictures after it went out already; a decoder cannot use it. */
  | { late: true }
  /**
   * To send, with the parameter sets it needs. `broken`: a picture is missing before this delta
   * picture, so decoders that got the earlier ones must wait for the next key frame.
   */
  | { late: false; video: Uint8Array; broken: boolean };

export class VideoContinuity {
  /** Kept across a restart of the stream (a looped replay): the same encoder settings. */
  readonly parameterSets: ParameterSetCache;
  readonly #held = new Map<number, Frame>();
  #lastIndex = -1;
  #gaps = 0;

  constructor(parameterSets: ParameterSetCache = new ParameterSetCache()) {
    this.parameterSets = parameterSets;
  }

  /** H.264 pictures missing from (or out of order in) what the pipeline published. */
  get gaps(): number {
    return this.#gaps;
  }

  /** Index of the last picture admitted (-1: none yet). */
  get lastIndex(): number {
    return this.#lastIndex;
  }

  /** Pictures held now. */
  get held(): number {
    return this.#held.size;
  }

  /** Holds the picture of a frame the pipeline dropped; one older than what went out is a gap. */
  hold(frame: Frame): void {
    if (frame.index <= this.#lastIndex) {
      this.#gaps++;
      return;
    }
    this.#held.set(frame.index, frame);
    if (this.#held.size > MAX_HELD_PICTURES) this.#held.delete(Math.min(...this.#held.keys()));
  }

  /** Removes and returns the held pictures before frame `before`, in index order. */
  takeHeld(before: number): Frame[] {
    const due = [...this.#held.keys()].filter((k) => k < before).sort((a, b) => a - b);
    return due.map((k) => {
      const f = this.#held.get(k)!;
      this.#held.delete(k);
      return f;
    });
  }

  /** Checks the picture of frame `index` against the last one sent, and records it as sent. */
  admit(index: number, key: boolean, data: Uint8Array): Admission {
    const last = this.#lastIndex;
    if (last >= 0 && index <= last) {
      this.#gaps++;
      return { late: true };
    }
    const broken = last >= 0 && index !== last + 1 && !key;
    if (broken) this.#gaps++;
    this.#lastIndex = index;
    return { late: false, video: this.parameterSets.prepare(data, key), broken };
  }

  /** Forgets the held pictures (the stream ended). */
  clear(): void {
    this.#held.clear();
  }
}
