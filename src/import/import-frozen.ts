/**
 * Importing a TensorFlow 1.x frozen graph (DeepSGUS's `frozen_graph.pb`) as an SGUS model:
 * parse → list placeholders and outputs → fold the fixed feeds (training flag, keep probability) →
 * write `model.onnx` and `card.json` (and a TF.js graph model for `--engine tfjs`) under
 * `models/<name>/`, so that `sgus segment --model <name>` runs it like any trained model.
 */
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { ErrorCode, SgusError, describeError } from '../errors.js';
import { foldGraph, graphError } from './graph-fold.js';
import type { Dim, FoldedGraph } from './graph-fold.js';
import { onnxName, writeOnnx } from './onnx-writer.js';
import type { OnnxModel } from './onnx-writer.js';
import { ProtoError } from './protobuf.js';
import { TfDType, decodeGraphDef, dtypeName, parseInputRef } from './tf-graphdef.js';
import type { TfGraph } from './tf-graphdef.js';
import { segmentationProblem } from './segmentation-check.js';
import { writeTfjsModel } from './tfjs-writer.js';
import type { ModelCard } from '../segmenter/model-card.js';

/** DeepSGUS's published signature. */
export const DEEPSGUS_INPUT = 'input_image';
export const DEEPSGUS_OUTPUT = 'inference/prediction:0';

export interface PlaceholderInfo {
  name: string;
  dtype: string;
  /** -1 for unknown dimensions; undefined for unknown rank. */
  shape: number[] | undefined;
  /** The value it is fixed to when importing, if any. */
  fixed?: number | boolean;
}

export interface GraphSummary {
  nodes: number;
  /** Op types with counts, most frequent first. */
  ops: Array<[op: string, count: number]>;
  placeholders: PlaceholderInfo[];
  /** Tensors no node consumes (candidate outputs), with the op that makes them. */
  outputs: Array<{ name: string; op: string }>;
}

const NOT_OUTPUTS = new Set(['Const', 'NoOp', 'Assert', 'Placeholder', 'PlaceholderWithDefault', 'SaveV2', 'RestoreV2', 'VarHandleOp', 'VariableV2', 'Variable', 'Assign', 'AssignVariableOp']);

/** Parses a frozen graph, with one-line errors naming the file. */
export function parseFrozenGraph(bytes: Uint8Array, where: string): TfGraph {
  try {
    return decodeGraphDef(bytes);
  } catch (err) {
    if (err instanceof ProtoError) throw new SgusError(ErrorCode.GraphImport, `not a valid TensorFlow frozen graph (GraphDef): ${err.message}`, { where, cause: err });
    throw err;
  }
}

/** The fixed value a placeholder gets when not given: keep probability 1.0, training flag False. */
export function defaultFeed(name: string, dtype: number): number | boolean | undefined {
  const base = name.toLowerCase();
  if (dtype % 100 === TfDType.bool && /train/.test(base)) return false;
  if ((dtype % 100 === TfDType.float) && /keep_?prob/.test(base)) return 1.0;
  return undefined;
}

export function summarizeGraph(g: TfGraph): GraphSummary {
  const consumed = new Set<string>();
  const ops = new Map<string, number>();
  for (const n of g.nodes) {
    ops.set(n.op, (ops.get(n.op) ?? 0) + 1);
    for (const i of n.inputs) consumed.add(parseInputRef(i).node);
  }
  const placeholders: PlaceholderInfo[] = g.nodes
    .filter((n) => n.op === 'Placeholder' || n.op === 'PlaceholderWithDefault')
    .map((n) => {
      const dtype = n.attr.dtype?.type ?? TfDType.float;
      const s = n.attr.shape?.shape;
      const fixed = defaultFeed(n.name, dtype);
      return { name: n.name, dtype: dtypeName(dtype), shape: s === undefined || s.unknownRank ? undefined : s.dims, ...(fixed !== undefined ? { fixed } : {}) };
    });
  const byName = new Map(g.nodes.map((n) => [n.name, n]));
  // tf.cond leaves `switch_t`/`switch_f` (Identity of a Switch) unconsumed: not outputs.
  const condPivot = (n: (typeof g.nodes)[number]): boolean => n.op === 'Identity' && byName.get(parseInputRef(n.inputs[0] ?? '').node)?.op === 'Switch';
  const outputs = g.nodes.filter((n) => !consumed.has(n.name) && !NOT_OUTPUTS.has(n.op) && n.op !== 'Switch' && !condPivot(n)).map((n) => ({ name: `${n.name}:0`, op: n.op }));
  return { nodes: g.nodes.length, ops: [...ops].sort((a, b) => b[1] - a[1]), placeholders, outputs };
}

export interface ConvertOptions {
  /** The image placeholder. Default: `input_image`, else the one placeholder not fixed by a feed. */
  input?: string;
  /** The tensor to output. Default: `inference/prediction:0`, else the one unconsumed tensor. */
  output?: string;
  /** Extra fixed feeds (placeholder name → value); they override the defaults. */
  feeds?: Record<string, number | boolean>;
  /** Fixed batch size, or null (default) for a dynamic batch. */
  batch?: number | null;
  /** Input size to assume when the placeholder's height/width are unknown. Default 224. */
  size?: number;
  /** Treat a placeholder declared with batch 1 as having a dynamic batch. Default false. */
  dynamicBatch?: boolean;
}

export interface Converted {
  summary: GraphSummary;
  folded: FoldedGraph;
  onnx: OnnxModel;
  input: { name: string; shape: Dim[] };
  output: { name: string; onnxName: string; shape: Dim[]; kind: 'classes' | 'probabilities' | 'logits' };
  feeds: Record<string, number | boolean>;
  /** Placeholder shapes fixed for folding (unknown height/width → --size). */
  inputShapes: Record<string, number[]>;
}

function withIndex(ref: string): string {
  return /:\d+$/.test(ref) ? ref : `${ref}:0`;
}

/** Converts parsed graph bytes to ONNX in memory (no files). */
export function convertFrozenGraph(g: TfGraph, options: ConvertOptions = {}): Converted {
  const summary = summarizeGraph(g);
  const byName = new Map(g.nodes.map((n) => [n.name, n]));
  const phNames = summary.placeholders.map((p) => p.name);
  const feeds: Record<string, number | boolean> = {};
  for (const p of summary.placeholders) if (p.fixed !== undefined) feeds[p.name] = p.fixed;
  Object.assign(feeds, options.feeds ?? {});

  let input = options.input;
  if (input === undefined) {
    const free = summary.placeholders.filter((p) => !(p.name in feeds));
    if (phNames.includes(DEEPSGUS_INPUT)) input = DEEPSGUS_INPUT;
    else if (free.length === 1) input = free[0]!.name;
    else throw graphError(free.length === 0 ? 'the graph has no image placeholder' : `several placeholders could be the image (${free.map((p) => p.name).join(', ')}); choose one with --input`);
  }
  input = parseInputRef(input).node;
  const inNode = byName.get(input);
  if (inNode === undefined || (inNode.op !== 'Placeholder' && inNode.op !== 'PlaceholderWithDefault')) {
    throw graphError(`the graph has no placeholder '${input}' (placeholders: ${phNames.join(', ') || 'none'})`);
  }
  delete feeds[input];

  let output = options.output;
  if (output === undefined) {
    if (byName.has(parseInputRef(DEEPSGUS_OUTPUT).node)) output = DEEPSGUS_OUTPUT;
    else if (summary.outputs.length === 1) output = summary.outputs[0]!.name;
    else throw graphError(`the graph has ${summary.outputs.length} candidate outputs (${summary.outputs.slice(0, 8).map((o) => o.name).join(', ')}${summary.outputs.length > 8 ? ', …' : ''}); choose one with --output`);
  }
  output = withIndex(output);
  if (!byName.has(parseInputRef(output).node)) {
    throw graphError(`the graph has no tensor '${output}' (candidate outputs: ${summary.outputs.map((o) => o.name).join(', ') || 'none'})`);
  }

  // An image placeholder of unknown height/width ([?, ?, ?, 3]) is fixed to the model size: the
  // card feeds one size anyway, and transposed convolutions need it.
  const inputShapes: Record<string, number[]> = {};
  const ps = inNode.attr.shape?.shape;
  if (ps !== undefined && !ps.unknownRank && ps.dims.length === 4 && (ps.dims[1]! < 0 || ps.dims[2]! < 0 || ps.dims[3]! < 0 || (options.dynamicBatch === true && ps.dims[0] === 1))) {
    const size = options.size ?? 224;
    inputShapes[input] = [options.dynamicBatch === true ? -1 : ps.dims[0]!, ps.dims[1]! < 0 ? size : ps.dims[1]!, ps.dims[2]! < 0 ? size : ps.dims[2]!, ps.dims[3]! < 0 ? 3 : ps.dims[3]!];
  }
  const folded = foldGraph(g, { outputs: [output], feeds, batch: options.batch ?? null, inputShapes });
  const extra = folded.inputs.filter((i) => i.name !== input);
  if (extra.length > 0) {
    throw graphError(`placeholder '${extra[0]!.name}' also feeds '${output}' and has no fixed value; give one with --feed ${extra[0]!.name}=VALUE`);
  }
  const inInfo = folded.inputs.find((i) => i.name === input);
  if (inInfo === undefined) throw graphError(`output '${output}' does not depend on the input '${input}'`);
  const onnx = writeOnnx(folded);
  const out = folded.outputs[0]!;
  // Integer outputs are class indices (ArgMax, maybe reshaped or cast); a Softmax behind reshapes
  // gives probabilities; anything else is taken as logits.
  const byFolded = new Map(folded.nodes.map((n) => [n.name, n]));
  let producer = byFolded.get(parseInputRef(out.ref).node);
  while (producer !== undefined && ['Reshape', 'Squeeze', 'ExpandDims', 'Cast', 'Identity'].includes(producer.op)) producer = byFolded.get(parseInputRef(producer.inputs[0]!).node);
  const isInt = ![TfDType.float, TfDType.half, TfDType.double].includes(out.dtype % 100 as 1 | 2 | 19);
  const kind = isInt || producer?.op === 'ArgMax' ? 'classes' : producer?.op === 'Softmax' ? 'probabilities' : 'logits';
  return {
    summary,
    folded,
    onnx,
    input: { name: input, shape: inInfo.shape },
    output: { name: output, onnxName: onnxName(output), shape: out.shape, kind },
    feeds,
    inputShapes,
  };
}

export interface ImportOptions extends ConvertOptions {
  /** Model name (folder under modelsDir). Default: from the file name. */
  name?: string;
  /** Where models live. */
  modelsDir: string;
  /** Also write a TF.js graph model for `--engine tfjs`. Default true. */
  tfjs?: boolean;
  /** Replace a model of the same name (`--force`). Default false: an existing model folder is refused. */
  overwrite?: boolean;
  /**
   * Refuse a graph whose output is not a per-pixel map at the input's size (a classifier).
   * Default true; false imports it anyway with a note (op coverage tests of the converter).
   */
  requireSegmentation?: boolean;
}

export interface ImportResult extends Converted {
  modelDir: string;
  card: ModelCard;
  /** Milliseconds: parse + fold + write. */
  ms: number;
  tfjsModel: string | undefined;
  /** Non-fatal remarks for the user (e.g. "not a segmentation output"). */
  notes: string[];
}

export function defaultModelName(file: string): string {
  const base = path.basename(file).replace(/\.pb$/i, '').replace(/[._-]?frozen[._-]?(graph)?$/i, '');
  const name = base === '' || base === 'frozen_graph' ? path.basename(path.dirname(path.resolve(file))) : base;
  return name.toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '') || 'imported-tf';
}

/**
 * Runs the converted model once on zeros: a conversion that ONNX Runtime cannot load or run, or
 * whose output has another shape than inferred, is an importer bug and must not be written silently.
 */
export async function smokeRun(conv: Converted, batch: number): Promise<void> {
  const session = await ort.InferenceSession.create(conv.onnx.bytes, { intraOpNumThreads: 1, graphOptimizationLevel: 'all' });
  try {
    const dims = conv.input.shape.map((d, i) => (i === 0 ? batch : (d ?? 1)));
    const n = dims.reduce((a, b) => a * b, 1);
    const r = await session.run({ [conv.input.name]: new ort.Tensor('float32', new Float32Array(n), dims) });
    const out = r[conv.output.onnxName];
    if (out === undefined) throw new Error(`no output '${conv.output.onnxName}'`);
    // Unknown dimensions (the batch, or a -1 of a reshape) are not checked.
    const want = conv.output.shape;
    if (out.dims.length !== want.length || want.some((d, i) => d !== null && d !== out.dims[i])) {
      throw new Error(`output shape [${out.dims.join(',')}], expected [${want.map((d) => d ?? '?').join(',')}]`);
    }
  } finally {
    await session.release();
  }
}

/** Imports a frozen graph file into `modelsDir/<name>/`. */
export async function importFrozen(file: string, options: ImportOptions): Promise<ImportResult> {
  const t0 = performance.now();
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (err) {
    throw new SgusError(ErrorCode.FileUnreadable, `cannot read the frozen graph: ${describeError(err)}`, { where: file, cause: err });
  }
  const name = options.name ?? defaultModelName(file);
  // A first letter or digit: '.' and '..' would otherwise name the models folder or its parent.
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) throw new SgusError(ErrorCode.InvalidArgument, `--name '${name}' must start with a letter or digit and hold only letters, digits, '.', '_' or '-'`);
  const modelDir = path.resolve(options.modelsDir, name);
  // Checked before the conversion: replacing a model (the default one, say) is never silent.
  const existing = await readdir(modelDir).catch(() => [] as string[]);
  if (existing.length > 0 && options.overwrite !== true) {
    throw new SgusError(ErrorCode.InvalidArgument, `model '${name}' already exists (${modelDir}); pass --force to replace it, or choose another --name`);
  }
  const g = parseFrozenGraph(bytes, file);
  const notes: string[] = [];
  const convert = (opts: ConvertOptions): Converted => {
    try {
      return convertFrozenGraph(g, opts);
    } catch (err) {
      if (err instanceof SgusError) throw new SgusError(err.code, err.message, { where: file, cause: err });
      throw err;
    }
  };
  let conv = convert(options);
  // A placeholder declared with batch 1 (some exports fix it) is tried with a dynamic batch, so
  // that the segmenter can batch frames; kept at 1 where the graph really depends on it.
  if (options.batch == null && conv.input.shape[0] === 1) {
    try {
      const dyn = convert({ ...options, dynamicBatch: true });
      await smokeRun(dyn, 2);
      conv = dyn;
    } catch {
      notes.push('the graph is fixed to batch 1: the model takes one frame per call (its card says maxBatch 1)');
    }
  }
  await smokeRun(conv, conv.input.shape[0] ?? 2).catch((err: unknown) => {
    throw new SgusError(ErrorCode.GraphImport, `the converted model does not run in ONNX Runtime: ${describeError(err)}`, { where: file, cause: err });
  });
  const s = conv.input.shape;
  const size = options.size ?? 224;
  const height = s[1] ?? size;
  const width = s[2] ?? size;
  const notSegmentation = segmentationProblem({ input: s, output: conv.output, size });
  if (notSegmentation !== undefined) {
    if (options.requireSegmentation ?? true) throw new SgusError(ErrorCode.GraphImport, `${notSegmentation}; nothing written`, { where: file });
    notes.push(notSegmentation);
  }
  if (s.length !== 4) notes.push(`input '${conv.input.name}' has rank ${s.length}, not an NHWC image: the card is written but the segmenter cannot feed it`);
  if (s[3] !== 3) notes.push(`input '${conv.input.name}' has ${s[3] ?? '?'} channels; the segmenter feeds RGB (3)`);

  await mkdir(modelDir, { recursive: true });
  // --force: only what an import writes is replaced, so that no stale TF.js graph outlives it.
  if (existing.length > 0) await rm(path.join(modelDir, 'tfjs'), { recursive: true, force: true });
  await writeFile(path.join(modelDir, 'model.onnx'), conv.onnx.bytes);

  let tfjsModel: string | undefined;
  if (options.tfjs ?? true) {
    try {
      const folded1 = foldGraph(g, { outputs: [conv.output.name], feeds: conv.feeds, batch: 1, inputShapes: conv.inputShapes });
      await writeTfjsModel(folded1, path.join(modelDir, 'tfjs'));
      tfjsModel = 'tfjs/model.json';
    } catch (err) {
      notes.push(`no TF.js model written: ${describeError(err)}`);
    }
  }

  const card: ModelCard & { tfjsModel?: string; source?: Record<string, unknown> } = {
    schema: 1,
    name,
    architecture: 'imported-tf',
    variant: `TensorFlow frozen graph ${path.basename(file)}: ${conv.summary.nodes} nodes, ${conv.folded.nodes.length} after folding`,
    file: 'model.onnx',
    format: 'onnx',
    input: {
      name: conv.input.name,
      width,
      height,
      channels: 3,
      channelOrder: 'RGB',
      layout: 'NHWC',
      dtype: 'float32',
      // DeepSGUS feeds 0–255 RGB floats.
      normalization: { scale: 1, mean: [0, 0, 0], std: [1, 1, 1] },
      ...(conv.input.shape[0] === 1 ? { maxBatch: 1 } : {}),
    },
    output: {
      name: conv.output.onnxName,
      kind: conv.output.kind,
      classes: ['background', 'gland'],
      ...(conv.output.kind !== 'classes' ? { layout: 'NHWC' as const } : {}),
    },
    parameters: conv.onnx.parameters,
    ...(conv.onnx.flops > 0 ? { flopsPerFrame: conv.onnx.flops } : {}),
    ...(tfjsModel !== undefined ? { tfjsModel } : {}),
    source: {
      file: path.basename(file),
      tensorflowProducer: g.producer,
      input: conv.input.name,
      output: conv.output.name,
      fixedFeeds: conv.feeds,
      onnxOpset: 13,
      importedBy: 'sgus import-frozen',
      date: new Date().toISOString().slice(0, 10),
    },
    speed: null,
  };
  await writeFile(path.join(modelDir, 'card.json'), `${JSON.stringify(card, null, 2)}\n`);
  return { ...conv, modelDir, card, ms: performance.now() - t0, tfjsModel, notes };
}
