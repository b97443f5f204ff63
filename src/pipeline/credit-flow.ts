/**
 * The pipeline's flow control, one credit loop: a frame holds a credit of its source from the
 * moment the source emits it until it leaves the loop (out of the last sink, dropped, or lost with
 * a failed batch); a replay source pauses decoding while its credits are out. Between the batcher
 * and the end of the sinks a second bound applies: the batcher lets a batch go only while the
 * engine is idle and, when any stream is live, fewer than `maxInFlight` frames are in flight.
 * Replay-only pipelines are bound by their sources' credits alone, so a slow file encoder does not
 * starve the engine.
 *
 * Kept apart from `compose.ts` so the loop can be tested with fake sources, without FFmpeg.
 */
import { Subject, tap } from 'rxjs';
import type { MonoTypeOperatorFunction, Observable } from 'rxjs';
import { ErrorCode, SgusError } from '../errors.js';
import type { Frame } from './frame.js';
import type { Batch } from './stage-types.js';

/** What the loop needs of a source (an `FfmpegSource` is one). */
export interface CreditPort {
  /** A frame left the loop: its credit goes back, one more may be decoded. */
  release(): void;
  /** A frame nothing reads any more: its pixel buffers go back to the source's pool. */
  recycle(frame: Frame): void;
}

export interface CreditFlowOptions {
  /** Most frames per batch (the batcher's). */
  maxBatchSize: number;
  /** Frames in flight (batcher → end of the sinks) while any stream is live. Default `CREDIT_FLOW_DEFAULTS.inFlightBatches` × maxBatchSize. */
  maxInFlight?: number;
  /** Every stream is replay: the sources' credits alone bound the loop. Default false. */
  boundBySources?: boolean;
  /** The source of a stream id, which holds the stream's credits and pixel pool. */
  portOf: (streamId: string) => CreditPort;
}

export const CREDIT_FLOW_DEFAULTS = {
  /** Batches in flight when any stream is live: one in the engine, one in post-processing and the sinks. */
  inFlightBatches: 2,
  /** Credits per source, in batches: a full batch waiting, one in the engine, two in post-processing and the sinks. */
  creditBatches: 4,
} as const;

export class CreditFlow {
  readonly #maxBatchSize: number;
  readonly #maxInFlight: number;
  readonly #boundBySources: boolean;
  readonly #portOf: (streamId: string) => CreditPort;
  readonly #poke = new Subject<void>();
  #engineBusy = false;
  #inFlight = 0;
  #peak = 0;

  constructor(options: CreditFlowOptions) {
    const n = options?.maxBatchSize;
    if (!Number.isInteger(n) || n < 1) throw new SgusError(ErrorCode.InvalidArgument, `maxBatchSize must be an integer >= 1, got ${String(n)}`, { where: 'credit flow' });
    const maxInFlight = options.maxInFlight ?? n * CREDIT_FLOW_DEFAULTS.inFlightBatches;
    if (!Number.isInteger(maxInFlight) || maxInFlight < 1) throw new SgusError(ErrorCode.InvalidArgument, `maxInFlight must be an integer >= 1, got ${String(maxInFlight)}`, { where: 'credit flow' });
    if (typeof options.portOf !== 'function') throw new SgusError(ErrorCode.InvalidArgument, 'credit flow needs portOf', { where: 'credit flow' });
    this.#maxBatchSize = n;
    this.#maxInFlight = maxInFlight;
    this.#boundBySources = options.boundBySources ?? false;
    this.#portOf = options.portOf;
  }

  /** Credits a source should hold for a batch size: enough to keep the engine fed. */
  static sourceCredits(maxBatchSize: number): number {
    return maxBatchSize * CREDIT_FLOW_DEFAULTS.creditBatches;
  }

  /** Emits when the room may have grown: the batcher's `poke$`. */
  get poke$(): Observable<void> {
    return this.#poke;
  }

  /** Frames between the batcher and the end of the sinks now. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** The most frames that were in flight at once. */
  get peakInFlight(): number {
    return this.#peak;
  }

  /** How many frames the batcher may let go now: the batcher's `capacity`. */
  readonly capacity = (): number => {
    if (this.#engineBusy) return 0;
    return this.#boundBySources ? this.#maxBatchSize : Math.max(0, this.#maxInFlight - this.#inFlight);
  };

  /** The inference stage's `onBusy`. */
  readonly engineBusy = (): void => {
    this.#engineBusy = true;
  };

  /** The inference stage's `onIdle`: the next batch may go. */
  readonly engineIdle = (): void => {
    this.#engineBusy = false;
    this.#poke.next();
  };

  /** Right after the batcher: the batch's frames are in flight. */
  admit(): MonoTypeOperatorFunction<Batch> {
    return tap((batch) => {
      this.#inFlight += batch.frames.length;
      if (this.#inFlight > this.#peak) this.#peak = this.#inFlight;
    });
  }

  /** A frame's credit goes back to its source (after anything that still reads its picture). */
  release(frame: Frame): void {
    this.#portOf(frame.streamId).release();
  }

  /**
   * A frame in flight leaves the loop (out of the sinks, stale, or in a failed batch): its pixels go
   * back to the source's pool and off the frame (what is kept of it holds contours and view, never
   * pixels). Its credit is given back by `release`, which the caller orders after any last use of
   * its picture.
   */
  settle(frame: Frame): void {
    this.#inFlight--;
    this.#portOf(frame.streamId).recycle(frame);
    delete frame.full;
  }

  /** A frame left the last sink: settled, its credit back, room for the next batch. */
  done(frame: Frame): void {
    this.settle(frame);
    this.release(frame);
    this.#poke.next();
  }

  /** Room may have grown (a frame left the loop early). */
  poke(): void {
    this.#poke.next();
  }
}
