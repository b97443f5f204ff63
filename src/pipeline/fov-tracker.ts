/**
 * Follows a video's field of view (src/core/field-of-view.ts). It is found on the first frame and
 * looked for again every `recheckEvery` frames, not on every frame: a layout changes when the user
 * zooms or changes depth, not from one frame to the next, and a single dark frame must not move
 * the crop. A new layout is taken once `confirmations` checks in a row agree on it.
 */
import { findModelWindow, rectIou } from '../core/field-of-view.js';
import type { FieldOfViewOptions, ModelWindow, Rect, WindowFit } from '../core/field-of-view.js';
import type { RgbImage } from '../core/image.js';
import { ErrorCode, SgusError } from '../errors.js';

export interface FieldOfViewTrackerOptions {
  /** Frames between two looks for a new layout. Default 25 (one second at 25 frames/s). */
  recheckEvery?: number;
  /** A field of view whose IoU with the current one is below this is a new layout. Default 0.9. */
  changeIou?: number;
  /** Checks in a row that must agree before the layout switches. Default 2. */
  confirmations?: number;
  /** Detector settings. Default: the detector's own. */
  detector?: FieldOfViewOptions;
  /** How the field of view fills the model's input (the model card says). Default 'letterbox'. */
  fit?: WindowFit;
}

export const FOV_TRACKER_DEFAULTS = { recheckEvery: 25, changeIou: 0.9, confirmations: 2 } as const;

export interface TrackedWindow {
  /** The model window in source pixels. */
  window: ModelWindow;
  /** True on the frame where a new layout was taken (not on the first frame). */
  changed: boolean;
}

export class FieldOfViewTracker {
  readonly #every: number;
  readonly #iou: number;
  readonly #confirm: number;
  readonly #detector: FieldOfViewOptions;
  readonly #fit: WindowFit;
  #current: ModelWindow | undefined;
  #candidate: { fov: Rect; seen: number } | undefined;
  #lastCheck = -Infinity;

  constructor(options: FieldOfViewTrackerOptions = {}) {
    const every = options.recheckEvery ?? FOV_TRACKER_DEFAULTS.recheckEvery;
    const iou = options.changeIou ?? FOV_TRACKER_DEFAULTS.changeIou;
    const confirm = options.confirmations ?? FOV_TRACKER_DEFAULTS.confirmations;
    if (!Number.isInteger(every) || every < 1) throw new SgusError(ErrorCode.InvalidArgument, `recheckEvery must be an integer >= 1, got ${String(every)}`, { where: 'field-of-view tracker' });
    if (!(iou > 0 && iou <= 1)) throw new SgusError(ErrorCode.InvalidArgument, `changeIou must be in (0, 1], got ${String(iou)}`, { where: 'field-of-view tracker' });
    if (!Number.isInteger(confirm) || confirm < 1) throw new SgusError(ErrorCode.InvalidArgument, `confirmations must be an integer >= 1, got ${String(confirm)}`, { where: 'field-of-view tracker' });
    this.#every = every;
    this.#iou = iou;
    this.#confirm = confirm;
    this.#detector = options.detector ?? {};
    this.#fit = options.fit ?? 'letterbox';
  }

  /** The current model window (source pixels), if a frame was seen. */
  get window(): ModelWindow | undefined {
    return this.#current;
  }

  /**
   * The window for frame `index`, whose pixels `img` may be a scaled copy of the
   * `sourceWidth`×`sourceHeight` source (FFmpeg's): the window is square in source pixels.
   */
  update(img: RgbImage, index: number, sourceWidth: number, sourceHeight: number): TrackedWindow {
    const cur = this.#current;
    // A size change (a new stream run, a reconnect to another resolution) starts over.
    const resized = cur !== undefined && (cur.frameWidth !== sourceWidth || cur.frameHeight !== sourceHeight);
    if (cur !== undefined && !resized && index - this.#lastCheck < this.#every && index >= this.#lastCheck) return { window: cur, changed: false };
    this.#lastCheck = index;
    const found = findModelWindow(img, sourceWidth, sourceHeight, this.#detector, this.#fit);
    const fov = found.fov;
    if (cur === undefined || resized) {
      this.#current = found;
      this.#candidate = undefined;
      return { window: this.#current, changed: false };
    }
    if (rectIou(fov, cur.fov) >= this.#iou) {
      this.#candidate = undefined;
      return { window: cur, changed: false };
    }
    const cand = this.#candidate;
    this.#candidate = cand !== undefined && rectIou(cand.fov, fov) >= this.#iou ? { fov, seen: cand.seen + 1 } : { fov, seen: 1 };
    if (this.#candidate.seen < this.#confirm) return { window: cur, changed: false };
    this.#current = found;
    this.#candidate = undefined;
    return { window: found, changed: true };
  }
}
