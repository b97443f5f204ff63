/**
 * Post-processing shared by every engine: network output → class map at the input's size →
 * clean-up → contours. As the issue asks, the class *probabilities* are resized back to the input
 * size and the class is taken there, which gives smooth outlines on large frames instead of a 224²
 * staircase.
 */
import { findContours, polygonPerimeter, simplifyClosed } from '../core/contours.js';
import type { Contour } from '../core/contours.js';
import type { FloatMap, GreyImage } from '../core/image.js';
import { cleanupMask, maskArea } from '../core/mask-cleanup.js';
import { resizeThreshold } from '../core/resize.js';
import { scaleWindow } from '../core/field-of-view.js';
import type { ModelWindow } from '../core/field-of-view.js';
import { placeThreshold } from '../core/window-resample.js';
import type { Tensor } from '../engine/inference-engine.js';
import type { ModelCard } from './model-card.js';

export interface PostprocessOptions {
  /** Gland probability threshold. Default `POSTPROCESS_DEFAULTS.threshold` (0.5 = argmax for two classes). */
  threshold?: number;
  /** Specks smaller than this fraction of the image are dropped. Default 0.002. */
  minComponentFraction?: number;
  /** Holes smaller than this fraction of the image are filled. Default 0.002. */
  maxHoleFraction?: number;
  /** Douglas–Peucker tolerance in pixels for contour points; 0 keeps every boundary pixel. Default 0. */
  simplify?: number;
  /**
   * Keep only the largest gland region and fill its holes (one gland per frame). Default: what the
   * model card says (`output.singleRegion`, set when the model was validated that way), else false.
   */
  singleRegion?: boolean;
}

/** The post-processing a model was validated with, overridden by the caller's options. */
/** The one home of these defaults: the stages and the command line's `--help` read them here. */
export const POSTPROCESS_DEFAULTS = {
  threshold: 0.5,
} as const;

export function postprocessDefaults(card: ModelCard, options: PostprocessOptions = {}): PostprocessOptions {
  return { ...(card.output.singleRegion === true ? { singleRegion: true } : {}), ...options };
}

export interface Segmentation {
  width: number;
  height: number;
  /** 0 background, 1 gland, at the input's size. */
  classMap: GreyImage;
  /** Every border (outer and holes) in input pixel coordinates. */
  contours: Contour[];
  /** Gland area in pixels. */
  area: number;
  /** Total length of the outer borders in pixels. */
  perimeter: number;
  /** What the model saw (field of view and window) in these pixels, when the card asks for it. */
  window?: ModelWindow;
}

/** Gland probability map of sample `index` at the model's output resolution. */
export function glandProbability(card: ModelCard, out: Tensor, index: number): FloatMap {
  const dims = out.dims;
  const kind = card.output.kind;
  if (kind === 'classes') {
    // [N,H,W] or [N,H,W,1]: class indices. Probability 1 where the class is the gland.
    const h = dims[1]!;
    const w = dims[2]!;
    const plane = h * w;
    const data = new Float32Array(plane);
    const o = index * plane;
    for (let p = 0; p < plane; p++) data[p] = out.data[o + p] === 1 ? 1 : 0;
    return { width: w, height: h, data };
  }
  const nhwc = card.output.layout === 'NHWC';
  const c = nhwc ? dims[3]! : dims[1]!;
  const h = nhwc ? dims[1]! : dims[2]!;
  const w = nhwc ? dims[2]! : dims[3]!;
  const plane = h * w;
  const data = new Float32Array(plane);
  const base = index * plane * c;
  const at = (ch: number, p: number): number => out.data[nhwc ? base + p * c + ch : base + ch * plane + p]!;
  if (c === 1) {
    for (let p = 0; p < plane; p++) data[p] = kind === 'logits' ? 1 / (1 + Math.exp(-at(0, p))) : at(0, p);
  } else if (kind === 'logits') {
    // Softmax over classes, gland = class 1. For two classes this is sigmoid(l1 - l0).
    for (let p = 0; p < plane; p++) {
      let max = -Infinity;
      for (let k = 0; k < c; k++) max = Math.max(max, at(k, p));
      let sum = 0;
      for (let k = 0; k < c; k++) sum += Math.exp(at(k, p) - max);
      data[p] = Math.exp(at(1, p) - max) / sum;
    }
  } else {
    for (let p = 0; p < plane; p++) data[p] = at(1, p);
  }
  return { width: w, height: h, data };
}

/**
 * Specks and holes are found on the thresholded map at the model's resolution (50 k pixels rather
 * than a million at 1280×720) and folded back into the probabilities: a removed speck is set just
 * under the threshold, a filled hole just over. The fractions are of the image area, so the
 * result does not depend on where the clean-up runs.
 */
export function cleanProbabilities(prob: FloatMap, options: PostprocessOptions = {}): FloatMap {
  const thr = options.threshold ?? POSTPROCESS_DEFAULTS.threshold;
  const n = prob.width * prob.height;
  const raw = new Uint8Array(n);
  for (let i = 0; i < n; i++) raw[i] = prob.data[i]! > thr ? 1 : 0;
  const clean = cleanupMask(
    { width: prob.width, height: prob.height, data: raw },
    {
      minComponentArea: Math.round((options.minComponentFraction ?? 0.002) * n),
      maxHoleArea: Math.round((options.maxHoleFraction ?? 0.002) * n),
      largestOnly: options.singleRegion ?? false,
    },
  );
  const out = new Float32Array(n);
  const eps = 1e-4;
  for (let i = 0; i < n; i++) {
    const v = prob.data[i]!;
    out[i] = clean.data[i] !== 0 ? (v > thr ? v : thr + eps) : v > thr ? thr - eps : v;
  }
  return { width: prob.width, height: prob.height, data: out };
}

/**
 * From a probability map (model resolution) to the full segmentation at `width`×`height`. With a
 * model window (of the same frame at any size) the map covers the window: it is placed there, and
 * nothing outside the field of view is gland.
 */
export function postprocess(prob: FloatMap, width: number, height: number, options: PostprocessOptions = {}, window?: ModelWindow): Segmentation {
  const threshold = options.threshold ?? POSTPROCESS_DEFAULTS.threshold;
  const clean = cleanProbabilities(prob, options);
  const placed = window !== undefined ? scaleWindow(window, width, height) : undefined;
  const classMap = placed !== undefined ? placeThreshold(clean, placed, threshold) : resizeThreshold(clean, width, height, threshold);
  let contours = findContours(classMap);
  if ((options.simplify ?? 0) > 0) contours = contours.map((c) => ({ ...c, points: simplifyClosed(c.points, options.simplify!) }));
  const perimeter = contours.filter((c) => !c.hole).reduce((s, c) => s + polygonPerimeter(c.points), 0);
  return { width, height, classMap, contours, area: maskArea(classMap), perimeter, ...(placed !== undefined ? { window: placed } : {}) };
}
