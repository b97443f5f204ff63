/**
 * One viewer's JPEG fallback picture rate, adapted to what its connection carries: the bytes its
 * socket still holds unsent (ws `bufferedAmount`) tell whether the pictures go out as fast as they
 * are made. Backed up (more than two pictures waiting): the rate halves; drained (less than half a
 * picture waiting): it climbs by one picture a second; at most one change every `stepMs`. A slow
 * link then gets fewer, whole pictures instead of a queue that grows until frames are dropped and
 * the picture lags seconds behind; it never goes below `minFps` while connected.
 */
import { ErrorCode, SgusError } from '../errors.js';

export const ADAPTIVE_RATE_DEFAULTS = {
  /** Lowest rate, pictures a second. */
  minFps: 2,
  /** Shortest time between two changes of the rate, ms. */
  stepMs: 500,
} as const;

export interface AdaptiveRateOptions {
  /** Highest rate (and the starting one), pictures a second. Required, > 0. */
  maxFps: number;
  /** Lowest rate. Default ADAPTIVE_RATE_DEFAULTS.minFps (or maxFps when lower). */
  minFps?: number;
  /** Shortest time between two changes, ms. Default ADAPTIVE_RATE_DEFAULTS.stepMs. */
  stepMs?: number;
}

export class AdaptiveRate {
  readonly #max: number;
  readonly #min: number;
  readonly #stepMs: number;
  #fps: number;
  /** When the next picture is due; kept on a fixed grid so offers between ticks do not lower the rate. */
  #nextMs = -Infinity;
  #lastChangeMs = -Infinity;

  constructor(options: AdaptiveRateOptions) {
    if (!(options.maxFps > 0)) throw new SgusError(ErrorCode.InvalidArgument, `maxFps must be > 0, got ${options.maxFps}`, { where: 'adaptive picture rate' });
    this.#max = options.maxFps;
    this.#min = Math.min(this.#max, options.minFps ?? ADAPTIVE_RATE_DEFAULTS.minFps);
    this.#stepMs = options.stepMs ?? ADAPTIVE_RATE_DEFAULTS.stepMs;
    this.#fps = this.#max;
  }

  /** The rate now, pictures a second. */
  get fps(): number {
    return this.#fps;
  }

  /**
   * A picture of `bytes` for a socket holding `queuedBytes` unsent, at `nowMs`: adjusts the rate,
   * then says whether the picture may go (its interval since the last one has passed).
   */
  admit(nowMs: number, queuedBytes: number, bytes: number): boolean {
    if (nowMs - this.#lastChangeMs >= this.#stepMs) {
      if (queuedBytes > 2 * bytes && this.#fps > this.#min) {
        this.#fps = Math.max(this.#min, this.#fps / 2);
        this.#lastChangeMs = nowMs;
      } else if (queuedBytes < bytes / 2 && this.#fps < this.#max) {
        this.#fps = Math.min(this.#max, this.#fps + 1);
        this.#lastChangeMs = nowMs;
      }
    }
    const interval = 1000 / this.#fps;
    if (nowMs < this.#nextMs - 1) return false;
    this.#nextMs = Math.max(this.#nextMs, nowMs - interval) + interval;
    return true;
  }
}
