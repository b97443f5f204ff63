/** Types passed between pipeline stages (types only: stages share these, never each other's code). */
import type { FloatMap } from '../core/image.js';
import type { Frame } from './frame.js';

/** Frames inferred together in one engine call. */
export interface Batch {
  frames: Frame[];
  /** When the batcher let the batch go, ms, same clock as `Frame.captureTs`. */
  formedTs: number;
}

/** One frame after inference: its gland probability at the model's output size. */
export interface Inferred {
  frame: Frame;
  probability: FloatMap;
  batchSize: number;
  formedTs: number;
  /** Duration of the engine call of the whole batch, ms. */
  inferenceMs: number;
  /** End of inference, same clock as `captureTs`. */
  inferredTs: number;
}

/** Wall clock on the `captureTs` scale. */
export function nowTs(): number {
  return performance.timeOrigin + performance.now();
}
