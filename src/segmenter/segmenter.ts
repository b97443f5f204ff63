/**
 * The `Segmenter` (after tfjs-models): one interface in front of every model and engine.
 * pre-process (shared) → engine (ONNX Runtime, TF.js…) → post-process (shared).
 */
import { findModelWindow, scaleWindow } from '../core/field-of-view.js';
import type { FloatMap, RgbImage } from '../core/image.js';
import { cropToModel } from '../core/window-resample.js';
import { ErrorCode, SgusError } from '../errors.js';
import { createEngine } from '../engine/engine-factory.js';
import type { EngineInfo, EngineOptions, InferenceEngine, Tensor } from '../engine/inference-engine.js';
import type { LoadedCard, ModelCard } from './model-card.js';
import { resolveModel } from './model-registry.js';
import { glandProbability, postprocess, postprocessDefaults } from './postprocess.js';
import type { PostprocessOptions, Segmentation } from './postprocess.js';
import { preprocessBatch } from './preprocess.js';

export type { Segmentation } from './postprocess.js';

export interface SegmenterOptions extends EngineOptions, PostprocessOptions {
  /** Model name under `models/`, or a folder / card / .onnx path. Default: the default model. */
  model?: string;
  /** Where named models live. Default: the package's `models/` (or `$SGUS_MODELS_DIR`). */
  modelsDir?: string;
}

/** Output size for a frame whose pixels were already scaled (e.g. by FFmpeg) before inference. */
export interface TargetSize {
  width: number;
  height: number;
}

export interface Segmenter {
  readonly card: ModelCard;
  readonly modelPath: string;
  readonly engineInfo: EngineInfo;
  /** Segments one frame; results in the input's pixel coordinates (or `target`'s). */
  segment(image: RgbImage, target?: TargetSize): Promise<Segmentation>;
  /** Segments a batch in one engine call. */
  segmentBatch(images: readonly RgbImage[], targets?: readonly (TargetSize | undefined)[]): Promise<Segmentation[]>;
  /** The gland probability maps at the model's output resolution (no post-processing) of the
   *  images as given: no field of view is looked for (the caller crops, as the pipeline does). */
  probabilities(images: readonly RgbImage[]): Promise<FloatMap[]>;
  /** Frees the engine. Safe to call twice. */
  close(): Promise<void>;
}

class ModelSegmenter implements Segmenter {
  readonly card: ModelCard;
  readonly modelPath: string;
  readonly engineInfo: EngineInfo;
  #engine: InferenceEngine | undefined;
  #post: PostprocessOptions;
  #constantFeeds: Record<string, Tensor>;

  constructor(loaded: LoadedCard, engine: InferenceEngine, post: PostprocessOptions) {
    this.card = loaded.card;
    this.modelPath = loaded.modelPath;
    this.engineInfo = engine.info;
    this.#engine = engine;
    this.#post = post;
    this.#constantFeeds = {};
    for (const [name, t] of Object.entries(loaded.card.constantFeeds ?? {})) {
      this.#constantFeeds[name] = { data: Float32Array.from(t.data), dims: t.dims };
    }
  }

  async probabilities(images: readonly RgbImage[]): Promise<FloatMap[]> {
    const engine = this.#engine;
    if (engine === undefined) throw new SgusError(ErrorCode.EngineFailure, 'segmenter is closed', { where: this.modelPath });
    if (images.length === 0) return [];
    // Models fixed to a batch size (e.g. imported graphs of batch 1) get the frames in chunks.
    const chunk = this.card.input.maxBatch ?? images.length;
    const maps: FloatMap[] = [];
    for (let i = 0; i < images.length; i += chunk) {
      const part = images.slice(i, i + chunk);
      const input = preprocessBatch(this.card, part);
      const out = await engine.run({ ...this.#constantFeeds, [this.card.input.name]: input }, this.card.output.name);
      for (let k = 0; k < part.length; k++) maps.push(glandProbability(this.card, out, k));
    }
    return maps;
  }

  async segmentBatch(images: readonly RgbImage[], targets?: readonly (TargetSize | undefined)[]): Promise<Segmentation[]> {
    // A model trained on model windows sees each frame's own field of view (one frame, one look:
    // still images have no history; the pipeline follows it over a video, src/pipeline/fov-stage.ts).
    const size = (k: number): TargetSize => targets?.[k] ?? images[k]!;
    const windows = this.card.input.fieldOfView === true ? images.map((img, k) => findModelWindow(img, size(k).width, size(k).height, {}, this.card.input.fieldOfViewFit)) : undefined;
    const { width: mw, height: mh } = this.card.input;
    const views = windows !== undefined ? images.map((img, k) => cropToModel(img, scaleWindow(windows[k]!, img.width, img.height), mw, mh)) : images;
    const probs = await this.probabilities(views);
    return probs.map((p, k) => postprocess(p, size(k).width, size(k).height, this.#post, windows?.[k]));
  }

  async segment(image: RgbImage, target?: TargetSize): Promise<Segmentation> {
    const [s] = await this.segmentBatch([image], [target]);
    return s!;
  }

  async close(): Promise<void> {
    const e = this.#engine;
    this.#engine = undefined;
    if (e !== undefined) await e.dispose();
  }
}

/** The factory in front of every model. */
export async function createSegmenter(options: SegmenterOptions = {}): Promise<Segmenter> {
  const loaded = await resolveModel(options.model, options.modelsDir);
  const engine = await createEngine(loaded.modelPath, options);
  const names = engine.inputNames;
  if (!names.includes(loaded.card.input.name)) {
    await engine.dispose();
    throw new SgusError(ErrorCode.ModelInvalid, `card says input '${loaded.card.input.name}' but the model has ${names.join(', ')}`, { where: loaded.cardPath });
  }
  return new ModelSegmenter(loaded, engine, postprocessDefaults(loaded.card, options));
}
