/**
 * Latency percentiles in bounded memory: a log-scaled histogram (2 % relative resolution from
 * 0.01 ms to 100 s, ~820 counters) for the whole run, exact max and mean, and a ring of the most
 * recent samples for the "now" figures of the console line. No unbounded arrays.
 */
import { TypedEmitter } from '../typed-emitter.js';

export interface LatencySummary {
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
  count: number;
}

export interface LatencyMeterOptions {
  /** Samples kept for the recent window. Default 256. */
  recent?: number;
  /** A sample above this many ms emits 'slow'. Default Infinity (never). */
  slowMs?: number;
}

export interface LatencyMeterEvents {
  sample: [ms: number];
  slow: [ms: number, thresholdMs: number];
}

const MIN_MS = 0.01;
const GROWTH = 1.02;
const LOG_GROWTH = Math.log(GROWTH);
const BUCKETS = Math.ceil(Math.log(1e5 / MIN_MS) / LOG_GROWTH) + 2;

export class LatencyMeter extends TypedEmitter<LatencyMeterEvents> {
  readonly #counts = new Float64Array(BUCKETS);
  readonly #recent: Float64Array;
  readonly #slowMs: number;
  #recentN = 0;
  #recentAt = 0;
  #count = 0;
  #sum = 0;
  #max = 0;

  constructor(options: LatencyMeterOptions = {}) {
    super();
    const n = options.recent ?? 256;
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`recent must be an integer >= 1, got ${String(n)}`);
    this.#recent = new Float64Array(n);
    this.#slowMs = options.slowMs ?? Infinity;
  }

  record(ms: number): void {
    if (!Number.isFinite(ms)) return;
    const v = Math.max(0, ms);
    const b = v <= MIN_MS ? 0 : Math.min(BUCKETS - 1, 1 + Math.floor(Math.log(v / MIN_MS) / LOG_GROWTH));
    this.#counts[b]!++;
    this.#count++;
    this.#sum += v;
    if (v > this.#max) this.#max = v;
    this.#recent[this.#recentAt] = v;
    this.#recentAt = (this.#recentAt + 1) % this.#recent.length;
    this.#recentN = Math.min(this.#recentN + 1, this.#recent.length);
    if (this.listenerCount('sample') > 0) this.emit('sample', v);
    if (v > this.#slowMs) this.emit('slow', v, this.#slowMs);
  }

  get count(): number {
    return this.#count;
  }

  /** Whole-run percentiles (bucket upper bound, capped by the exact max). */
  summary(): LatencySummary {
    const n = this.#count;
    if (n === 0) return { p50: 0, p95: 0, p99: 0, max: 0, mean: 0, count: 0 };
    const q = (p: number): number => {
      const target = Math.ceil(p * n);
      let acc = 0;
      for (let b = 0; b < BUCKETS; b++) {
        acc += this.#counts[b]!;
        if (acc >= target) return Math.min(this.#max, b === 0 ? MIN_MS : MIN_MS * GROWTH ** b);
      }
      return this.#max;
    };
    return { p50: round(q(0.5)), p95: round(q(0.95)), p99: round(q(0.99)), max: round(this.#max), mean: round(this.#sum / n), count: n };
  }

  /** Percentile over the recent window (exact). */
  recent(p: number): number {
    if (this.#recentN === 0) return 0;
    const a = Array.from(this.#recent.subarray(0, this.#recentN)).sort((x, y) => x - y);
    return round(a[Math.min(a.length - 1, Math.ceil(p * a.length) - 1)] ?? 0);
  }
}

function round(v: number): number {
  return Math.round(v * 100) / 100;
}
