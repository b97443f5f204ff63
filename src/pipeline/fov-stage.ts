/**
 * Field of view: for a model trained on model windows (card `input.fieldOfView`), each frame's
 * pixels become what the model sees — its stream's field of view, followed over time
 * (fov-tracker.ts), cropped to the model's input — and the frame carries the window in source
 * pixels, so post-processing places the outline back in the frame. FFmpeg delivers these frames at
 * `FOV_ANALYSIS_SIZE` rather than the model's size, so the window has pixels to be cut from.
 */
import { map } from 'rxjs';
import type { OperatorFunction } from 'rxjs';
import { scaleWindow } from '../core/field-of-view.js';
import type { ModelWindow } from '../core/field-of-view.js';
import { cropToModel } from '../core/window-resample.js';
import { ErrorCode, SgusError } from '../errors.js';
import type { Frame } from './frame.js';
import { FieldOfViewTracker } from './fov-tracker.js';
import type { FieldOfViewTrackerOptions } from './fov-tracker.js';

/**
 * Side of the square FFmpeg scales frames to for this stage: the field of view is typically 60–90 %
 * of the screen's width, so 448 leaves it 270–400 pixels, more than the model's 224.
 */
export const FOV_ANALYSIS_SIZE = 448;

export interface FovStageOptions {
  /** The model's input size. */
  modelWidth: number;
  modelHeight: number;
  /** How the field of view is followed. Default: the tracker's defaults. */
  tracker?: FieldOfViewTrackerOptions;
  /** Called when a stream's layout changes (zoom, depth), with the new window. Default: nothing. */
  onChange?: (streamId: string, window: ModelWindow) => void;
}

export function fovStage(options: FovStageOptions): OperatorFunction<Frame, Frame> {
  const { modelWidth, modelHeight } = options;
  if (!Number.isInteger(modelWidth) || !Number.isInteger(modelHeight) || modelWidth < 1 || modelHeight < 1) {
    throw new SgusError(ErrorCode.InvalidArgument, `model size must be positive integers, got ${String(modelWidth)}x${String(modelHeight)}`, { where: 'field-of-view stage' });
  }
  // Checked here, before any frame: a bad option fails the pipeline's construction.
  void new FieldOfViewTracker(options.tracker);
  const trackers = new Map<string, FieldOfViewTracker>();
  return map((frame: Frame): Frame => {
    let tracker = trackers.get(frame.streamId);
    if (tracker === undefined) {
      tracker = new FieldOfViewTracker(options.tracker);
      trackers.set(frame.streamId, tracker);
    }
    const { window, changed } = tracker.update(frame.pixels, frame.index, frame.sourceWidth, frame.sourceHeight);
    if (changed) options.onChange?.(frame.streamId, window);
    const pixels = cropToModel(frame.pixels, scaleWindow(window, frame.pixels.width, frame.pixels.height), modelWidth, modelHeight);
    return { ...frame, pixels, window };
  });
}
