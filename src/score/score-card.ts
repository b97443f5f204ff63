/**
 * The ultrasound score's model card (`models/sgus-score/card.json`, kind "score"), written by
 * models/training/score_train.py: which features the model reads (and their version, which must
 * match src/score/gland-features.ts), its outputs, classes and validation figures.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ErrorCode, SgusError } from '../errors.js';
import { GLAND_FEATURE_COUNT, GLAND_FEATURE_NAMES, GLAND_FEATURES_VERSION } from './gland-features.js';

export type ScoreKey = 'omeract' | 'deVita';
export const SCORE_KEYS: readonly ScoreKey[] = ['omeract', 'deVita'];
export const RESEARCH_LABEL = 'research aid, not a diagnosis';

/** Weighted κ, accuracy and confusion (rows reference, columns prediction), as the card stores them. */
export interface CardAgreement {
  n: number;
  kappa: number | null;
  accuracy: number | null;
  confusion: number[][];
}

export interface ScoreValidation {
  leaveOneCentreOut: Record<ScoreKey, { overall: CardAgreement; meanCentreKappa: number | null; worstCentreKappa: number | null; perCentre: Record<string, CardAgreement>; perGland: Record<string, CardAgreement> }>;
  stratified5Fold: Record<ScoreKey, { overall: CardAgreement; perGland: Record<string, CardAgreement> }>;
  published: { radiomicsMlpKappaVsReference: number; cliniciansMeanKappa: number; intraReaderKappa: number; source: string };
  [more: string]: unknown;
}

export interface ScoreCard {
  schema: number;
  kind: 'score';
  name: string;
  file: string;
  format: 'onnx';
  researchUse: string;
  features: { version: string; names: string[]; count: number };
  input: { name: string };
  /** One probability output [N, classes] per score; `decision` turns it into the grade. */
  outputs: Record<ScoreKey, { name: string; decision: 'argmax' | 'expected' }>;
  classes: number[];
  training: { frames: number; date: string; tool: string; [more: string]: unknown };
  validation: ScoreValidation;
}

export interface LoadedScoreCard {
  card: ScoreCard;
  cardPath: string;
  modelPath: string;
}

function fail(where: string, what: string): never {
  throw new SgusError(ErrorCode.ModelInvalid, `score card: ${what}`, { where });
}

/** Checks a parsed card against what the runtime computes; throws one line naming the field. */
export function validateScoreCard(raw: unknown, where: string): ScoreCard {
  if (typeof raw !== 'object' || raw === null) fail(where, 'not a JSON object');
  const c = raw as Record<string, unknown>;
  if (c.kind !== 'score') fail(where, `field 'kind' must be 'score'`);
  if (typeof c.name !== 'string' || typeof c.file !== 'string') fail(where, `fields 'name' and 'file' must be strings`);
  if (c.format !== 'onnx') fail(where, `field 'format' must be 'onnx'`);
  const f = c.features as ScoreCard['features'] | undefined;
  if (f === undefined || typeof f.version !== 'string' || !Array.isArray(f.names)) fail(where, `field 'features' must give version and names`);
  // The model learned these exact features: another version or order would score garbage.
  if (f.version !== GLAND_FEATURES_VERSION) fail(where, `features are '${f.version}' but this runtime computes '${GLAND_FEATURES_VERSION}'`);
  if (f.names.length !== GLAND_FEATURE_COUNT || f.names.some((n, k) => n !== GLAND_FEATURE_NAMES[k])) fail(where, `feature names differ from src/score/gland-features.ts`);
  const input = c.input as { name?: unknown } | undefined;
  if (typeof input?.name !== 'string') fail(where, `field 'input.name' must be a string`);
  const outputs = c.outputs as Record<string, { name?: unknown; decision?: unknown }> | undefined;
  for (const k of SCORE_KEYS) {
    const o = outputs?.[k];
    if (typeof o?.name !== 'string') fail(where, `field 'outputs.${k}.name' must be a string`);
    if (o.decision !== 'argmax' && o.decision !== 'expected') fail(where, `field 'outputs.${k}.decision' must be argmax or expected`);
  }
  if (!Array.isArray(c.classes) || c.classes.length !== 4 || c.classes.some((v, k) => v !== k)) fail(where, `field 'classes' must be [0, 1, 2, 3]`);
  if (c.researchUse !== RESEARCH_LABEL) fail(where, `field 'researchUse' must be '${RESEARCH_LABEL}'`);
  const v = c.validation as Partial<ScoreValidation> | undefined;
  for (const k of SCORE_KEYS) {
    if (v?.leaveOneCentreOut?.[k]?.overall === undefined || v.stratified5Fold?.[k]?.overall === undefined) fail(where, `field 'validation' lacks the ${k} figures`);
  }
  return raw as ScoreCard;
}

/** Reads `<dir>/card.json` (or a card path) and resolves its model file. */
export async function loadScoreCard(dirOrCard: string): Promise<LoadedScoreCard> {
  const cardPath = dirOrCard.endsWith('.json') ? dirOrCard : path.join(dirOrCard, 'card.json');
  let text: string;
  try {
    text = await readFile(cardPath, 'utf8');
  } catch (err) {
    throw new SgusError(ErrorCode.ModelInvalid, `no score card (${(err as NodeJS.ErrnoException).code ?? 'unreadable'})`, { where: cardPath, cause: err });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    fail(cardPath, 'not valid JSON');
  }
  const card = validateScoreCard(raw, cardPath);
  return { card, cardPath, modelPath: path.resolve(path.dirname(cardPath), card.file) };
}

/** One line for a report: the card's honest figure of a score (leave one centre out). */
export function locoLine(card: ScoreCard, key: ScoreKey): string {
  const l = card.validation.leaveOneCentreOut[key];
  const fmt = (v: number | null | undefined): string => (typeof v === 'number' ? v.toFixed(3) : 'n/a');
  return `leave-one-centre-out κ ${fmt(l.overall.kappa)} (worst centre ${fmt(l.worstCentreKappa)}), stratified 5-fold κ ${fmt(card.validation.stratified5Fold[key].overall.kappa)}`;
}
