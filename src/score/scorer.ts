/**
 * `GlandScorer`: the gland's ultrasound score (OMERACT and De Vita, 0–3) of one frame from its
 * pixels and gland mask — features (src/score/gland-features.ts) → the score model (ONNX, through
 * the project's engine) → a grade and class probabilities per score. One call a frame, no state
 * between frames, so a pipeline stage can call it per frame as `sgus segment` does.
 * A research aid with its measured agreement (the card's validation), not a diagnosis.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { GreyImage, RgbImage } from '../core/image.js';
import { createEngine } from '../engine/engine-factory.js';
import type { InferenceEngine } from '../engine/inference-engine.js';
import { ErrorCode, SgusError } from '../errors.js';
import { MODELS_DIR } from '../segmenter/model-registry.js';
import { GLAND_FEATURE_COUNT, glandFeatures } from './gland-features.js';
import type { GlandRegion } from './gland-features.js';
import { RESEARCH_LABEL, SCORE_KEYS, loadScoreCard } from './score-card.js';
import type { ScoreCard, ScoreKey } from './score-card.js';

/** The folder of the shipped score model under `models/`. */
export const SCORE_MODEL_NAME = 'sgus-score';

export interface GlandScorerOptions {
  /** Score model folder or card.json. Default: `<modelsDir>/sgus-score`. */
  model?: string;
  /** Where named models live. Default: the package's `models/` (or `$SGUS_MODELS_DIR`). */
  modelsDir?: string;
  /** ONNX Runtime intra-op threads. Default: 1 (the graph is one matrix product; more threads only cost). */
  threads?: number;
}

export interface Grade {
  /** 0–3, by the card's decision rule (argmax, or the expected grade rounded). */
  grade: number;
  /** The probability of `grade` (the largest probability where the card's rule is argmax). */
  confidence: number;
  /** One per class 0–3, summing to 1. */
  probabilities: number[];
}

export interface GlandScore {
  omeract: Grade;
  deVita: Grade;
  label: typeof RESEARCH_LABEL;
}

/** Where the score model would be for these options. */
export function scoreModelPath(options: GlandScorerOptions = {}): string {
  return options.model ?? path.join(options.modelsDir ?? MODELS_DIR, SCORE_MODEL_NAME);
}

export class GlandScorer {
  readonly card: ScoreCard;
  readonly modelPath: string;
  #engine: InferenceEngine | undefined;

  private constructor(card: ScoreCard, modelPath: string, engine: InferenceEngine) {
    this.card = card;
    this.modelPath = modelPath;
    this.#engine = engine;
  }

  static async create(options: GlandScorerOptions = {}): Promise<GlandScorer> {
    const threads = options.threads ?? 1;
    if (!Number.isInteger(threads) || threads < 0) throw new SgusError(ErrorCode.InvalidArgument, `threads must be a non-negative integer, got ${threads}`);
    const loaded = await loadScoreCard(scoreModelPath(options));
    const engine = await createEngine(loaded.modelPath, { engine: 'onnxruntime', device: 'cpu', threads });
    const missing = [loaded.card.input.name].filter((n) => !engine.inputNames.includes(n))
      .concat(SCORE_KEYS.map((k) => loaded.card.outputs[k].name).filter((n) => !engine.outputNames.includes(n)));
    if (missing.length > 0) {
      await engine.dispose();
      throw new SgusError(ErrorCode.ModelInvalid, `the card names ${missing.join(', ')}, which the model lacks`, { where: loaded.modelPath });
    }
    return new GlandScorer(loaded.card, loaded.modelPath, engine);
  }

  /** The scorer of the shipped model, or undefined where no score model is installed (the caller
   *  notes it once and goes on without scores). A card that is there but broken still throws. */
  static async createIfPresent(options: GlandScorerOptions = {}): Promise<GlandScorer | undefined> {
    const p = scoreModelPath(options);
    if (!existsSync(p.endsWith('.json') ? p : path.join(p, 'card.json'))) return undefined;
    return GlandScorer.create(options);
  }

  /** The score of the gland in `mask` (non-zero = gland) of `frame` (grey or RGB); undefined where
   *  the mask is empty. `region` (box and area of the mask, e.g. from the segmentation's contours)
   *  spares a scan of the whole mask. */
  async score(frame: GreyImage | RgbImage, mask: GreyImage, region?: GlandRegion): Promise<GlandScore | undefined> {
    if (region === undefined ? !mask.data.some((v) => v !== 0) : region.area <= 0) return undefined;
    const [s] = await this.scoreFeatures([glandFeatures(frame, mask, region)]);
    return s;
  }

  /** Scores of feature vectors (src/score/gland-features.ts) in one engine call a score. */
  async scoreFeatures(features: readonly Float32Array[]): Promise<GlandScore[]> {
    const engine = this.#engine;
    if (engine === undefined) throw new SgusError(ErrorCode.EngineFailure, 'scorer is closed', { where: this.modelPath });
    if (features.length === 0) return [];
    const n = features.length;
    const data = new Float32Array(n * GLAND_FEATURE_COUNT);
    features.forEach((f, k) => {
      if (f.length !== GLAND_FEATURE_COUNT) throw new SgusError(ErrorCode.InvalidArgument, `feature vector ${k} has ${f.length} values, the model reads ${GLAND_FEATURE_COUNT}`);
      data.set(f, k * GLAND_FEATURE_COUNT);
    });
    const feeds = { [this.card.input.name]: { data, dims: [n, GLAND_FEATURE_COUNT] } };
    const grades = {} as Record<ScoreKey, Grade[]>;
    for (const key of SCORE_KEYS) {
      const out = this.card.outputs[key];
      const t = await engine.run(feeds, out.name);
      const c = t.dims[1] ?? 0;
      if (t.dims.length !== 2 || t.dims[0] !== n || c !== this.card.classes.length) {
        throw new SgusError(ErrorCode.ModelInvalid, `output '${out.name}' has shape [${t.dims.join(',')}], [${n},${this.card.classes.length}] expected`, { where: this.modelPath });
      }
      grades[key] = [];
      for (let k = 0; k < n; k++) grades[key].push(toGrade(Array.from(t.data.subarray(k * c, (k + 1) * c)), out.decision));
    }
    return Array.from({ length: n }, (_, k) => ({ omeract: grades.omeract[k]!, deVita: grades.deVita[k]!, label: RESEARCH_LABEL }));
  }

  /** Frees the engine. Safe to call twice. */
  async close(): Promise<void> {
    const e = this.#engine;
    this.#engine = undefined;
    if (e !== undefined) await e.dispose();
  }
}

/** A grade from class probabilities by the card's rule. */
export function toGrade(probabilities: number[], decision: 'argmax' | 'expected'): Grade {
  const sum = probabilities.reduce((a, b) => a + b, 0);
  const p = sum > 0 ? probabilities.map((v) => v / sum) : probabilities;
  let arg = 0;
  for (let k = 1; k < p.length; k++) if (p[k]! > p[arg]!) arg = k;
  const grade = decision === 'argmax' ? arg : Math.min(p.length - 1, Math.max(0, Math.round(p.reduce((a, v, k) => a + v * k, 0))));
  return { grade, confidence: p[grade]!, probabilities: p };
}
