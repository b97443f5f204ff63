/**
 * The timeline of a source's frames, from FFmpeg's own timestamps (`showinfo` pts) rather than from
 * when the bytes left FFmpeg:
 *   - `pts`: seconds from the stream's start, continuous across the runs of a reconnecting source;
 *   - `captureTs` (live): when the frame arrived at the source, as FFmpeg's pts against the wall
 *     clock at stream start. The anchor is the earliest `arrival - pts` seen, so a source read
 *     late (FFmpeg or the pipeline behind the source) shows its lag instead of hiding it; in replay,
 *     where a file is read ahead of real time, it is the arrival;
 *   - gaps: a frame whose pts jumps over frame intervals (missing frames in the recording or lost
 *     upstream).
 */

export interface SourceClockOptions {
  /** 'live' measures capture time from the pts; 'replay' from the arrival. Default 'replay'. */
  mode?: 'replay' | 'live';
  /** Frame interval when the timestamps do not tell yet, frames per second. Default 25. */
  fps?: number;
  /** A pts jump longer than this is a timestamp discontinuity, not missing frames, s. Default 5. */
  discontinuityS?: number;
}

export interface PtsGap {
  /** Frames missing before this one. 0 for a discontinuity. */
  missing: number;
  /** Stream pts of the last frame before the gap and of this one, s. */
  fromPts: number;
  toPts: number;
  discontinuity: boolean;
}

export interface ClockedFrame {
  pts: number;
  captureTs: number;
  /** How late the frame arrived from FFmpeg, ms: arrival - captureTs (0 in replay). */
  lagMs: number;
  gap?: PtsGap;
}

/** Deltas kept to learn the frame interval (the rate FFmpeg reports can be a field rate). */
const DELTAS = 16;

export class SourceClock {
  readonly #live: boolean;
  readonly #discontinuityS: number;
  #fps: number;
  /** Wall time (ms) of stream pts 0, live. */
  #anchor = Infinity;
  /** Stream pts where the current run starts, and the run's first raw pts. */
  #runBase = 0;
  #runFirst: number | undefined;
  /** Where the current run starts in the stream (a seek), s; undefined: right after the last frame. */
  #startPts: number | undefined;
  #lastRaw: number | undefined;
  #lastPts: number | undefined;
  #deltas: number[] = [];
  #missing = 0;

  constructor(options: SourceClockOptions = {}) {
    this.#live = (options.mode ?? 'replay') === 'live';
    this.#fps = options.fps ?? 25;
    this.#discontinuityS = options.discontinuityS ?? 5;
  }

  /** Frames missing so far (gaps in the timestamps). */
  get missing(): number {
    return this.#missing;
  }

  /** A new FFmpeg run: its timestamps start afresh. `fps` of the new run when known. */
  startRun(fps?: number, startPts?: number): void {
    if (fps !== undefined && fps > 0) this.#fps = fps;
    this.#startPts = startPts;
    this.#runFirst = undefined;
    this.#lastRaw = undefined;
    this.#deltas = [];
  }

  /** The frame interval: the median of the recent steps (a few gaps do not move it). */
  #interval(): number {
    if (this.#deltas.length < 4) return 1 / this.#fps;
    const sorted = [...this.#deltas].sort((a, b) => a - b);
    return sorted[sorted.length >> 1]!;
  }

  /** The next frame of the run: its pts as FFmpeg says (undefined when unknown) and when its bytes arrived (ms). */
  frame(rawPts: number | undefined, arrivalTs: number): ClockedFrame {
    const interval = this.#interval();
    let gap: PtsGap | undefined;
    let raw = rawPts;
    if (raw === undefined || (this.#lastRaw !== undefined && raw <= this.#lastRaw)) {
      // No timestamp, or one going back (a looped file, a reset): one interval on.
      raw = this.#lastRaw !== undefined ? this.#lastRaw + interval : 0;
    }
    if (this.#runFirst === undefined) {
      this.#runFirst = raw;
      // A later run starts where the wall clock says the stream is now (live), else right after the last frame.
      if (this.#startPts !== undefined) {
        // A replay seeked to this point: FFmpeg counts from the seek, the stream from its start.
        this.#runBase = this.#startPts;
      } else if (this.#lastPts !== undefined) {
        this.#runBase = this.#live && Number.isFinite(this.#anchor) ? Math.max(this.#lastPts + interval, (arrivalTs - this.#anchor) / 1000) : this.#lastPts + interval;
        // Live: what the source showed between the runs was lost upstream.
        this.#missing += Math.max(0, Math.round((this.#runBase - this.#lastPts) / interval) - 1);
      }
    } else if (this.#lastRaw !== undefined) {
      const dt = raw - this.#lastRaw;
      // Gaps are told only once a few steps taught the interval.
      const learned = this.#deltas.length >= 4;
      if (dt > this.#discontinuityS) {
        gap = { missing: 0, fromPts: this.#lastPts!, toPts: 0, discontinuity: true };
      } else {
        if (learned && dt > interval * 1.5) {
          gap = { missing: Math.max(1, Math.round(dt / interval) - 1), fromPts: this.#lastPts!, toPts: 0, discontinuity: false };
          this.#missing += gap.missing;
        }
        this.#deltas.push(dt);
        if (this.#deltas.length > DELTAS) this.#deltas.shift();
      }
    }
    this.#lastRaw = raw;
    const pts = this.#runBase + (raw - this.#runFirst);
    this.#lastPts = pts;
    if (gap !== undefined) gap.toPts = pts;
    if (!this.#live) return { pts, captureTs: arrivalTs, lagMs: 0, ...(gap !== undefined ? { gap } : {}) };
    // A discontinuity moves the anchor with it: the new timestamps are not comparable with the old.
    if (gap?.discontinuity === true) this.#anchor = arrivalTs - pts * 1000;
    this.#anchor = Math.min(this.#anchor, arrivalTs - pts * 1000);
    const captureTs = this.#anchor + pts * 1000;
    return { pts, captureTs, lagMs: arrivalTs - captureTs, ...(gap !== undefined ? { gap } : {}) };
  }
}
