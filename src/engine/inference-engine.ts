/**
 * The one interface every inference engine implements (ONNX Runtime now; TensorFlow.js later).
 * An engine knows nothing about images: it runs a float tensor through a network and returns a
 * float tensor. Pre- and post-processing live in `src/segmenter` and `src/core`.
 */

export type EngineName = 'onnxruntime' | 'tfjs';
export type DeviceName = 'cpu' | 'cuda' | 'tensorrt' | 'wasm' | 'gpu';

export interface Tensor {
  /** Row-major values. Integer outputs (class indices) are converted to float. */
  data: Float32Array;
  dims: readonly number[];
}

export interface EngineInfo {
  engine: EngineName;
  /** The device the network actually runs on (after any fallback). */
  device: DeviceName;
  /** The provider / backend list handed to the runtime, in priority order. */
  providers: readonly string[];
  /** Intra-op threads on CPU (0 = runtime default). */
  threads: number;
  /** One line for the user: what runs and why (e.g. a fallback). */
  reason: string;
}

export interface EngineOptions {
  /** Which engine. Default: 'onnxruntime'. */
  engine?: EngineName;
  /** Which device. Default: 'cpu'. 'cuda' / 'tensorrt' need a GPU build of onnxruntime-node. */
  device?: DeviceName;
  /** CPU intra-op threads. Default: the number of CPU cores (at most 8). */
  threads?: number;
  /** If the device is unavailable, fall back to CPU (and say so) instead of failing. Default: false. */
  fallbackToCpu?: boolean;
}

export interface InferenceEngine {
  readonly info: EngineInfo;
  /** Input and output names as the model declares them. */
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /**
   * Runs a batch. `feeds` maps input names to tensors; only the named output is returned. Batches of
   * any size the model accepts (models are exported with a dynamic batch axis).
   */
  run(feeds: Record<string, Tensor>, outputName: string): Promise<Tensor>;
  /** One line: engine, device, threads. */
  describe(): string;
  /** Frees the session. Safe to call twice. */
  dispose(): Promise<void>;
}
