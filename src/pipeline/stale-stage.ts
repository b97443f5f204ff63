/**
 * Live: the last check before a frame is shown. The batcher drops frames too old to infer, but a
 * frame young enough then can age past the limit in inference and post-processing (a slow model,
 * a loaded machine); such a frame is dropped here, counted by the caller, and never shown, so what
 * viewers see is at most `maxAgeMs` behind the source. Replay frames always pass (lossless).
 */
import { filter } from 'rxjs';
import type { OperatorFunction } from 'rxjs';
import { ErrorCode, SgusError } from '../errors.js';
import type { FrameResult } from './frame.js';
import { nowTs } from './stage-types.js';

export interface StaleStageOptions {
  /** Age since the frame arrived at its source (`captureTs`) beyond which a live frame goes, ms. */
  maxAgeMs: number;
  /** Whether a stream is live (replay streams are never dropped). */
  isLive: (streamId: string) => boolean;
  /** Called for every frame dropped. Default: nothing. */
  onDrop?: (result: FrameResult, ageMs: number) => void;
}

export function staleStage(options: StaleStageOptions): OperatorFunction<FrameResult, FrameResult> {
  if (!(options?.maxAgeMs > 0)) throw new SgusError(ErrorCode.InvalidArgument, `maxAgeMs must be > 0, got ${String(options?.maxAgeMs)}`, { where: 'stale stage' });
  const { maxAgeMs, isLive } = options;
  return filter((r: FrameResult) => {
    if (!isLive(r.frame.streamId)) return true;
    const age = nowTs() - r.frame.captureTs;
    if (age <= maxAgeMs) return true;
    options.onDrop?.(r, age);
    return false;
  });
}
