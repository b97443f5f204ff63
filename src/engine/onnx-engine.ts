/**
 * ONNX Runtime engine (`onnxruntime-node`): the default. On this CPU build it runs with the CPU
 * execution provider; on a GPU host with the CUDA build installed
 * (`ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node`), `cuda` and `tensorrt` work.
 */
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { ErrorCode, SgusError, describeError } from '../errors.js';
import type { DeviceName, EngineInfo, EngineOptions, InferenceEngine, Tensor } from './inference-engine.js';

const PROVIDERS: Record<string, readonly string[]> = {
  cpu: ['cpu'],
  cuda: ['cuda', 'cpu'],
  tensorrt: ['tensorrt', 'cuda', 'cpu'],
};

/**
 * Whether the provider library of a GPU device sits beside the native binding. The npm package
 * lists CUDA/TensorRT as compiled in, but their libraries exist only where the install script
 * downloaded them; checking the file first avoids onnxruntime's multi-line load error.
 */
export function gpuProviderInstalled(device: 'cuda' | 'tensorrt'): boolean {
  try {
    const pkgDir = path.dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json'));
    const binDir = path.join(pkgDir, 'bin');
    const lib = `libonnxruntime_providers_${device}.so`;
    for (const napi of readdirSync(binDir)) {
      if (existsSync(path.join(binDir, napi, process.platform, process.arch, lib))) return true;
    }
  } catch {
    // No bin folder we understand: let onnxruntime decide at load time.
    return true;
  }
  return false;
}

export function defaultThreads(): number {
  return Math.max(1, Math.min(8, os.availableParallelism?.() ?? os.cpus().length));
}

export class OnnxEngine implements InferenceEngine {
  readonly info: EngineInfo;
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  #session: ort.InferenceSession | undefined;
  #modelPath: string;

  private constructor(session: ort.InferenceSession, info: EngineInfo, modelPath: string) {
    this.#session = session;
    this.info = info;
    this.inputNames = session.inputNames;
    this.outputNames = session.outputNames;
    this.#modelPath = modelPath;
  }

  static async create(modelPath: string, options: EngineOptions = {}): Promise<OnnxEngine> {
    const device: DeviceName = options.device ?? 'cpu';
    const threads = options.threads ?? defaultThreads();
    if (!Number.isInteger(threads) || threads < 0) {
      throw new SgusError(ErrorCode.InvalidArgument, `threads must be a non-negative integer, got ${threads}`);
    }
    const providers = PROVIDERS[device];
    if (providers === undefined) {
      throw new SgusError(ErrorCode.InvalidArgument, `onnxruntime supports devices cpu, cuda, tensorrt; got '${device}'`);
    }
    const sessionOptions = (eps: readonly string[]): ort.InferenceSession.SessionOptions => ({
      executionProviders: [...eps],
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
      // Idle intra-op threads spin by default, burning the CPU that FFmpeg and post-processing
      // need on a small machine; they sleep instead.
      extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
      // A missing GPU provider is reported by us in one line; keep onnxruntime's own log quiet.
      logSeverityLevel: eps[0] === 'cpu' ? 2 : 4,
    });
    let used: DeviceName = device;
    let reason = `onnxruntime ${ort.env.versions?.common ?? ''} on ${device}`.replace('  ', ' ');
    let session: ort.InferenceSession;
    try {
      if (device !== 'cpu' && !gpuProviderInstalled(device as 'cuda' | 'tensorrt')) {
        throw new Error(`provider library for ${device} is not installed`);
      }
      session = await ort.InferenceSession.create(modelPath, sessionOptions(providers));
    } catch (err) {
      // The npm package lists CUDA/TensorRT as compiled in, but their provider libraries are only
      // present where the install script downloaded them: a failed load means "not on this host".
      const providerMissing = device !== 'cpu' && /shared library|provider|cuda|tensorrt/i.test(describeError(err));
      if (!providerMissing) {
        throw new SgusError(ErrorCode.EngineFailure, `onnxruntime cannot load the model: ${describeError(err)}`, { where: modelPath, cause: err });
      }
      if (!options.fallbackToCpu) {
        throw new SgusError(
          ErrorCode.EngineUnavailable,
          `onnxruntime-node here has no '${device}' execution provider (${describeError(err)}); on a GPU host run 'ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node' (docs: README, GPU hosts) or run with --device cpu`,
          { cause: err },
        );
      }
      used = 'cpu';
      reason = `onnxruntime on cpu (requested ${device}, its provider is not installed here)`;
      try {
        session = await ort.InferenceSession.create(modelPath, sessionOptions(['cpu']));
      } catch (err2) {
        throw new SgusError(ErrorCode.EngineFailure, `onnxruntime cannot load the model: ${describeError(err2)}`, { where: modelPath, cause: err2 });
      }
    }
    reason += `, ${threads} thread${threads === 1 ? '' : 's'}`;
    return new OnnxEngine(session, { engine: 'onnxruntime', device: used, providers: used === 'cpu' ? ['cpu'] : providers, threads, reason }, modelPath);
  }

  async run(feeds: Record<string, Tensor>, outputName: string): Promise<Tensor> {
    const session = this.#session;
    if (session === undefined) throw new SgusError(ErrorCode.EngineFailure, 'engine is disposed', { where: this.#modelPath });
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(feeds)) ortFeeds[name] = new ort.Tensor('float32', t.data, t.dims);
    let results: ort.InferenceSession.OnnxValueMapType;
    try {
      results = await session.run(ortFeeds, [outputName]);
    } catch (err) {
      throw new SgusError(ErrorCode.EngineFailure, `inference failed: ${describeError(err)}`, { where: this.#modelPath, cause: err, fatal: false });
    }
    const out = results[outputName];
    if (out === undefined) throw new SgusError(ErrorCode.ModelInvalid, `model has no output '${outputName}'`, { where: this.#modelPath });
    return { data: toFloat32(out.data), dims: out.dims };
  }

  describe(): string {
    return this.info.reason;
  }

  async dispose(): Promise<void> {
    const s = this.#session;
    this.#session = undefined;
    if (s !== undefined) await s.release();
  }
}

function toFloat32(data: ort.Tensor['data']): Float32Array {
  if (data instanceof Float32Array) return data;
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) {
    const out = new Float32Array(data.length);
    for (let i = 0; i < data.length; i++) out[i] = Number(data[i]);
    return out;
  }
  if (ArrayBuffer.isView(data)) return Float32Array.from(data as unknown as ArrayLike<number>);
  throw new SgusError(ErrorCode.EngineFailure, 'unsupported output tensor type');
}
