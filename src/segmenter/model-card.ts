/**
 * Model cards: the JSON next to every model that says how to feed it and what it achieved.
 * Schema documented in DEVELOPERS.md. Cards are validated on load so that a wrong card fails with a
 * message naming the field, not with garbage segmentations.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ErrorCode, SgusError, describeError } from '../errors.js';

export interface Normalization {
  /** Multiplies the 0–255 pixel value first. */
  scale: number;
  /** Per channel, subtracted after scaling. */
  mean: [number, number, number];
  /** Per channel, divides after subtracting the mean. */
  std: [number, number, number];
}

export type OutputKind = 'logits' | 'probabilities' | 'classes';

export interface ModelCard {
  schema: number;
  name: string;
  architecture: string;
  variant?: string;
  file: string;
  format: 'onnx';
  input: {
    name: string;
    width: number;
    height: number;
    channels: 3;
    channelOrder: 'RGB' | 'BGR';
    layout: 'NCHW' | 'NHWC';
    dtype: 'float32';
    normalization: Normalization;
    /**
     * Replace coloured pixels (calipers, drawn outlines) by the grey around them after resizing to
     * the model input, as the model was trained (src/core/colour-overlay.ts). Default false.
     */
    suppressColourOverlay?: boolean;
    /**
     * The model sees the frame's model window, not the whole frame: the field of view (the
     * ultrasound image inside the scanner's screen) at its own aspect ratio, in the square that
     * holds it, black around it (src/core/field-of-view.ts), as it was trained. Default false.
     */
    fieldOfView?: boolean;
    /** How the field of view fills the input: 'letterbox' (aspect kept) or 'stretch'. Default 'letterbox'. */
    fieldOfViewFit?: 'letterbox' | 'stretch';
    /** Most frames per engine call (a graph fixed to batch 1 says 1). Default: unlimited. */
    maxBatch?: number;
  };
  output: {
    name: string;
    kind: OutputKind;
    classes: string[];
    /** For 'classes' outputs laid out NHWC or with extra feeds (imported graphs). */
    layout?: 'NCHW' | 'NHWC';
    /**
     * The model was validated keeping only its largest region (holes filled): the runtime does the
     * same unless told otherwise. Default false.
     */
    singleRegion?: boolean;
  };
  /** Extra constant feeds (e.g. an imported TF graph's keep-probability). */
  constantFeeds?: Record<string, { dims: number[]; data: number[] }>;
  parameters?: number;
  flopsPerFrame?: number;
  training?: Record<string, unknown>;
  validation?: Record<string, unknown> & { iou?: number; dice?: number };
  speed?: (Record<string, unknown> & { msPerFrameBatch1?: number; msPerFrameBatch8?: number }) | null;
  default?: boolean;
}

export interface LoadedCard {
  card: ModelCard;
  /** Absolute path of the card. */
  cardPath: string;
  /** Absolute path of the model file. */
  modelPath: string;
}

function fail(where: string, msg: string): never {
  throw new SgusError(ErrorCode.ModelInvalid, msg, { where });
}

function num(where: string, field: string, v: unknown, min = -Infinity): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min) fail(where, `card field '${field}' must be a number${min > -Infinity ? ` >= ${min}` : ''}`);
  return v;
}

function bool(where: string, field: string, v: unknown): boolean {
  if (typeof v !== 'boolean') fail(where, `card field '${field}' must be true or false`);
  return v;
}

function fitOf(where: string, v: unknown): 'letterbox' | 'stretch' {
  if (v !== 'letterbox' && v !== 'stretch') fail(where, "card field 'input.fieldOfViewFit' must be 'letterbox' or 'stretch'");
  return v;
}

function triple(where: string, field: string, v: unknown): [number, number, number] {
  if (!Array.isArray(v) || v.length !== 3) fail(where, `card field '${field}' must be an array of 3 numbers`);
  return [num(where, field, v[0]), num(where, field, v[1]), num(where, field, v[2])];
}

/** Checks a parsed card and fills defaults. */
export function validateCard(raw: unknown, where: string): ModelCard {
  if (typeof raw !== 'object' || raw === null) fail(where, 'card is not a JSON object');
  const c = raw as Record<string, unknown>;
  const input = (c.input ?? {}) as Record<string, unknown>;
  const output = (c.output ?? {}) as Record<string, unknown>;
  const norm = (input.normalization ?? {}) as Record<string, unknown>;
  if (typeof c.name !== 'string' || c.name === '') fail(where, "card field 'name' must be a non-empty string");
  if (typeof c.file !== 'string' || c.file === '') fail(where, "card field 'file' must name the model file");
  if ((c.format ?? 'onnx') !== 'onnx') fail(where, `card field 'format' must be 'onnx', got '${String(c.format)}'`);
  const kind = (output.kind ?? 'logits') as string;
  if (!['logits', 'probabilities', 'classes'].includes(kind)) fail(where, `card field 'output.kind' must be logits, probabilities or classes`);
  const classes = output.classes ?? ['background', 'gland'];
  if (!Array.isArray(classes) || classes.length < 2) fail(where, "card field 'output.classes' must list at least 2 classes");
  const std = triple(where, 'input.normalization.std', norm.std ?? [1, 1, 1]);
  if (std.some((s) => s === 0)) fail(where, "card field 'input.normalization.std' must not contain 0");
  const layout = (input.layout ?? 'NCHW') as string;
  if (layout !== 'NCHW' && layout !== 'NHWC') fail(where, "card field 'input.layout' must be NCHW or NHWC");
  const order = (input.channelOrder ?? 'RGB') as string;
  if (order !== 'RGB' && order !== 'BGR') fail(where, "card field 'input.channelOrder' must be RGB or BGR");
  return {
    ...(c as unknown as ModelCard),
    schema: typeof c.schema === 'number' ? c.schema : 1,
    architecture: typeof c.architecture === 'string' ? c.architecture : 'unknown',
    format: 'onnx',
    input: {
      name: typeof input.name === 'string' ? input.name : 'input',
      width: num(where, 'input.width', input.width ?? 224, 1),
      height: num(where, 'input.height', input.height ?? 224, 1),
      channels: 3,
      channelOrder: order,
      layout,
      dtype: 'float32',
      normalization: {
        scale: num(where, 'input.normalization.scale', norm.scale ?? 1 / 255),
        mean: triple(where, 'input.normalization.mean', norm.mean ?? [0, 0, 0]),
        std,
      },
      ...(input.suppressColourOverlay === true ? { suppressColourOverlay: true } : {}),
      ...(input.fieldOfView !== undefined ? { fieldOfView: bool(where, 'input.fieldOfView', input.fieldOfView) } : {}),
      ...(input.fieldOfViewFit !== undefined ? { fieldOfViewFit: fitOf(where, input.fieldOfViewFit) } : {}),
      ...(input.maxBatch !== undefined ? { maxBatch: num(where, 'input.maxBatch', input.maxBatch, 1) } : {}),
    },
    output: {
      ...(output as object),
      name: typeof output.name === 'string' ? output.name : 'logits',
      kind: kind as OutputKind,
      classes: classes as string[],
      ...(output.singleRegion !== undefined ? { singleRegion: bool(where, 'output.singleRegion', output.singleRegion) } : {}),
    },
  };
}

/** Reads `card.json` from a model folder (or a card path) and resolves the model file. */
export async function loadCard(folderOrCard: string): Promise<LoadedCard> {
  const cardPath = path.resolve(folderOrCard.endsWith('.json') ? folderOrCard : path.join(folderOrCard, 'card.json'));
  let text: string;
  try {
    text = await readFile(cardPath, 'utf8');
  } catch (err) {
    throw new SgusError(ErrorCode.ModelInvalid, `cannot read model card: ${describeError(err)}`, { where: cardPath, cause: err });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new SgusError(ErrorCode.ModelInvalid, `model card is not valid JSON: ${describeError(err)}`, { where: cardPath, cause: err });
  }
  const card = validateCard(raw, cardPath);
  return { card, cardPath, modelPath: path.resolve(path.dirname(cardPath), card.file) };
}
