/**
 * Bounds repeated log lines: a damaged stream can warn on every frame. At most `perWindow` lines
 * pass per `windowMs`; the rest are counted and reported as one line when the next window opens.
 */
export interface LogThrottleOptions {
  /** Lines let through per window. Default 5. */
  perWindow?: number;
  /** Window length, ms. Default 10000. */
  windowMs?: number;
}

export class LogThrottle {
  readonly #perWindow: number;
  readonly #windowMs: number;
  #start = -Infinity;
  #passed = 0;
  #held = 0;

  constructor(options: LogThrottleOptions = {}) {
    this.#perWindow = options.perWindow ?? 5;
    this.#windowMs = options.windowMs ?? 10_000;
  }

  /** The lines to log now for `line`: itself, a count of the lines held back before it, both, or none. */
  push(line: string, now = performance.now()): string[] {
    const out: string[] = [];
    if (now - this.#start > this.#windowMs) {
      if (this.#held > 0) out.push(`${this.#held} more like these`);
      this.#start = now;
      this.#passed = 0;
      this.#held = 0;
    }
    if (++this.#passed <= this.#perWindow) out.push(line);
    else this.#held++;
    return out;
  }
}
