/**
 * The log lines of a source that keeps reconnecting: the state change once (lost, or cannot open,
 * with the reason and the first retry), then at most one line per `summaryEveryMs` while it stays
 * down ('still no data from udp://… (N attempts in the last M minutes)'). An idle network source
 * retries forever with backoff; a line per attempt would bury everything else in the log.
 */

export interface ReconnectLogOptions {
  /** Least time between two 'still no data' lines of one outage, ms. Default 60000. */
  summaryEveryMs?: number;
}

export interface ReconnectAttempt {
  attempt: number;
  delayMs: number;
  reason: string;
}

export class ReconnectLog {
  readonly #stream: string;
  readonly #source: string;
  readonly #everyMs: number;
  /** In an outage: when its last line was logged, and the attempts since. */
  #down = false;
  /** Frames came at some time: an outage is a loss, else the source is still awaited. */
  #everOpen = false;
  #lastLineTs = 0;
  #attemptsSince = 0;
  /** The reason in the last line logged. */
  #loggedReason = '';

  /** `stream`: the stream id lines start with; `source`: the source as the user named it. */
  constructor(stream: string, source: string, options: ReconnectLogOptions = {}) {
    this.#stream = stream;
    this.#source = source;
    this.#everyMs = options.summaryEveryMs ?? 60_000;
  }

  /** The lines to log for a reconnect attempt (none while an outage is already reported and the minute is not up). */
  reconnecting(info: ReconnectAttempt, now = performance.now()): string[] {
    const retry = `${(info.delayMs / 1000).toFixed(1)} s`;
    if (!this.#down) {
      this.#down = true;
      this.#lastLineTs = now;
      this.#attemptsSince = 0;
      this.#loggedReason = info.reason;
      return [
        this.#everOpen
          ? `${this.#stream}: source lost (${info.reason}); reconnecting in ${retry} (attempt ${info.attempt})`
          : `${this.#stream}: waiting for ${this.#source} (${info.reason}); retrying in ${retry} (attempt ${info.attempt})`,
      ];
    }
    this.#attemptsSince++;
    if (now - this.#lastLineTs < this.#everyMs) return [];
    const changed = info.reason !== this.#loggedReason;
    this.#loggedReason = info.reason;
    const minutes = Math.max(1, Math.round((now - this.#lastLineTs) / 60_000));
    const n = this.#attemptsSince;
    this.#lastLineTs = now;
    this.#attemptsSince = 0;
    return [`${this.#stream}: still no data from ${this.#source} (${n} attempt${n === 1 ? '' : 's'} in the last ${minutes} minute${minutes === 1 ? '' : 's'}${changed ? `; now: ${info.reason}` : ''})`];
  }

  /** The source delivers frames again (not merely started: a probed file starts at once): the next failure is a new state change, said at once. */
  opened(): void {
    this.#down = false;
    this.#everOpen = true;
  }
}
