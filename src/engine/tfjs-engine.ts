/**
 * TensorFlow.js engine, behind the same `InferenceEngine` interface as ONNX Runtime.
 *
 * It runs the TF.js graph model that `sgus import-frozen` writes beside `model.onnx`
 * (`tfjs/model.json`, named by the card's `tfjsModel`): the folded frozen graph, so TF.js executes
 * the TF ops themselves (NHWC, fused batch norm, transposed convolution). Backends, by `--device`:
 *
 * - `gpu`: `@tensorflow/tfjs-node-gpu` (libtensorflow with CUDA 11.2 / cuDNN 8.1; see docs/tfjs-engine.md)
 * - `cpu` (default): `@tensorflow/tfjs-node` when installed, else the WebAssembly backend
 * - `wasm`: `@tensorflow/tfjs-core` + `@tensorflow/tfjs-converter` + `@tensorflow/tfjs-backend-wasm`
 *
 * The packages are optional and loaded only here, on first use. The native ones download
 * libtensorflow when installed, so they are not in package.json (see docs/tfjs-engine.md).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ErrorCode, SgusError, describeError } from '../errors.js';
import type { DeviceName, EngineInfo, EngineOptions, InferenceEngine, Tensor } from './inference-engine.js';
import { defaultThreads } from './onnx-engine.js';

// The few TF.js APIs used here, typed locally so that the project type-checks without them.
interface TfTensorLike {
  readonly shape: number[];
  data(): Promise<ArrayLike<number>>;
  dispose(): void;
}
interface GraphModelLike {
  readonly inputs: Array<{ name: string; shape?: number[]; dtype?: string }>;
  readonly outputs: Array<{ name: string }>;
  execute(inputs: Record<string, TfTensorLike>, outputs: string): TfTensorLike | TfTensorLike[];
  executeAsync(inputs: Record<string, TfTensorLike>, outputs: string): Promise<TfTensorLike | TfTensorLike[]>;
  dispose(): void;
}
interface TfLike {
  version?: Record<string, string> | string;
  setBackend(name: string): Promise<boolean>;
  ready(): Promise<void>;
  getBackend(): string;
  tensor(values: Float32Array, shape: number[], dtype?: string): TfTensorLike;
  env(): { set(flag: string, value: unknown): void };
  io: { fromMemory(artifacts: Record<string, unknown>): unknown };
}
type LoadGraphModel = (handler: unknown) => Promise<GraphModelLike>;

interface Runtime {
  tf: TfLike;
  loadGraphModel: LoadGraphModel;
  backend: string;
  device: DeviceName;
  /** Which packages, for the user. */
  packages: string;
}

/** The install hint shown when a backend is missing. */
export const TFJS_INSTALL_HINT = 'see docs/tfjs-engine.md';

async function tryImport(spec: string): Promise<Record<string, unknown> | undefined> {
  try {
    return (await import(spec)) as Record<string, unknown>;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') return undefined;
    // Installed but broken (e.g. tfjs-node without its libtensorflow, or a CUDA mismatch).
    throw new SgusError(ErrorCode.EngineUnavailable, `${spec} is installed but cannot be loaded: ${describeError(err)} (${TFJS_INSTALL_HINT})`, { cause: err });
  }
}

/** TF.js prints a banner suggesting tfjs-node when a pure-JS backend loads in Node; keep stdout for our output. */
async function quietly<T>(fn: () => Promise<T>): Promise<T> {
  const { warn, log } = console;
  console.warn = () => {};
  console.log = () => {};
  try {
    return await fn();
  } finally {
    console.warn = warn;
    console.log = log;
  }
}

function ns(mod: Record<string, unknown>): Record<string, unknown> {
  // CommonJS packages arrive as { default: exports } in ESM.
  return (mod.loadGraphModel === undefined && typeof mod.default === 'object' && mod.default !== null ? mod.default : mod) as Record<string, unknown>;
}

async function nativeRuntime(gpu: boolean): Promise<Runtime | undefined> {
  const spec = gpu ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node';
  const mod = await quietly(() => tryImport(spec));
  if (mod === undefined) return undefined;
  const tf = ns(mod) as unknown as TfLike & { loadGraphModel: LoadGraphModel };
  await tf.ready();
  return { tf, loadGraphModel: tf.loadGraphModel, backend: tf.getBackend(), device: gpu ? 'gpu' : 'cpu', packages: spec };
}

async function jsRuntime(prefer: 'wasm' | 'cpu', threads: number): Promise<Runtime | undefined> {
  return quietly(async () => {
    let core = await tryImport('@tensorflow/tfjs-core');
    let converter = await tryImport('@tensorflow/tfjs-converter');
    let packages = '@tensorflow/tfjs-core + tfjs-converter';
    if (core === undefined || converter === undefined) {
      const all = await tryImport('@tensorflow/tfjs');
      if (all === undefined) return undefined;
      core = all;
      converter = all;
      packages = '@tensorflow/tfjs';
    }
    const tf = ns(core) as unknown as TfLike;
    const loadGraphModel = ns(converter).loadGraphModel as LoadGraphModel;
    const wasm = prefer === 'wasm' ? await tryImport('@tensorflow/tfjs-backend-wasm') : undefined;
    await tryImport('@tensorflow/tfjs-backend-cpu');
    if (wasm !== undefined) {
      const w = ns(wasm) as { setThreadsCount?: (n: number) => void };
      try {
        w.setThreadsCount?.(threads);
      } catch {
        // Only possible before the backend initialises; a second engine keeps the first count.
      }
      if (await tf.setBackend('wasm').catch(() => false)) {
        await tf.ready();
        return { tf, loadGraphModel, backend: 'wasm', device: 'wasm' as DeviceName, packages: `${packages} + tfjs-backend-wasm` };
      }
    }
    if (!(await tf.setBackend('cpu').catch(() => false))) return undefined;
    await tf.ready();
    return { tf, loadGraphModel, backend: 'cpu', device: 'cpu' as DeviceName, packages: `${packages} + tfjs-backend-cpu` };
  });
}

/** The TF.js model.json for a model path: a .json itself, or the card's `tfjsModel` beside the .onnx. */
export async function resolveTfjsModel(modelPath: string): Promise<string> {
  if (modelPath.endsWith('.json') && path.basename(modelPath) !== 'card.json') return modelPath;
  const dir = modelPath.endsWith('card.json') ? path.dirname(modelPath) : path.dirname(modelPath);
  let rel = 'tfjs/model.json';
  try {
    const card = JSON.parse(await readFile(path.join(dir, 'card.json'), 'utf8')) as { tfjsModel?: unknown };
    if (typeof card.tfjsModel === 'string') rel = card.tfjsModel;
  } catch {
    // No card: look for the default location.
  }
  return path.resolve(dir, rel);
}

async function loadArtifacts(modelJson: string): Promise<Record<string, unknown>> {
  let mj: { modelTopology?: unknown; weightsManifest?: Array<{ paths: string[]; weights: unknown[] }>; format?: string; generatedBy?: string; convertedBy?: string };
  try {
    mj = JSON.parse(await readFile(modelJson, 'utf8')) as typeof mj;
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    throw new SgusError(
      ErrorCode.ModelInvalid,
      missing
        ? "this model has no TF.js graph model; the TF.js engine runs models imported with 'sgus import-frozen' (or use --engine onnxruntime)"
        : `cannot read the TF.js model: ${describeError(err)}`,
      { where: modelJson, cause: err },
    );
  }
  const groups = mj.weightsManifest ?? [];
  const buffers: Buffer[] = [];
  for (const g of groups) for (const p of g.paths) buffers.push(await readFile(path.resolve(path.dirname(modelJson), p)));
  const all = Buffer.concat(buffers);
  return {
    modelTopology: mj.modelTopology,
    weightSpecs: groups.flatMap((g) => g.weights),
    weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength),
    format: mj.format,
    generatedBy: mj.generatedBy,
    convertedBy: mj.convertedBy,
  };
}

export class TfjsEngine implements InferenceEngine {
  readonly info: EngineInfo;
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  #model: GraphModelLike | undefined;
  #tf: TfLike;
  #where: string;
  /** The batch size the graph was folded for (TF.js models are written for batch 1), or null. */
  #fixedBatch: number | null;
  #inputDtypes: Map<string, string>;

  private constructor(model: GraphModelLike, tf: TfLike, info: EngineInfo, where: string) {
    this.#model = model;
    this.#tf = tf;
    this.info = info;
    this.#where = where;
    this.inputNames = model.inputs.map((i) => i.name.replace(/:0$/, ''));
    this.outputNames = model.outputs.map((o) => o.name.replace(/:0$/, ''));
    this.#inputDtypes = new Map(model.inputs.map((i) => [i.name.replace(/:0$/, ''), i.dtype ?? 'float32']));
    const b = model.inputs[0]?.shape?.[0];
    this.#fixedBatch = typeof b === 'number' && b > 0 ? b : null;
  }

  static async create(modelPath: string, options: EngineOptions = {}): Promise<TfjsEngine> {
    const device: DeviceName = options.device ?? 'cpu';
    const threads = options.threads ?? defaultThreads();
    if (device !== 'cpu' && device !== 'gpu' && device !== 'wasm') {
      throw new SgusError(ErrorCode.InvalidArgument, `the TF.js engine supports devices cpu, gpu (tfjs-node-gpu) and wasm; got '${device}'`);
    }
    const modelJson = await resolveTfjsModel(modelPath);
    const artifacts = await loadArtifacts(modelJson);
    let rt: Runtime | undefined;
    let reason = '';
    if (device === 'gpu') {
      rt = await nativeRuntime(true);
      if (rt === undefined) {
        if (!options.fallbackToCpu) throw new SgusError(ErrorCode.EngineUnavailable, `--engine tfjs --device gpu needs @tensorflow/tfjs-node-gpu (CUDA 11.2, cuDNN 8.1), which is not installed (${TFJS_INSTALL_HINT})`);
        reason = ' (requested gpu: @tensorflow/tfjs-node-gpu not installed)';
      }
    }
    if (rt === undefined && device !== 'wasm') rt = await nativeRuntime(false);
    if (rt === undefined) rt = await jsRuntime('wasm', threads);
    if (rt === undefined) {
      throw new SgusError(ErrorCode.EngineUnavailable, `no TensorFlow.js package is installed: install @tensorflow/tfjs-core, @tensorflow/tfjs-converter and @tensorflow/tfjs-backend-wasm, or @tensorflow/tfjs-node (${TFJS_INSTALL_HINT})`);
    }
    if (device === 'cpu' && rt.backend === 'wasm') reason = ' (@tensorflow/tfjs-node not installed)';
    let model: GraphModelLike;
    try {
      model = await quietly(() => rt.loadGraphModel(rt.tf.io.fromMemory(artifacts)));
    } catch (err) {
      throw new SgusError(ErrorCode.EngineFailure, `TF.js cannot load the model: ${describeError(err)}`, { where: modelJson, cause: err });
    }
    const v = rt.tf.version ?? (rt.tf as unknown as { version_core?: string }).version_core;
    const version = typeof v === 'object' ? (v['tfjs-core'] ?? '') : (v ?? '');
    const info: EngineInfo = {
      engine: 'tfjs',
      device: rt.device,
      providers: [rt.backend],
      threads: rt.backend === 'wasm' ? threads : 0,
      reason: `tfjs ${version} ${rt.backend} backend (${rt.packages})${reason}`.replace('  ', ' '),
    };
    return new TfjsEngine(model, rt.tf, info, modelJson);
  }

  async run(feeds: Record<string, Tensor>, outputName: string): Promise<Tensor> {
    const model = this.#model;
    if (model === undefined) throw new SgusError(ErrorCode.EngineFailure, 'engine is disposed', { where: this.#where });
    if (!this.outputNames.includes(outputName)) throw new SgusError(ErrorCode.ModelInvalid, `model has no output '${outputName}' (has ${this.outputNames.join(', ')})`, { where: this.#where });
    const names = Object.keys(feeds).filter((n) => this.inputNames.includes(n));
    const batch = feeds[names[0] ?? '']?.dims[0] ?? 1;
    // A graph folded for batch 1 runs a larger batch one sample at a time.
    const step = this.#fixedBatch ?? batch;
    if (batch % step !== 0) throw new SgusError(ErrorCode.InvalidArgument, `batch of ${batch} for a model of batch ${step}`, { where: this.#where });
    const parts: Float32Array[] = [];
    let outDims: number[] = [];
    for (let b0 = 0; b0 < batch; b0 += step) {
      const inputs: Record<string, TfTensorLike> = {};
      for (const n of names) {
        const t = feeds[n]!;
        const per = t.data.length / t.dims[0]!;
        // An integer image placeholder (uint8 → int32 in TF.js) takes the 0–255 values as int32.
        const dtype = this.#inputDtypes.get(n) ?? 'float32';
        inputs[n] = this.#tf.tensor(t.data.subarray(b0 * per, (b0 + step) * per), [step, ...t.dims.slice(1)], dtype);
      }
      let out: TfTensorLike | TfTensorLike[] | undefined;
      try {
        out = model.execute(inputs, outputName);
        const t = Array.isArray(out) ? out[0]! : out;
        const data = await t.data();
        parts.push(data instanceof Float32Array ? data : Float32Array.from(data));
        outDims = [...t.shape];
      } catch (err) {
        throw new SgusError(ErrorCode.EngineFailure, `inference failed: ${describeError(err)}`, { where: this.#where, cause: err, fatal: false });
      } finally {
        for (const t of Object.values(inputs)) t.dispose();
        if (out !== undefined) for (const t of Array.isArray(out) ? out : [out]) t.dispose();
      }
    }
    if (parts.length === 1) return { data: parts[0]!, dims: outDims };
    const data = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
    let o = 0;
    for (const p of parts) {
      data.set(p, o);
      o += p.length;
    }
    return { data, dims: [batch, ...outDims.slice(1)] };
  }

  describe(): string {
    return this.info.reason;
  }

  async dispose(): Promise<void> {
    const m = this.#model;
    this.#model = undefined;
    m?.dispose();
  }
}
