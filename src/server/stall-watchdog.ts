/**
 * Notices a stream that stopped sending frames without anyone saying so: FFmpeg can sit on a dead
 * network source, or a scanner can freeze its output, for many seconds before the source's own
 * timeout fires (if it ever does), and meanwhile viewers would keep the last picture as if it were
 * current. The watchdog only reports; the hub decides what the stream's state becomes.
 */
import { ErrorCode, SgusError } from '../errors.js';

/** The one place the stall defaults live (the hub's options and PROTOCOL.md refer to them). */
export const STALL_WATCHDOG_DEFAULTS = {
  /** No frame for this many seconds ⇒ stalled (at least 3 frame periods of the stream, for slow streams). */
  stallAfterS: 2,
  /** How often the streams are looked at, ms. */
  checkEveryMs: 250,
} as const;

export interface StallWatchdogOptions {
  /** Seconds without a frame before a watched stream counts as stalled. Default 2 (`STALL_WATCHDOG_DEFAULTS`). */
  stallAfterS?: number;
  /** Period of the check, ms. Default 250. */
  checkEveryMs?: number;
  /** Called once per stall: the stream, and when its last frame (or its watch) began (`Date.now()` clock). */
  onStall: (streamId: string, lastFrameTs: number) => void;
  /** Clock, ms since epoch. Default `Date.now` (tests give their own). */
  now?: () => number;
}

interface Watched {
  /** Last frame, or the start of the watch when none came since. */
  lastTs: number;
  limitMs: number;
  reported: boolean;
}

export class StallWatchdog {
  readonly #streams = new Map<string, Watched>();
  readonly #stallAfterMs: number;
  readonly #onStall: (streamId: string, lastFrameTs: number) => void;
  readonly #now: () => number;
  readonly #timer: NodeJS.Timeout;
  #closed = false;

  constructor(options: StallWatchdogOptions) {
    const stallAfterS = options.stallAfterS ?? STALL_WATCHDOG_DEFAULTS.stallAfterS;
    const checkEveryMs = options.checkEveryMs ?? STALL_WATCHDOG_DEFAULTS.checkEveryMs;
    if (!(stallAfterS > 0) || !Number.isFinite(stallAfterS)) throw new SgusError(ErrorCode.InvalidArgument, `stallAfterS must be a positive number of seconds, got ${stallAfterS}`, { where: 'stall watchdog' });
    if (!(checkEveryMs > 0)) throw new SgusError(ErrorCode.InvalidArgument, `checkEveryMs must be > 0, got ${checkEveryMs}`, { where: 'stall watchdog' });
    if (typeof options.onStall !== 'function') throw new SgusError(ErrorCode.InvalidArgument, 'onStall callback missing', { where: 'stall watchdog' });
    this.#stallAfterMs = stallAfterS * 1000;
    this.#onStall = options.onStall;
    this.#now = options.now ?? Date.now;
    this.#timer = setInterval(() => this.check(), checkEveryMs);
    this.#timer.unref();
  }

  /** Starts (or restarts) watching a stream whose frames should now flow; `fps` 0 when unknown. */
  watch(streamId: string, fps: number): void {
    if (this.#closed) return;
    // A 0.5 fps stream is not stalled after 2 s: allow it 3 frame periods.
    const limitMs = Math.max(this.#stallAfterMs, fps > 0 ? 3000 / fps : 0);
    this.#streams.set(streamId, { lastTs: this.#now(), limitMs, reported: false });
  }

  /** Stops watching (the stream is reconnecting, ended, or not open yet). */
  unwatch(streamId: string): void {
    this.#streams.delete(streamId);
  }

  /** A frame of the stream arrived. Returns true when the stream had been reported stalled. */
  frame(streamId: string): boolean {
    const w = this.#streams.get(streamId);
    if (w === undefined) return false;
    w.lastTs = this.#now();
    const was = w.reported;
    w.reported = false;
    return was;
  }

  /** Looks at every watched stream now (also run by the timer). */
  check(): void {
    const now = this.#now();
    for (const [id, w] of this.#streams) {
      if (w.reported || now - w.lastTs <= w.limitMs) continue;
      w.reported = true;
      this.#onStall(id, w.lastTs);
    }
  }

  /** Safe to call twice. */
  close(): void {
    this.#closed = true;
    clearInterval(this.#timer);
    this.#streams.clear();
  }
}
