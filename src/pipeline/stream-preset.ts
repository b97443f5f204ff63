/**
 * Stream presets (`streams/<name>.json`): loading, validation against `streams/schema.json` by Ajv
 * (JSON Schema draft-07; the source's form chosen by its `type`, the schema's discriminator), and
 * resolution to a pipeline `StreamConfig`. Every problem goes into one line naming the file and the
 * field ('source.rate: must be >= 1, got 0').
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Ajv } from 'ajv';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { ErrorCode, SgusError } from '../errors.js';
import { PACKAGE_ROOT } from '../segmenter/model-registry.js';
import type { StreamConfig } from './compose.js';
import { writeSyntheticClip } from './synthetic-clip.js';
import { isDicomFile } from '../dicom/dicom-inputs.js';
import { openDicomSource } from './dicom-source.js';
import type { OpenedDicomSource } from './dicom-source.js';

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

/** 'source.rate' for Ajv's '/source/rate' ('(top level)' for the document itself). */
function fieldOf(instancePath: string, child?: string): string {
  const parts = instancePath.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (child !== undefined) parts.push(child);
  return parts.length === 0 ? '(top level)' : parts.join('.');
}

const show = (v: unknown): string => (v === undefined ? 'nothing' : JSON.stringify(v));

/** One Ajv error as 'field: problem' (Ajv runs with `verbose`, so `data` and `parentSchema` are set). */
function describe(e: ErrorObject): string | undefined {
  const at = fieldOf(e.instancePath);
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'required':
      return `${fieldOf(e.instancePath, String(p.missingProperty))}: is required`;
    case 'additionalProperties':
      return `${fieldOf(e.instancePath, String(p.additionalProperty))}: unknown field`;
    case 'discriminator': {
      // A missing tag is already reported by 'required'.
      const tagValue = (e.data as Record<string, unknown> | undefined)?.[String(p.tag)];
      if (tagValue === undefined) return undefined;
      const forms = ((e.parentSchema?.oneOf ?? []) as { properties?: Record<string, { const?: unknown }> }[]).map((b) => show(b.properties?.[String(p.tag)]?.const));
      return `${fieldOf(e.instancePath, String(p.tag))}: must be one of ${forms.join(', ')}, got ${show(tagValue)}`;
    }
    case 'enum':
      return `${at}: must be one of ${(p.allowedValues as unknown[]).map(show).join(', ')}, got ${show(e.data)}`;
    case 'const':
      return `${at}: must be ${show(p.allowedValue)}`;
    case 'type':
      return `${at}: must be ${p.type === 'integer' ? 'an integer' : `a${/^[aeiou]/.test(String(p.type)) ? 'n' : ''} ${String(p.type)}`}, got ${show(e.data)}`;
    case 'pattern':
      return `${at}: '${String(e.data)}' does not match ${String(p.pattern)}`;
    case 'minLength':
      return p.limit === 1 ? `${at}: must not be empty` : `${at}: must be at least ${String(p.limit)} characters long`;
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return `${at}: must be ${String(p.comparison)} ${String(p.limit)}, got ${show(e.data)}`;
    case 'multipleOf':
      return `${at}: must be a multiple of ${String(p.multipleOf)}, got ${show(e.data)}`;
    default:
      return `${at}: ${e.message ?? e.keyword}`;
  }
}

let validator: ValidateFunction | undefined;
async function loadValidator(): Promise<ValidateFunction> {
  if (validator === undefined) {
    const schema = JSON.parse(await readFile(path.join(STREAMS_DIR, 'schema.json'), 'utf8')) as object;
    // allErrors: every problem in the one line, not just the first; verbose: the values in it.
    validator = new Ajv({ allErrors: true, verbose: true, discriminator: true }).compile(schema);
  }
  return validator;
}

/** Problems of a preset's value as 'field: problem' strings, in schema order (empty when valid). */
async function presetProblems(value: unknown): Promise<string[]> {
  const validate = await loadValidator();
  if (validate(value)) return [];
  const lines = (validate.errors ?? []).map(describe).filter((l): l is string => l !== undefined);
  return [...new Set(lines)];
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
  const errors = await presetProblems(value);
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
  let dicom: OpenedDicomSource | undefined;
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
    // A DICOM cine loop is fed to FFmpeg through stdin, with its header's size, rate and calibration.
    if (await isDicomFile(source.path)) dicom = await openDicomSource(source.path);
    if (dicom !== undefined) source = dicom.spec;
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
  if (dicom !== undefined) {
    cfg.probe = dicom.probe;
    if (dicom.calibration !== undefined) cfg.calibration = { ...dicom.calibration, source: `DICOM ${dicom.calibration.source}` };
  }
  const st = preset.settings ?? {};
  if (st.viewCodec !== undefined) cfg.viewCodec = st.viewCodec;
  if (st.stallTimeoutS !== undefined) cfg.stallTimeoutS = st.stallTimeoutS;
  if (st.reconnectInitialMs !== undefined) cfg.reconnectInitialMs = st.reconnectInitialMs;
  if (st.reconnectMaxMs !== undefined) cfg.reconnectMaxMs = st.reconnectMaxMs;
  return cfg;
}
