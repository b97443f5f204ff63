/**
 * Stream presets (`streams/<name>.json`): loading, validation against `streams/schema.json` with a
 * small validator for the keywords that schema uses (type, const, enum, required, properties,
 * additionalProperties, oneOf with a `discriminator`, pattern, minLength, minimum, maximum,
 * multipleOf), and resolution to a pipeline `StreamConfig`. Errors name the file and the field.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ErrorCode, SgusError } from '../errors.js';
import { PACKAGE_ROOT } from '../segmenter/model-registry.js';
import type { StreamConfig } from './compose.js';
import { writeSyntheticClip } from './synthetic-clip.js';

export const STREAMS_DIR = path.join(PACKAGE_ROOT, 'streams');
/** Generated media (the synthetic sample exam); git-ignored. */
export const CACHE_DIR = process.env.SGUS_CACHE_DIR ?? path.join(PACKAGE_ROOT, '.cache');

export type PresetSource =
  | { type: 'file'; path: string }
  | { type: 'device'; path: string; size?: string; rate?: number; pixelFormat?: string }
  | { type: 'url'; url: string }
  | { type: 'lavfi'; graph: string }
  | { type: 'synthetic'; width?: number; height?: number; fps?: number; seconds?: number; seed?: number };

export interface StreamPreset {
  name: string;
  title?: string;
  source: PresetSource;
  mode: 'replay' | 'live';
  loop?: boolean;
  realtime?: boolean;
  settings?: { viewCodec?: 'auto' | 'jpeg'; stallTimeoutS?: number; reconnectInitialMs?: number; reconnectMaxMs?: number; mmPerPx?: number };
}

type Schema = {
  type?: string;
  const?: unknown;
  enum?: unknown[];
  required?: string[];
  properties?: Record<string, Schema>;
  additionalProperties?: boolean;
  oneOf?: Schema[];
  discriminator?: string;
  pattern?: string;
  minLength?: number;
  minimum?: number;
  maximum?: number;
  multipleOf?: number;
};

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

/** Validates `value` against `schema`; returns error strings 'field: problem' (empty when valid). */
export function validate(value: unknown, schema: Schema, at = ''): string[] {
  const where = at === '' ? '(top level)' : at;
  const errors: string[] = [];
  if (schema.const !== undefined && value !== schema.const) return [`${where}: must be ${JSON.stringify(schema.const)}`];
  if (schema.enum !== undefined && !schema.enum.includes(value)) return [`${where}: must be one of ${schema.enum.map((e) => JSON.stringify(e)).join(', ')}, got ${JSON.stringify(value)}`];
  if (schema.type !== undefined) {
    const t = typeOf(value);
    const ok = schema.type === t || (schema.type === 'number' && t === 'integer');
    if (!ok) return [`${where}: must be ${schema.type === 'integer' ? 'an integer' : `a${/^[aeiou]/.test(schema.type) ? 'n' : ''} ${schema.type}`}, got ${t === 'undefined' ? 'nothing' : JSON.stringify(value)}`];
  }
  if (typeof value === 'string') {
    if (schema.minLength !== undefined && value.length < schema.minLength) errors.push(`${where}: must not be empty`);
    if (schema.pattern !== undefined && !new RegExp(schema.pattern).test(value)) errors.push(`${where}: '${value}' does not match ${schema.pattern}`);
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) errors.push(`${where}: must be >= ${schema.minimum}, got ${value}`);
    if (schema.maximum !== undefined && value > schema.maximum) errors.push(`${where}: must be <= ${schema.maximum}, got ${value}`);
    if (schema.multipleOf !== undefined && value % schema.multipleOf !== 0) errors.push(`${where}: must be a multiple of ${schema.multipleOf}, got ${value}`);
  }
  if (typeOf(value) === 'object') {
    const obj = value as Record<string, unknown>;
    for (const r of schema.required ?? []) if (!(r in obj)) errors.push(`${at === '' ? r : `${at}.${r}`}: is required`);
    for (const [k, v] of Object.entries(obj)) {
      const sub = schema.properties?.[k];
      const field = at === '' ? k : `${at}.${k}`;
      if (sub !== undefined) errors.push(...validate(v, sub, field));
      else if (schema.additionalProperties === false && schema.oneOf === undefined) errors.push(`${field}: unknown field`);
    }
    if (schema.oneOf !== undefined && errors.length === 0) {
      const d = schema.discriminator;
      if (d !== undefined) {
        const branch = schema.oneOf.find((b) => b.properties?.[d]?.const === obj[d]);
        if (branch === undefined) {
          const names = schema.oneOf.map((b) => JSON.stringify(b.properties?.[d]?.const)).join(', ');
          errors.push(`${at === '' ? d : `${at}.${d}`}: must be one of ${names}, got ${JSON.stringify(obj[d])}`);
        } else {
          errors.push(...validate(value, branch, at));
        }
      } else if (!schema.oneOf.some((b) => validate(value, b, at).length === 0)) {
        errors.push(`${where}: matches none of the allowed forms`);
      }
    }
  }
  return errors;
}

let schemaCache: Schema | undefined;
async function loadSchema(): Promise<Schema> {
  schemaCache ??= JSON.parse(await readFile(path.join(STREAMS_DIR, 'schema.json'), 'utf8')) as Schema;
  return schemaCache;
}

/** The preset file for a name ('sample-exam') or a path ('my/preset.json'). */
export function presetPath(nameOrPath: string): string {
  if (nameOrPath.endsWith('.json') || nameOrPath.includes('/')) return path.resolve(nameOrPath);
  return path.join(STREAMS_DIR, `${nameOrPath}.json`);
}

/** Reads and validates a preset; every problem is reported in one line naming the file and fields. */
export async function loadPreset(nameOrPath: string): Promise<StreamPreset & { file: string }> {
  const file = presetPath(nameOrPath);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new SgusError(ErrorCode.FileUnreadable, code === 'ENOENT' ? `no such stream preset (see ${STREAMS_DIR})` : `cannot read: ${code ?? String(err)}`, { where: file });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new SgusError(ErrorCode.InvalidArgument, `not valid JSON: ${(err as Error).message}`, { where: file });
  }
  const errors = validate(value, await loadSchema());
  if (errors.length > 0) throw new SgusError(ErrorCode.InvalidArgument, errors.join('; '), { where: file });
  const preset = value as StreamPreset;
  if (!nameOrPath.endsWith('.json') && !nameOrPath.includes('/') && preset.name !== nameOrPath) {
    throw new SgusError(ErrorCode.InvalidArgument, `name: '${preset.name}' differs from the file name '${nameOrPath}'`, { where: file });
  }
  return { ...preset, file };
}

/** Turns a preset into a stream of the pipeline; a synthetic source is generated (once, cached). */
/**
 * The pipeline's stream of a preset; a synthetic source is generated once into CACHE_DIR
 * (`onGenerate` when that starts, `onProgress` as its frames are made).
 */
export async function presetToStream(preset: StreamPreset & { file: string }, onGenerate?: (file: string) => void, onProgress?: (done: number, total: number) => void): Promise<StreamConfig> {
  const s = preset.source;
  let source: StreamConfig['source'];
  if (s.type === 'synthetic') {
    const w = s.width ?? 640;
    const h = s.height ?? 480;
    const fps = s.fps ?? 25;
    const seconds = s.seconds ?? 20;
    const seed = s.seed ?? 1;
    const file = path.join(CACHE_DIR, `synthetic-${w}x${h}-${fps}fps-${seconds}s-seed${seed}-crf28.mp4`);
    onGenerate?.(file);
    await writeSyntheticClip({ path: file, width: w, height: h, fps, seconds, seed, reuse: true, ...(onProgress !== undefined ? { onProgress } : {}) });
    source = { type: 'file', path: file };
  } else if (s.type === 'file') {
    source = { type: 'file', path: path.resolve(path.dirname(preset.file), s.path) };
  } else {
    source = s;
  }
  const cfg: StreamConfig = {
    id: preset.name,
    title: preset.title ?? preset.name,
    source,
    mode: preset.mode,
    loop: preset.loop ?? false,
    realtime: preset.realtime ?? true,
  };
  const st = preset.settings ?? {};
  if (st.viewCodec !== undefined) cfg.viewCodec = st.viewCodec;
  if (st.stallTimeoutS !== undefined) cfg.stallTimeoutS = st.stallTimeoutS;
  if (st.reconnectInitialMs !== undefined) cfg.reconnectInitialMs = st.reconnectInitialMs;
  if (st.reconnectMaxMs !== undefined) cfg.reconnectMaxMs = st.reconnectMaxMs;
  return cfg;
}
