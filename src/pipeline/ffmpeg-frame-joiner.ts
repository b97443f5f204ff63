/**
 * Joining the parts of one picture that one FFmpeg run writes to different pipes (model pixels,
 * viewer video, full-size pixels) and its showinfo timestamp on stderr. FFmpeg writes every output
 * in picture order, so the k-th part on each pipe belongs to the k-th picture: the parts are queued
 * per pipe and joined by position. A part may arrive before or after its partners; a picture waits
 * for them, but not for ever (a frame the viewer encoder skipped must not stall inference).
 * No process, no clock: the source feeds the parts and takes joined pictures.
 */
import type { ViewPayload } from './frame.js';

/** Options of one run's joiner. */
export interface FrameJoinerOptions {
  /** 'live' waits for a lagging part at most a few pictures (latency stays bounded). Default 'replay'. */
  mode?: 'replay' | 'live';
  /** The run writes viewer video: a picture waits for its video part. Default false. */
  withView?: boolean;
  /** The run writes full-size pictures: a picture waits for its full-size part. Default false. */
  withFull?: boolean;
}

/** The parts of one picture, joined. */
export interface JoinedPicture {
  /** Position of the picture in the run (0 = its first). */
  seq: number;
  /** When its model pixels began to arrive, ms since the epoch. */
  ts: number;
  pixels: Buffer;
  view?: ViewPayload;
  full?: Buffer;
  /** Its showinfo presentation time, s; undefined when its line never came (the source estimates). */
  ptsTime?: number;
}

/**
 * What `next` gives: a joined picture; or a picture without its full-size part (the annotated video
 * would lose sync, so the source counts it corrupt), consumed with its view part.
 */
export type JoinResult = { kind: 'picture'; picture: JoinedPicture } | { kind: 'no-full'; seq: number };

/** Parts beyond these are only a misbehaving stream's: the oldest go. */
const MAX_PARTS = 128;
const MAX_VIEWS = 256;
/** Timestamps kept: FFmpeg blocks on the paused pixel pipe a few frames after its filter logs them. */
const MAX_PTS = 1024;

export class FrameJoiner {
  readonly #live: boolean;
  readonly #withView: boolean;
  readonly #withFull: boolean;
  #model: { seq: number; ts: number; pixels: Buffer }[] = [];
  #full: Buffer[] = [];
  #views: ViewPayload[] = [];
  #pts: { n: number; ptsTime: number }[] = [];
  #seq = 0;
  #viewEnded = false;

  constructor(options: FrameJoinerOptions = {}) {
    this.#live = (options.mode ?? 'replay') === 'live';
    this.#withView = options.withView ?? false;
    this.#withFull = options.withFull ?? false;
  }

  /** Model pictures read and not yet joined. */
  get waiting(): number {
    return this.#model.length;
  }

  addModel(pixels: Buffer, ts: number): void {
    this.#model.push({ seq: this.#seq++, ts, pixels });
  }

  addView(view: ViewPayload): void {
    this.#views.push(view);
  }

  addFull(pixels: Buffer): void {
    this.#full.push(pixels);
  }

  /** The showinfo line of picture `n` of the run. */
  addPts(n: number, ptsTime: number): void {
    this.#pts.push({ n, ptsTime });
    if (this.#pts.length > MAX_PTS) this.#pts.shift();
  }

  /** The viewer video pipe ended while the run goes on (an FFmpeg output that gave up): stop waiting for it. */
  viewEnded(): void {
    this.#viewEnded = true;
  }

  /**
   * Drops the oldest parts beyond the bounds; returns how many model and full-size parts went
   * (unmatched pictures, corrupt). Surplus view parts go silently: a viewer resyncs at a key frame.
   */
  trim(): number {
    if (this.#views.length > MAX_VIEWS) this.#views.splice(0, this.#views.length - MAX_VIEWS);
    let dropped = 0;
    for (const q of [this.#model, this.#full] as unknown[][]) {
      if (q.length > MAX_PARTS) {
        const n = q.length - MAX_PARTS;
        q.splice(0, n);
        dropped += n;
      }
    }
    return dropped;
  }

  /**
   * The oldest picture when its parts are in, else undefined (wait for more). `final`: the run
   * ended, so nothing more will come: what there is goes.
   */
  next(final = false): JoinResult | undefined {
    if (this.#model.length === 0) return undefined;
    // One side lagging by a lot: go without it. Live: a picture waits at most a few frames for its
    // video part, so latency stays bounded.
    const lag = this.#model.length > (this.#live ? 8 : 64);
    const go = final || lag;
    if (this.#withFull && this.#full.length === 0 && !go) return undefined;
    if (this.#withView && this.#views.length === 0 && !go && !this.#viewEnded) return undefined;
    // Its timestamp comes on stderr, which may be read after the pixels: wait a little for it (not
    // for ever: a frame whose line was lost goes with an estimated pts).
    const head = this.#model[0]!;
    while (this.#pts.length > 0 && this.#pts[0]!.n < head.seq) this.#pts.shift();
    if (this.#pts.length === 0 && this.#model.length < 3 && !go) return undefined;
    const m = this.#model.shift()!;
    const full = this.#withFull ? this.#full.shift() : undefined;
    const view = this.#withView ? this.#views.shift() : undefined;
    if (this.#withFull && full === undefined) return { kind: 'no-full', seq: m.seq };
    const picture: JoinedPicture = { seq: m.seq, ts: m.ts, pixels: m.pixels };
    if (view !== undefined) picture.view = view;
    if (full !== undefined) picture.full = full;
    if (this.#pts[0]?.n === m.seq) picture.ptsTime = this.#pts.shift()!.ptsTime;
    return { kind: 'picture', picture };
  }
}
