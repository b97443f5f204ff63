/** Argument parsing shared by the sub-commands (node:util parseArgs with one-line errors). */
import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';
import { ErrorCode, SgusError } from '../errors.js';
import type { DeviceName, EngineName } from '../engine/inference-engine.js';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

export function parse(args: string[], options: OptionSpec, allowPositionals = true): { values: Record<string, string | boolean | string[] | undefined>; positionals: string[] } {
  try {
    const r = parseArgs({ args, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals, strict: true });
    return { values: r.values as Record<string, string | boolean | string[] | undefined>, positionals: r.positionals };
  } catch (err) {
    throw new SgusError(ErrorCode.InvalidArgument, `${(err as Error).message.split('\n')[0]} (see --help)`);
  }
}

/** Options every command that runs a model takes. */
export const MODEL_OPTIONS: OptionSpec = {
  model: { type: 'string', short: 'm' },
  engine: { type: 'string' },
  device: { type: 'string' },
  threads: { type: 'string' },
};

export const MODEL_OPTIONS_HELP = `Model options:
  -m, --model NAME|PATH   model under models/, a model folder, card.json or .onnx (default: the default model, see 'sgus models')
      --engine NAME       onnxruntime (default) | tfjs
      --device NAME       cpu (default) | cuda | tensorrt (onnxruntime GPU build) | gpu (tfjs-node-gpu) | wasm (tfjs)
      --threads N         CPU threads for inference (default: number of cores, at most 8)`;

export function intOption(value: unknown, name: string, min: number, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new SgusError(ErrorCode.InvalidArgument, `--${name} must be an integer >= ${min}, got '${String(value)}'`);
  return n;
}

export function numberOption(value: unknown, name: string, min: number, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min) throw new SgusError(ErrorCode.InvalidArgument, `--${name} must be a number >= ${min}, got '${String(value)}'`);
  return n;
}

/**
 * A probability threshold, strictly between 0 and 1: at 0 every pixel is gland, at 1 none is, and a
 * value outside says the user meant something else (a percentage, say).
 */
export function thresholdOption(value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!(Number.isFinite(n) && n > 0 && n < 1)) throw new SgusError(ErrorCode.InvalidArgument, `--threshold must be a probability between 0 and 1 (exclusive), got '${String(value)}'`);
  return n;
}

export function engineOptions(values: Record<string, unknown>): { model?: string; engine?: EngineName; device?: DeviceName; threads?: number } {
  const engine = values.engine as string | undefined;
  if (engine !== undefined && engine !== 'onnxruntime' && engine !== 'tfjs') throw new SgusError(ErrorCode.InvalidArgument, `--engine must be onnxruntime or tfjs, got '${engine}'`);
  const device = values.device as string | undefined;
  if (device !== undefined && !['cpu', 'cuda', 'tensorrt', 'gpu', 'wasm'].includes(device)) throw new SgusError(ErrorCode.InvalidArgument, `--device must be cpu, cuda, tensorrt, gpu or wasm, got '${device}'`);
  const out: { model?: string; engine?: EngineName; device?: DeviceName; threads?: number } = {};
  if (typeof values.model === 'string') out.model = values.model;
  if (engine !== undefined) out.engine = engine as EngineName;
  if (device !== undefined) out.device = device as DeviceName;
  if (values.threads !== undefined) out.threads = intOption(values.threads, 'threads', 1, 1);
  return out;
}
