/** Frames per second over a sliding window of one-second slots, bounded memory; emits 'rate' on `tick()`. */
import { TypedEmitter } from '../typed-emitter.js';

export interface FpsMeterOptions {
  /** Window in seconds. Default 2. */
  windowS?: number;
  /** Clock in ms. Default performance.now. */
  now?: () => number;
}

export interface FpsMeterEvents {
  rate: [fps: number, total: number];
}

export class FpsMeter extends TypedEmitter<FpsMeterEvents> {
  readonly #windowMs: number;
  readonly #now: () => number;
  readonly #slots: Float64Array;
  #slotStart: number;
  #slot = 0;
  #total = 0;
  readonly #start: number;

  constructor(options: FpsMeterOptions = {}) {
    super();
    const w = options.windowS ?? 2;
    if (!(w > 0 && w <= 60)) throw new RangeError(`windowS must be in (0, 60], got ${String(w)}`);
    this.#windowMs = w * 1000;
    this.#now = options.now ?? (() => performance.now());
    // Slots of 250 ms over the window.
    this.#slots = new Float64Array(Math.max(1, Math.round(this.#windowMs / 250)));
    this.#start = this.#now();
    this.#slotStart = this.#start;
  }

  #advance(): void {
    const now = this.#now();
    while (now - this.#slotStart >= 250) {
      this.#slotStart += 250;
      this.#slot = (this.#slot + 1) % this.#slots.length;
      this.#slots[this.#slot] = 0;
      // Long idle: reset everything at once instead of looping.
      if (now - this.#slotStart > this.#windowMs * 2) {
        this.#slots.fill(0);
        this.#slotStart = now;
      }
    }
  }

  add(n = 1): void {
    this.#advance();
    this.#slots[this.#slot]! += n;
    this.#total += n;
  }

  get total(): number {
    return this.#total;
  }

  /** Current rate over the window (over the elapsed time when shorter). */
  get fps(): number {
    this.#advance();
    let sum = 0;
    for (const v of this.#slots) sum += v;
    // The ring holds the full older slots plus the current, partly elapsed one.
    const now = this.#now();
    const span = Math.max(250, Math.min(now - this.#start, (this.#slots.length - 1) * 250 + (now - this.#slotStart)));
    return Math.round((sum / (span / 1000)) * 10) / 10;
  }

  /** Average over the whole run. */
  get average(): number {
    const s = (this.#now() - this.#start) / 1000;
    return s > 0 ? Math.round((this.#total / s) * 10) / 10 : 0;
  }

  /** Publishes the current rate. */
  tick(): number {
    const f = this.fps;
    this.emit('rate', f, this.#total);
    return f;
  }
}
