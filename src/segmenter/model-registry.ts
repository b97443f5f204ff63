/**
 * Finding models: `--model` takes a name under `models/`, a model folder, a `card.json` or an
 * `.onnx` file (whose card sits beside it). Without `--model`, the card marked `"default": true`.
 */
import { readFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrorCode, SgusError } from '../errors.js';
import { loadCard } from './model-card.js';
import type { LoadedCard } from './model-card.js';

/** The package root: `src/segmenter/` and `dist/segmenter/` are both two levels below it. */
export const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const MODELS_DIR = process.env.SGUS_MODELS_DIR ?? path.join(PACKAGE_ROOT, 'models');

async function isDir(p: string): Promise<boolean> {
  return stat(p).then((s) => s.isDirectory(), () => false);
}
async function isFile(p: string): Promise<boolean> {
  return stat(p).then((s) => s.isFile(), () => false);
}

async function isScoreCard(cardPath: string): Promise<boolean> {
  try {
    return (JSON.parse(await readFile(cardPath, 'utf8')) as { kind?: unknown }).kind === 'score';
  } catch {
    return false;
  }
}

/** Every model folder under `modelsDir` with a readable card; unreadable cards are reported, not fatal. */
export async function listModels(modelsDir = MODELS_DIR): Promise<{ models: LoadedCard[]; problems: string[] }> {
  const models: LoadedCard[] = [];
  const problems: string[] = [];
  let entries: string[] = [];
  try {
    entries = (await readdir(modelsDir)).sort();
  } catch {
    return { models, problems: [`${modelsDir}: no models folder`] };
  }
  for (const e of entries) {
    const dir = path.join(modelsDir, e);
    if (!(await isFile(path.join(dir, 'card.json')))) continue;
    // The ultrasound score's card (kind 'score', src/score/score-card.ts) is no segmenter.
    if (await isScoreCard(path.join(dir, 'card.json'))) continue;
    try {
      models.push(await loadCard(dir));
    } catch (err) {
      problems.push((err as Error).message);
    }
  }
  return { models, problems };
}

/** Resolves `--model` (or the default) to a loaded card. */
export async function resolveModel(spec: string | undefined, modelsDir = MODELS_DIR): Promise<LoadedCard> {
  if (spec === undefined || spec === '') {
    const { models } = await listModels(modelsDir);
    const def = models.find((m) => m.card.default === true) ?? models[0];
    if (def === undefined) throw new SgusError(ErrorCode.ModelInvalid, 'no model found; train one (models/training/README.md) or pass --model PATH', { where: modelsDir });
    return def;
  }
  if (spec.endsWith('.onnx') && (await isFile(spec))) {
    const loaded = await loadCard(path.join(path.dirname(spec), 'card.json'));
    return { ...loaded, modelPath: path.resolve(spec) };
  }
  if (spec.endsWith('.json') && (await isFile(spec))) return loadCard(spec);
  if (await isDir(spec)) return loadCard(spec);
  const named = path.join(modelsDir, spec);
  if (await isDir(named)) return loadCard(named);
  const { models } = await listModels(modelsDir);
  throw new SgusError(ErrorCode.InvalidArgument, `unknown model '${spec}' (shipped: ${models.map((m) => m.card.name).join(', ') || 'none'}; or give a folder, card.json or .onnx path)`);
}
