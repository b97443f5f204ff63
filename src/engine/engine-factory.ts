/**
 * The one place that turns `--engine` / `--device` into an engine. Engines other than ONNX Runtime
 * are loaded lazily so that their (optional) packages are not needed unless asked for.
 */
import { ErrorCode, SgusError } from '../errors.js';
import type { EngineName, EngineOptions, InferenceEngine } from './inference-engine.js';
import { OnnxEngine } from './onnx-engine.js';

export const ENGINES: readonly EngineName[] = ['onnxruntime', 'tfjs'];

export async function createEngine(modelPath: string, options: EngineOptions = {}): Promise<InferenceEngine> {
  const engine = options.engine ?? 'onnxruntime';
  switch (engine) {
    case 'onnxruntime':
      return OnnxEngine.create(modelPath, options);
    case 'tfjs': {
      // Loaded lazily: the TF.js packages are optional (docs/tfjs-engine.md).
      const { TfjsEngine } = await import('./tfjs-engine.js');
      return TfjsEngine.create(modelPath, options);
    }
    default:
      throw new SgusError(ErrorCode.InvalidArgument, `unknown engine '${String(engine)}' (known: ${ENGINES.join(', ')})`);
  }
}
