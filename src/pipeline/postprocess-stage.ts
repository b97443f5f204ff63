/**
 * Post-processing: probability map → contours and area in *source* pixels. Optional temporal
 * smoothing per stream (EMA of the probability map, which steadies the outline between frames).
 *
 * Resizing the probabilities to 1280×720 and tracing there costs ~140 ms per frame on one core,
 * far over a 40 ms frame budget, so by default the mask is built at a reduced working size (long
 * side `maxWorkingSize`) and the contour points are scaled to the source. Set it to 0 for the exact
 * full-size result of `Segmenter.segment()`.
 */
import { map } from 'rxjs';
import type { OperatorFunction } from 'rxjs';
import { findContours, simplifyClosed } from '../core/contours.js';
import type { Contour } from '../core/contours.js';
import type { FloatMap, GreyImage } from '../core/image.js';
import { cleanupMask, maskArea } from '../core/mask-cleanup.js';
import { ErrorCode, SgusError } from '../errors.js';
import { postprocess } from '../segmenter/postprocess.js';
import type { PostprocessOptions } from '../segmenter/postprocess.js';
import type { FrameResult } from './frame.js';
import type { Inferred } from './stage-types.js';
import { nowTs } from './stage-types.js';

export interface PostprocessStageOptions extends PostprocessOptions {
  /** Long side of the size the mask and contours are computed at, then scaled; 0 = source size. Default 640. */
  maxWorkingSize?: number;
  /** Temporal smoothing: 'none' or 'ema' (exponential moving average of the probability map). Default 'none'. */
  smoothing?: 'none' | 'ema';
  /** EMA weight of the newest frame, in (0, 1]. Default 0.6. */
  emaAlpha?: number;
  /**
   * Where specks are removed and holes filled: 'model' cleans the mask at the model's output size
   * and folds the result back into the probabilities before they are upsampled (4-6x faster at
   * 640x360, same outlines where no speck touches the gland); 'working' runs the Segmenter's own
   * post-processing at the working size. Default 'model'.
   */
  cleanupAt?: 'model' | 'working';
}

/** Working size for a source: the source itself, or scaled so its long side is `max`. */
export function workingSize(w: number, h: number, max: number): { width: number; height: number } {
  if (max <= 0 || Math.max(w, h) <= max) return { width: w, height: h };
  const s = max / Math.max(w, h);
  return { width: Math.max(1, Math.round(w * s)), height: Math.max(1, Math.round(h * s)) };
}

export function postprocessStage(options: PostprocessStageOptions = {}): OperatorFunction<Inferred, FrameResult> {
  const maxWorking = options.maxWorkingSize ?? 640;
  const smoothing = options.smoothing ?? 'none';
  const cleanupAt = options.cleanupAt ?? 'model';
  if (cleanupAt !== 'model' && cleanupAt !== 'working') throw new SgusError(ErrorCode.InvalidArgument, `cleanupAt must be model or working, got '${String(cleanupAt)}'`, { where: 'postprocess stage' });
  const alpha = options.emaAlpha ?? 0.6;
  if (!Number.isInteger(maxWorking) || maxWorking < 0) throw new SgusError(ErrorCode.InvalidArgument, `maxWorkingSize must be an integer >= 0, got ${String(maxWorking)}`, { where: 'postprocess stage' });
  if (smoothing !== 'none' && smoothing !== 'ema') throw new SgusError(ErrorCode.InvalidArgument, `smoothing must be none or ema, got '${String(smoothing)}'`, { where: 'postprocess stage' });
  if (!(alpha > 0 && alpha <= 1)) throw new SgusError(ErrorCode.InvalidArgument, `emaAlpha must be in (0, 1], got ${String(alpha)}`, { where: 'postprocess stage' });
  const post: PostprocessOptions = {};
  if (options.threshold !== undefined) post.threshold = options.threshold;
  if (options.minComponentFraction !== undefined) post.minComponentFraction = options.minComponentFraction;
  if (options.maxHoleFraction !== undefined) post.maxHoleFraction = options.maxHoleFraction;
  if (options.simplify !== undefined) post.simplify = options.simplify;
  const scratch: Scratch = {};
  // Per-stream EMA state, one small map (model output size) per stream.
  const ema = new Map<string, { index: number; map: FloatMap }>();

  const smooth = (it: Inferred): FloatMap => {
    if (smoothing === 'none') return it.probability;
    const p = it.probability;
    const prev = ema.get(it.frame.streamId);
    // A gap (dropped frames, reconnect) or a size change restarts the average.
    if (prev === undefined || prev.map.data.length !== p.data.length || it.frame.index - prev.index > 5) {
      const copy = { width: p.width, height: p.height, data: Float32Array.from(p.data) };
      ema.set(it.frame.streamId, { index: it.frame.index, map: copy });
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
    const seg = cleanupAt === 'working' ? postprocess(smooth(it), work.width, work.height, post) : fastSegmentation(smooth(it), work.width, work.height, post, scratch);
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

/**
 * Clean-up at the model's output size, folded back into the probabilities (a removed speck is set
 * just under the threshold, a filled hole just over), then one fused bilinear-resize-and-threshold
 * pass at the working size (no float map of the working size is allocated) and the contour trace.
 */
export function fastSegmentation(prob: FloatMap, width: number, height: number, options: PostprocessOptions = {}, scratch?: Scratch): { contours: Contour[]; area: number; mask: GreyImage } {
  const thr = options.threshold ?? 0.5;
  const n = prob.width * prob.height;
  const raw = scratchOf(scratch, 'raw', n, Uint8Array);
  for (let i = 0; i < n; i++) raw[i] = prob.data[i]! > thr ? 1 : 0;
  const clean = cleanupMask(
    { width: prob.width, height: prob.height, data: raw },
    { minComponentArea: Math.round((options.minComponentFraction ?? 0.002) * n), maxHoleArea: Math.round((options.maxHoleFraction ?? 0.002) * n) },
  );
  const p = scratchOf(scratch, 'p', n, Float32Array);
  const eps = 1e-4;
  for (let i = 0; i < n; i++) {
    const v = prob.data[i]!;
    p[i] = clean.data[i] !== 0 ? (v > thr ? v : thr + eps) : v > thr ? thr - eps : v;
  }
  const mask = resizeThreshold({ width: prob.width, height: prob.height, data: p }, width, height, thr, scratchOf(scratch, 'mask', width * height, Uint8Array));
  let contours = findContours(mask);
  if ((options.simplify ?? 0) > 0) contours = contours.map((c) => ({ ...c, points: simplifyClosed(c.points, options.simplify!) }));
  return { contours, area: maskArea(mask), mask };
}

/**
 * Work arrays reused from frame to frame (one set per stage): fresh ones per frame were ~0.5 MB of
 * garbage per frame. With a scratch, the returned mask is only valid until the next call.
 */
export interface Scratch {
  raw?: Uint8Array;
  p?: Float32Array;
  mask?: Uint8Array;
}

function scratchOf<K extends keyof Scratch>(scratch: Scratch | undefined, key: K, n: number, ctor: new (n: number) => NonNullable<Scratch[K]>): NonNullable<Scratch[K]> {
  if (scratch === undefined) return new ctor(n);
  const have = scratch[key];
  if (have !== undefined && have.length === n) return have as NonNullable<Scratch[K]>;
  const made = new ctor(n);
  scratch[key] = made;
  return made;
}

/** Bilinear resize (pixel-centre aligned, as src/core/resize.ts) fused with `> threshold`. */
function resizeThreshold(src: FloatMap, dstW: number, dstH: number, thr: number, out: Uint8Array): GreyImage {
  const tx = taps(src.width, dstW);
  const ty = taps(src.height, dstH);
  const sw = src.width;
  const d = src.data;
  for (let y = 0; y < dstH; y++) {
    const r0 = ty.i0[y]! * sw;
    const r1 = ty.i1[y]! * sw;
    const wy = ty.w[y]!;
    const o = y * dstW;
    for (let x = 0; x < dstW; x++) {
      const c0 = tx.i0[x]!;
      const c1 = tx.i1[x]!;
      const wx = tx.w[x]!;
      const top = d[r0 + c0]! + (d[r0 + c1]! - d[r0 + c0]!) * wx;
      const bot = d[r1 + c0]! + (d[r1 + c1]! - d[r1 + c0]!) * wx;
      out[o + x] = top + (bot - top) * wy > thr ? 1 : 0;
    }
  }
  return { width: dstW, height: dstH, data: out };
}

const tapCache = new Map<string, { i0: Int32Array; i1: Int32Array; w: Float32Array }>();
function taps(srcSize: number, dstSize: number): { i0: Int32Array; i1: Int32Array; w: Float32Array } {
  const key = `${srcSize}>${dstSize}`;
  const hit = tapCache.get(key);
  if (hit !== undefined) return hit;
  const i0 = new Int32Array(dstSize);
  const i1 = new Int32Array(dstSize);
  const w = new Float32Array(dstSize);
  const scale = srcSize / dstSize;
  for (let k = 0; k < dstSize; k++) {
    let s = (k + 0.5) * scale - 0.5;
    if (s < 0) s = 0;
    const f = Math.floor(s);
    const a = Math.min(f, srcSize - 1);
    i0[k] = a;
    i1[k] = Math.min(a + 1, srcSize - 1);
    w[k] = s - f;
  }
  const t = { i0, i1, w };
  // A handful of source/working size pairs per process; bounded anyway.
  if (tapCache.size > 64) tapCache.clear();
  tapCache.set(key, t);
  return t;
}
