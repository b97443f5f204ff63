/**
 * The score stage: each segmented frame's gland scored (OMERACT and De Vita, 0–3, with class
 * probabilities) by the score model (src/score/scorer.ts), added to the FrameResult as `score`.
 * A research aid with its measured agreement, not a diagnosis.
 *
 * Which picture the features are computed on matters: the model learned them from `sgus segment`
 * on full-size frames. Where the source decodes full frames (the annotated video asks for them) the
 * stage uses those, as `sgus segment` does; otherwise the model-size pixels, whose features differ
 * from the full-size ones by the tolerance test/pipeline/score-stage.test.ts states. The mask is
 * rebuilt from the outline at that picture's size (the pipeline keeps contours, not masks).
 *
 * Its time is added to the frame's `postprocess` timing: the score is part of what a frame costs
 * after inference.
 */
import { concatMap } from 'rxjs';
import type { OperatorFunction } from 'rxjs';
import type { GreyImage, RgbImage } from '../core/image.js';
import { ContourMask } from '../score/contour-mask.js';
import type { ContourTransform } from '../score/contour-mask.js';
import type { GlandRegion } from '../score/gland-features.js';
import type { ScoreCard } from '../score/score-card.js';
import { scoreFigures } from '../score/score-record.js';
import type { GlandScore } from '../score/scorer.js';
import { ErrorCode, SgusError } from '../errors.js';
import type { Frame, FrameResult } from './frame.js';

/** What the stage needs of a scorer (GlandScorer, or a stand-in in tests). */
export interface FrameScorer {
  /** Its card, when it has one: its validation figures travel with each score (viewers show them). */
  readonly card?: ScoreCard;
  score(frame: GreyImage | RgbImage, mask: GreyImage, region?: GlandRegion): Promise<GlandScore | undefined>;
}

export interface ScoreStageOptions {
  scorer: FrameScorer;
  /** 'auto': full-size pictures when the frame has them, else the model-size pixels; 'model': always
   *  the model-size pixels. Default `SCORE_STAGE_DEFAULTS.picture`. */
  picture?: 'auto' | 'model';
  /**
   * Score one frame in `every` of each stream (the others go on unscored). One frame is a noisy
   * view of a gland and frames 40 ms apart are nearly the same view, so the exam's grade loses
   * nothing measurable, while the cost per frame is divided by `every`: the score's ~4 ms of CPU
   * on a full 1280x720 frame would break the 2 ms-per-frame budget on two cores.
   * Default `SCORE_STAGE_DEFAULTS.every`.
   */
  every?: number;
  /** Called once per failing frame; the frame goes on unscored. Default: none (silently unscored). */
  onError?: (err: unknown, result: FrameResult) => void;
}

export const SCORE_STAGE_DEFAULTS = {
  picture: 'auto',
  every: 3,
} as const;

/** The picture the features of a frame are computed on, and the contour transform onto it. */
export interface ScorePicture {
  image: GreyImage | RgbImage;
  transform: ContourTransform;
  /** True when the picture is the source's full size. */
  full: boolean;
}

/**
 * Limited-range luma (FFmpeg's yuv420p, 16–235) back to the 0–255 grey of a decoded RGB frame,
 * which is what `sgus segment` reads: the features' `abs*` values and ratios depend on the offset.
 */
const LUMA_TO_GREY = Uint8Array.from({ length: 256 }, (_, y) => Math.max(0, Math.min(255, Math.round(((y - 16) * 255) / 219))));

export function scoreStage(options: ScoreStageOptions): OperatorFunction<FrameResult, FrameResult> {
  const { scorer } = options;
  const picture = options.picture ?? SCORE_STAGE_DEFAULTS.picture;
  const every = options.every ?? SCORE_STAGE_DEFAULTS.every;
  if (!Number.isInteger(every) || every < 1) throw new SgusError(ErrorCode.InvalidArgument, `score stage: every must be an integer >= 1, got ${every}`, { where: 'score stage' });
  // Frames with a gland seen per stream since its last scored one.
  const sinceScored = new Map<string, number>();
  // One mask and one grey buffer per picture size, reused: the stage runs one frame at a time.
  const masks = new ContourMask();
  let grey: GreyImage | undefined;
  // One object for every frame: the figures do not change during a run.
  const validation = scorer.card !== undefined ? scoreFigures(scorer.card) : undefined;

  const pictureOf = (f: Frame): ScorePicture => {
    const full = picture === 'auto' ? f.full : undefined;
    if (full !== undefined) {
      const transform = { scaleX: full.width / f.sourceWidth, scaleY: full.height / f.sourceHeight };
      if (full.format === 'rgb24') return { image: { width: full.width, height: full.height, data: full.data }, transform, full: true };
      if (grey === undefined || grey.width !== full.width || grey.height !== full.height) grey = { width: full.width, height: full.height, data: new Uint8Array(full.width * full.height) };
      return { image: grey, transform, full: true };
    }
    const px = f.pixels;
    const w = f.window?.window;
    if (w !== undefined) {
      const scaleX = px.width / w.width;
      const scaleY = px.height / w.height;
      return { image: px, transform: { scaleX, scaleY, offsetX: w.x * scaleX, offsetY: w.y * scaleY }, full: false };
    }
    return { image: px, transform: { scaleX: px.width / f.sourceWidth, scaleY: px.height / f.sourceHeight }, full: false };
  };

  return concatMap(async (r: FrameResult): Promise<FrameResult> => {
    if (r.area <= 0 || r.contours.length === 0) return r;
    const id = r.frame.streamId;
    const n = sinceScored.get(id);
    if (n !== undefined && n + 1 < every) {
      sinceScored.set(id, n + 1);
      return r;
    }
    sinceScored.set(id, 0);
    const t0 = performance.now();
    try {
      const pic = pictureOf(r.frame);
      const { mask, region } = masks.fill(r.contours, pic.image.width, pic.image.height, pic.transform);
      if (region === undefined) return r;
      if (pic.image === grey && r.frame.full !== undefined) lumaToGrey(r.frame.full.data, grey, region);
      const score = await scorer.score(pic.image, mask, region);
      if (score === undefined) return r;
      return { ...r, score: validation !== undefined ? { ...score, validation } : score, timings: { ...r.timings, postprocess: r.timings.postprocess + (performance.now() - t0) } };
    } catch (err) {
      options.onError?.(err, r);
      return r;
    }
  });
}

/** Converts the luma of the gland's box and the margin the features read around it (a quarter of
 *  the box on each side, see gland-features.ts) into `into`; the rest of `into` is never read. */
function lumaToGrey(yuv: Uint8Array, into: GreyImage, r: GlandRegion): void {
  const { width, height } = into;
  const mx = Math.ceil((r.x1 - r.x0 + 1) * 0.3) + 1;
  const my = Math.ceil((r.y1 - r.y0 + 1) * 0.3) + 1;
  const x0 = Math.max(0, r.x0 - mx), x1 = Math.min(width - 1, r.x1 + mx);
  const y0 = Math.max(0, r.y0 - my), y1 = Math.min(height - 1, r.y1 + my);
  const d = into.data;
  for (let y = y0; y <= y1; y++) {
    const row = y * width;
    for (let i = row + x0, end = row + x1; i <= end; i++) d[i] = LUMA_TO_GREY[yuv[i]!]!;
  }
}
