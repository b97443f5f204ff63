/**
 * Inference: one engine call per batch through the `Segmenter` (shared by every stream). Batches
 * are mixed-stream; each frame comes out with its own probability map. `onIdle` fires as soon as
 * the engine is free, before the results go downstream, so the next batch's engine call overlaps
 * this batch's post-processing on the other core.
 *
 * A failed engine call ends the stage unless the error is a non-fatal `SgusError` (src/errors.ts):
 * then only that batch is lost, handed to `onBatchFailed`, and the next batch goes on.
 */
import { Observable } from 'rxjs';
import type { OperatorFunction } from 'rxjs';
import type { FloatMap, RgbImage } from '../core/image.js';
import { describeError, ErrorCode, isSgusError, SgusError } from '../errors.js';
import type { Batch, Inferred } from './stage-types.js';
import { nowTs } from './stage-types.js';

/** The part of a `Segmenter` this stage uses. */
export interface ProbabilityModel {
  probabilities(images: readonly RgbImage[]): Promise<FloatMap[]>;
}

export interface InferenceStageOptions {
  model: ProbabilityModel;
  /** Called when the engine is free again (after each batch). Default: nothing. */
  onIdle?: () => void;
  /** Called when a batch starts. Default: nothing. */
  onBusy?: () => void;
  /**
   * A batch whose engine call failed with a non-fatal SgusError: its frames are not emitted (the
   * caller releases them) and the stage goes on. Called before `onIdle`. Default: nothing.
   */
  onBatchFailed?: (batch: Batch, error: SgusError) => void;
}

export function inferenceStage(options: InferenceStageOptions): OperatorFunction<Batch, Inferred> {
  if (options === undefined || options.model === undefined || typeof options.model.probabilities !== 'function') {
    throw new SgusError(ErrorCode.InvalidArgument, 'inference stage needs a model with probabilities()', { where: 'inference stage' });
  }
  const { model } = options;
  return (batches$) =>
    new Observable<Inferred>((subscriber) => {
      let inflight = 0;
      let upstreamDone = false;
      let stopped = false;
      const sub = batches$.subscribe({
        next(batch) {
          inflight++;
          options.onBusy?.();
          const t0 = performance.now();
          let run: Promise<FloatMap[]>;
          try {
            run = model.probabilities(batch.frames.map((f) => f.pixels));
          } catch (err) {
            run = Promise.reject(err);
          }
          run.then(
            (probs) => {
              inflight--;
              if (stopped) return;
              const inferenceMs = performance.now() - t0;
              const inferredTs = nowTs();
              options.onIdle?.();
              batch.frames.forEach((frame, k) => {
                subscriber.next({ frame, probability: probs[k]!, batchSize: batch.frames.length, formedTs: batch.formedTs, inferenceMs, inferredTs });
              });
              if (upstreamDone && inflight === 0) subscriber.complete();
            },
            (err: unknown) => {
              inflight--;
              if (stopped) return;
              // Anything but an SgusError is a defect of unknown reach: fatal.
              const e = isSgusError(err) ? err : new SgusError(ErrorCode.EngineFailure, `inference failed: ${describeError(err)}`, { where: 'inference stage', cause: err });
              if (e.fatal) {
                stopped = true;
                subscriber.error(e);
                return;
              }
              options.onBatchFailed?.(batch, e);
              options.onIdle?.();
              if (upstreamDone && inflight === 0) subscriber.complete();
            },
          );
        },
        error(err: unknown) {
          stopped = true;
          subscriber.error(err);
        },
        complete() {
          upstreamDone = true;
          if (inflight === 0) subscriber.complete();
        },
      });
      return () => {
        stopped = true;
        sub.unsubscribe();
      };
    });
}
