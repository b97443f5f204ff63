/** Rolling figures for the status bar: frames drawn per second and latency percentiles. */

export class RollingStats {
  readonly #drawTimes: number[] = [];
  readonly #latencies: number[] = [];
  readonly #window: number;

  constructor(window = 120) {
    this.#window = window;
  }

  frameDrawn(now: number, latencyMs: number | undefined): void {
    this.#drawTimes.push(now);
    while (this.#drawTimes.length > 0 && now - this.#drawTimes[0]! > 2000) this.#drawTimes.shift();
    if (latencyMs !== undefined && Number.isFinite(latencyMs)) {
      this.#latencies.push(latencyMs);
      if (this.#latencies.length > this.#window) this.#latencies.shift();
    }
  }

  /** Frames drawn per second over the last two seconds. */
  fps(now: number): number {
    while (this.#drawTimes.length > 0 && now - this.#drawTimes[0]! > 2000) this.#drawTimes.shift();
    if (this.#drawTimes.length < 2) return 0;
    const span = Math.max(now - this.#drawTimes[0]!, 1);
    return ((this.#drawTimes.length - 1) * 1000) / span;
  }

  percentile(p: number): number | undefined {
    if (this.#latencies.length === 0) return undefined;
    const sorted = [...this.#latencies].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
  }

  reset(): void {
    this.#drawTimes.length = 0;
    this.#latencies.length = 0;
  }
}
