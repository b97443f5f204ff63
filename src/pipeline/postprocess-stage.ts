/**
 * Post-processing: probability map → contours and area in *source* pixels. Optional temporal
 * smoothing per stream (EMA of the probability map, which steadies the outline between frames).
 *
 * The mask is built by the Segmenter's own post-processing (src/segmenter/postprocess.ts: clean-up
 * at model size, fused resize-and-threshold), at a reduced working size by default (long side
 * `maxWorkingSize`), and the contour points are scaled to the source: tracing a 1280×720 mask costs
 * more than the outline gains. Set it to 0 for the exact full-size result of `Segmenter.segment()`.
 */
import { map } from 'rxjs';
import type { OperatorFunction } from 'rxjs';
import type { Contour } from '../core/contours.js';
import type { FloatMap } from '../core/image.js';
import { ErrorCode, SgusError } from '../errors.js';
import { postprocess } from '../segmenter/postprocess.js';
import type { PostprocessOptions } from '../segmenter/postprocess.js';
import type { FrameResult } from './frame.js';
import type { Inferred } from './stage-types.js';
import { nowTs } from './stage-types.js';

export interface PostprocessStageOptions extends PostprocessOptions {
  /** Long side of the size the mask and contours are computed at, then scaled; 0 = source size. Default `POSTPROCESS_STAGE_DEFAULTS.maxWorkingSize`. */
  maxWorkingSize?: number;
  /** Temporal smoothing: 'none' or 'ema' (exponential moving average of the probability map). Default `POSTPROCESS_STAGE_DEFAULTS.smoothing`. */
  smoothing?: 'none' | 'ema';
  /** EMA weight of the newest frame, in (0, 1]. Default `POSTPROCESS_STAGE_DEFAULTS.emaAlpha`. */
  emaAlpha?: number;
}

/** The one home of these defaults: the command line's `--help` reads them here. */
export const POSTPROCESS_STAGE_DEFAULTS = {
  maxWorkingSize: 640,
  smoothing: 'none',
  emaAlpha: 0.6,
} as const;

/** Working size for a source: the source itself, or scaled so its long side is `max`. */
export function workingSize(w: number, h: number, max: number): { width: number; height: number } {
  if (max <= 0 || Math.max(w, h) <= max) return { width: w, height: h };
  const s = max / Math.max(w, h);
  return { width: Math.max(1, Math.round(w * s)), height: Math.max(1, Math.round(h * s)) };
}

export function postprocessStage(options: PostprocessStageOptions = {}): OperatorFunction<Inferred, FrameResult> {
  const d = POSTPROCESS_STAGE_DEFAULTS;
  const maxWorking = options.maxWorkingSize ?? d.maxWorkingSize;
  const smoothing = options.smoothing ?? d.smoothing;
  const alpha = options.emaAlpha ?? d.emaAlpha;
  if (!Number.isInteger(maxWorking) || maxWorking < 0) throw new SgusError(ErrorCode.InvalidArgument, `maxWorkingSize must be an integer >= 0, got ${String(maxWorking)}`, { where: 'postprocess stage' });
  if (smoothing !== 'none' && smoothing !== 'ema') throw new SgusError(ErrorCode.InvalidArgument, `smoothing must be none or ema, got '${String(smoothing)}'`, { where: 'postprocess stage' });
  if (!(alpha > 0 && alpha <= 1)) throw new SgusError(ErrorCode.InvalidArgument, `emaAlpha must be in (0, 1], got ${String(alpha)}`, { where: 'postprocess stage' });
  const post: PostprocessOptions = {};
  if (options.threshold !== undefined) post.threshold = options.threshold;
  if (options.minComponentFraction !== undefined) post.minComponentFraction = options.minComponentFraction;
  if (options.maxHoleFraction !== undefined) post.maxHoleFraction = options.maxHoleFraction;
  if (options.simplify !== undefined) post.simplify = options.simplify;
  if (options.singleRegion !== undefined) post.singleRegion = options.singleRegion;
  // Per-stream EMA state, one small map (model output size) per stream.
  const ema = new Map<string, { index: number; map: FloatMap; window: unknown }>();

  const smooth = (it: Inferred): FloatMap => {
    if (smoothing === 'none') return it.probability;
    const p = it.probability;
    const prev = ema.get(it.frame.streamId);
    // A gap (dropped frames, reconnect), a size change or a new field of view (the map no longer
    // covers the same pixels) restarts the average.
    if (prev === undefined || prev.map.data.length !== p.data.length || it.frame.index - prev.index > 5 || prev.window !== it.frame.window) {
      const copy = { width: p.width, height: p.height, data: Float32Array.from(p.data) };
      ema.set(it.frame.streamId, { index: it.frame.index, map: copy, window: it.frame.window });
      return copy;
    }
    const d = prev.map.data;
    for (let i = 0; i < d.length; i++) d[i] = alpha * p.data[i]! + (1 - alpha) * d[i]!;
    prev.index = it.frame.index;
    return prev.map;
  };

  return map((it: Inferred): FrameResult => {
    const t0 = performance.now();
    const f = it.frame;
    const work = workingSize(f.sourceWidth, f.sourceHeight, maxWorking);
    const seg = postprocess(smooth(it), work.width, work.height, post, f.window);
    let contours: Contour[] = seg.contours;
    let area = seg.area;
    if (work.width !== f.sourceWidth || work.height !== f.sourceHeight) {
      // Pixel centres map as (x + 0.5) * s - 0.5, so outlines stay centred on the source pixels.
      const sx = f.sourceWidth / work.width;
      const sy = f.sourceHeight / work.height;
      contours = contours.map((c) => ({ ...c, points: c.points.map(([x, y]) => [round2((x + 0.5) * sx - 0.5), round2((y + 0.5) * sy - 0.5)]) }));
      area = Math.round(area * sx * sy);
    }
    const doneTs = nowTs();
    const decodedTs = f.decodedTs ?? f.captureTs;
    return {
      frame: f,
      contours,
      area,
      batchSize: it.batchSize,
      timings: {
        decode: decodedTs - f.captureTs,
        queue: Math.max(0, it.formedTs - decodedTs),
        inference: it.inferenceMs,
        postprocess: performance.now() - t0,
        send: 0,
      },
      doneTs,
    };
  });
}

function round2(v: number): number {
  return Math.round(v * 100) / 100;
}
