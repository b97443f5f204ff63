/**
 * Dynamic batching: frames from every stream wait in one bounded queue; a batch leaves when the
 * downstream has room and either `maxBatchSize` frames are waiting or the oldest has waited
 * `maxDelayMs`. While the engine is busy frames collect, so batches grow exactly when the engine is
 * the bottleneck and stay small (low latency) otherwise.
 *
 * Replay mode is lossless: the sources' flow control keeps the queue under `maxQueue`, and going
 * over it is an error, never a silent drop. Live mode is latest-frame-wins: each stream keeps at
 * most `liveQueuePerStream` frames (older ones are dropped and reported), and a frame older than
 * `maxAgeMs` when its batch forms is dropped as stale, so latency stays bounded.
 */
import { Observable } from 'rxjs';
import type { OperatorFunction } from 'rxjs';
import { ErrorCode, SgusError } from '../errors.js';
import type { Frame } from './frame.js';
import type { Batch } from './stage-types.js';
import { nowTs } from './stage-types.js';

export interface BatchStageOptions {
  /** Most frames per batch. Default `BATCH_STAGE_DEFAULTS.maxBatchSize`. */
  maxBatchSize?: number;
  /** Longest a frame waits for a fuller batch, ms. Default `BATCH_STAGE_DEFAULTS.maxDelayMs`. */
  maxDelayMs?: number;
  /** 'replay' (lossless) or 'live' (latest-frame-wins), for all streams or per stream id. Default 'replay'. */
  mode?: 'replay' | 'live' | ((streamId: string) => 'replay' | 'live');
  /** Replay: bound of the queue; exceeding it is an error. Default `BATCH_STAGE_DEFAULTS.maxQueue`. */
  maxQueue?: number;
  /** Live: frames kept per stream. Default `BATCH_STAGE_DEFAULTS.liveQueuePerStream`. */
  liveQueuePerStream?: number;
  /** Live: frames older than this (since `captureTs`, their arrival at the source) are dropped when a batch forms, ms. Default `BATCH_STAGE_DEFAULTS.maxAgeMs`. */
  maxAgeMs?: number;
  /** How many frames the downstream takes now (0 while the engine is busy). Default: always maxBatchSize. */
  capacity?: () => number;
  /** Emits when `capacity` may have grown (a batch was inferred, a frame left the sinks). */
  poke$?: Observable<unknown>;
  /** Called for every frame dropped (live). */
  onDrop?: (frame: Frame, reason: 'superseded' | 'stale') => void;
}

/** The one home of these defaults: the pipeline and the command line's `--help` read them here. */
export const BATCH_STAGE_DEFAULTS = {
  maxBatchSize: 4,
  maxDelayMs: 8,
  maxQueue: 256,
  liveQueuePerStream: 1,
  maxAgeMs: 1000,
} as const;

export function batchStage(options: BatchStageOptions = {}): OperatorFunction<Frame, Batch> {
  const d = BATCH_STAGE_DEFAULTS;
  const maxBatchSize = options.maxBatchSize ?? d.maxBatchSize;
  const maxDelayMs = options.maxDelayMs ?? d.maxDelayMs;
  const mode = options.mode ?? 'replay';
  const maxQueue = options.maxQueue ?? d.maxQueue;
  const perStream = options.liveQueuePerStream ?? d.liveQueuePerStream;
  const maxAgeMs = options.maxAgeMs ?? d.maxAgeMs;
  if (!Number.isInteger(maxBatchSize) || maxBatchSize < 1) throw new SgusError(ErrorCode.InvalidArgument, `maxBatchSize must be an integer >= 1, got ${String(maxBatchSize)}`, { where: 'batch stage' });
  if (!(maxDelayMs >= 0)) throw new SgusError(ErrorCode.InvalidArgument, `maxDelayMs must be >= 0, got ${String(maxDelayMs)}`, { where: 'batch stage' });
  if (typeof mode !== 'function' && mode !== 'replay' && mode !== 'live') throw new SgusError(ErrorCode.InvalidArgument, `mode must be replay or live, got '${String(mode)}'`, { where: 'batch stage' });
  if (!Number.isInteger(maxQueue) || maxQueue < maxBatchSize) throw new SgusError(ErrorCode.InvalidArgument, `maxQueue must be an integer >= maxBatchSize`, { where: 'batch stage' });
  if (!Number.isInteger(perStream) || perStream < 1) throw new SgusError(ErrorCode.InvalidArgument, `liveQueuePerStream must be an integer >= 1`, { where: 'batch stage' });
  if (!(maxAgeMs > 0)) throw new SgusError(ErrorCode.InvalidArgument, `maxAgeMs must be > 0`, { where: 'batch stage' });
  const capacity = options.capacity ?? (() => maxBatchSize);
  const isLive = typeof mode === 'function' ? (id: string): boolean => mode(id) === 'live' : (): boolean => mode === 'live';

  return (frames$) =>
    new Observable<Batch>((subscriber) => {
      const queue: { frame: Frame; at: number }[] = [];
      let timer: NodeJS.Timeout | undefined;
      let done = false;
      let finished = false;

      const drop = (frame: Frame, reason: 'superseded' | 'stale'): void => options.onDrop?.(frame, reason);

      const pump = (): void => {
        if (finished) return;
        for (;;) {
          if (queue.length === 0) {
            if (done) {
              finished = true;
              clearTimeout(timer);
              subscriber.complete();
            }
            return;
          }
          const room = Math.min(maxBatchSize, capacity());
          if (room <= 0) return;
          const now = performance.now();
          // Live frames too old to matter go (replay frames never do).
          const wall = nowTs();
          for (let k = 0; k < queue.length; k++) {
            const f = queue[k]!.frame;
            if (isLive(f.streamId) && wall - f.captureTs > maxAgeMs) {
              queue.splice(k--, 1);
              drop(f, 'stale');
            }
          }
          if (queue.length === 0) continue;
          const waited = now - queue[0]!.at;
          // Full batch, waited long enough, or the input ended: go. Otherwise wait for more frames.
          if (queue.length < room && waited < maxDelayMs && !done) {
            if (timer === undefined) {
              timer = setTimeout(() => {
                timer = undefined;
                pump();
              }, Math.max(0, maxDelayMs - waited));
            }
            return;
          }
          clearTimeout(timer);
          timer = undefined;
          subscriber.next({ frames: takeBatch(queue, room, isLive), formedTs: nowTs() });
        }
      };

      const pokeSub = options.poke$?.subscribe(() => pump());
      const sub = frames$.subscribe({
        next(frame) {
          if (isLive(frame.streamId)) {
            let mine = 0;
            for (const q of queue) if (q.frame.streamId === frame.streamId) mine++;
            while (mine >= perStream) {
              const k = queue.findIndex((q) => q.frame.streamId === frame.streamId);
              drop(queue.splice(k, 1)[0]!.frame, 'superseded');
              mine--;
            }
          } else if (queue.length >= maxQueue) {
            subscriber.error(new SgusError(ErrorCode.InvalidArgument, `batch queue over its bound of ${maxQueue} frames (source flow control missing)`, { where: `batch stage, stream ${frame.streamId}` }));
            return;
          }
          queue.push({ frame, at: performance.now() });
          pump();
        },
        error(err: unknown) {
          clearTimeout(timer);
          subscriber.error(err);
        },
        complete() {
          done = true;
          pump();
        },
      });
      return () => {
        clearTimeout(timer);
        sub.unsubscribe();
        pokeSub?.unsubscribe();
      };
    });
}

/**
 * Takes up to `room` frames out of the queue: live frames first, then the oldest others, in queue
 * order. A live frame is its stream's latest and ages while it waits, and a newer one supersedes it
 * at the back of the queue; a replay frame loses nothing by waiting (its source pauses). Oldest-first
 * alone let a lossless replay keep a live stream's frames behind its own until they went stale.
 */
function takeBatch(queue: { frame: Frame }[], room: number, isLive: (streamId: string) => boolean): Frame[] {
  const picked: number[] = [];
  for (let k = 0; k < queue.length && picked.length < room; k++) if (isLive(queue[k]!.frame.streamId)) picked.push(k);
  for (let k = 0; k < queue.length && picked.length < room; k++) if (!isLive(queue[k]!.frame.streamId)) picked.push(k);
  picked.sort((a, b) => a - b);
  const frames = picked.map((k) => queue[k]!.frame);
  for (let i = picked.length - 1; i >= 0; i--) queue.splice(picked[i]!, 1);
  return frames;
}
