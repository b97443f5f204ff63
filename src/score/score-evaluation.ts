/**
 * `sgus eval --scores`: the ultrasound score against reference grades (a CSV in the HarmonicSS
 * metadata's format): quadratic-weighted κ, accuracy and confusion per score, overall, per centre
 * and per gland type, with the card's leave-one-centre-out figure beside it. Frames the shipped
 * model learned are counted and said so: κ on them measures memory, not agreement.
 */
import { readImage } from '../core/image-io.js';
import { describeError } from '../errors.js';
import type { Segmenter } from '../segmenter/segmenter.js';
import { agreement } from './agreement.js';
import type { Agreement } from './agreement.js';
import { regionFromContours } from './gland-features.js';
import { RESEARCH_LABEL, SCORE_KEYS } from './score-card.js';
import type { ScoreKey } from './score-card.js';
import type { ScoreRow } from './score-csv.js';
import type { GlandScorer } from './scorer.js';

export const SCORE_NAMES: Record<ScoreKey, string> = { omeract: 'OMERACT', deVita: 'De Vita' };

export interface ScoredFrame {
  image: string;
  centre?: string;
  gland?: string;
  /** Reference grades from the CSV. */
  reference: Partial<Record<ScoreKey, number>>;
  /** Predicted grades; absent where no gland was found. */
  predicted?: Record<ScoreKey, { grade: number; confidence: number }>;
  trainedOn: boolean;
}

export interface ScoreAgreementReport {
  model: string;
  segmenter: string;
  date: string;
  label: typeof RESEARCH_LABEL;
  frames: ScoredFrame[];
  /** Per score: over every frame with a reference and a prediction. */
  overall: Record<ScoreKey, Agreement>;
  /** Over the frames the score model did not learn (none where it learned them all). */
  unseen: Record<ScoreKey, Agreement>;
  perCentre: Record<ScoreKey, Record<string, Agreement>>;
  perGland: Record<ScoreKey, Record<string, Agreement>>;
  /** The card's honest figures, beside the measured ones. */
  card: Record<ScoreKey, { leaveOneCentreOutKappa: number | null; stratified5FoldKappa: number | null }>;
  published: { radiomicsMlpKappaVsReference: number; cliniciansMeanKappa: number; intraReaderKappa: number };
  trainedOnCount: number;
  noGland: string[];
  errors: string[];
  notes: string[];
}

export interface ScoreEvaluateOptions {
  onFrame?: (image: string, error?: string) => void;
}

/** Segments and scores each row's image (`files` maps the CSV's image name to a path). */
export async function evaluateScores(segmenter: Segmenter, scorer: GlandScorer, rows: readonly ScoreRow[], files: ReadonlyMap<string, string>, options: ScoreEvaluateOptions = {}): Promise<ScoreAgreementReport> {
  const learned = new Set(scorer.card.training.images as string[] | undefined ?? []);
  const frames: ScoredFrame[] = [];
  const errors: string[] = [];
  const noGland: string[] = [];
  for (const row of rows) {
    const file = files.get(row.image);
    if (file === undefined) continue;
    const frame: ScoredFrame = { image: row.image, reference: {}, trainedOn: learned.has(row.image) };
    if (row.centre !== undefined) frame.centre = row.centre;
    if (row.gland !== undefined) frame.gland = row.gland;
    if (row.omeract !== undefined) frame.reference.omeract = row.omeract;
    if (row.deVita !== undefined) frame.reference.deVita = row.deVita;
    try {
      const image = await readImage(file);
      const seg = await segmenter.segment(image);
      const region = regionFromContours(seg.contours, seg.area);
      const s = region === undefined ? undefined : await scorer.score(image, seg.classMap, region);
      if (s === undefined) noGland.push(row.image);
      else frame.predicted = { omeract: { grade: s.omeract.grade, confidence: s.omeract.confidence }, deVita: { grade: s.deVita.grade, confidence: s.deVita.confidence } };
      frames.push(frame);
      options.onFrame?.(row.image);
    } catch (err) {
      const e = `${row.image}: ${describeError(err)}`;
      errors.push(e);
      options.onFrame?.(row.image, e);
    }
  }
  const agree = (list: readonly ScoredFrame[], key: ScoreKey): Agreement => {
    const scored = list.filter((f) => f.reference[key] !== undefined && f.predicted !== undefined);
    return agreement(scored.map((f) => f.reference[key]!), scored.map((f) => f.predicted![key].grade));
  };
  const by = (field: 'centre' | 'gland', key: ScoreKey): Record<string, Agreement> => {
    const out: Record<string, Agreement> = {};
    for (const v of [...new Set(frames.map((f) => f[field]).filter((x): x is string => x !== undefined))].sort()) out[v] = agree(frames.filter((f) => f[field] === v), key);
    return out;
  };
  const perKey = <T>(fn: (k: ScoreKey) => T): Record<ScoreKey, T> => ({ omeract: fn('omeract'), deVita: fn('deVita') });
  const trainedOnCount = frames.filter((f) => f.trainedOn).length;
  const v = scorer.card.validation;
  const notes: string[] = [];
  if (trainedOnCount > 0) {
    notes.push(`${trainedOnCount} of the ${frames.length} frames were in the score model's training data (the shipped model learned all ${scorer.card.training.frames} benchmark frames): κ on them is not a validation figure. The honest figure is the card's leave-one-centre-out κ.`);
  }
  if (noGland.length > 0) notes.push(`${noGland.length} frame${noGland.length === 1 ? '' : 's'} without a gland found, so without a score, ${noGland.length === 1 ? 'is' : 'are'} left out of κ: ${noGland.join(', ')}`);
  return {
    model: scorer.card.name,
    segmenter: segmenter.card.name,
    date: new Date().toISOString(),
    label: RESEARCH_LABEL,
    frames,
    overall: perKey((k) => agree(frames, k)),
    unseen: perKey((k) => agree(frames.filter((f) => !f.trainedOn), k)),
    perCentre: perKey((k) => by('centre', k)),
    perGland: perKey((k) => by('gland', k)),
    card: perKey((k) => ({ leaveOneCentreOutKappa: v.leaveOneCentreOut[k].overall.kappa, stratified5FoldKappa: v.stratified5Fold[k].overall.kappa })),
    published: { radiomicsMlpKappaVsReference: v.published.radiomicsMlpKappaVsReference, cliniciansMeanKappa: v.published.cliniciansMeanKappa, intraReaderKappa: v.published.intraReaderKappa },
    trainedOnCount,
    noGland,
    errors,
    notes,
  };
}

const f3 = (v: number | null | undefined): string => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(3) : 'n/a');

/** The stdout line of one score. */
export function scoreLine(r: ScoreAgreementReport, key: ScoreKey): string {
  const a = r.overall[key];
  return `${SCORE_NAMES[key]}: weighted κ ${f3(a.kappa)}, accuracy ${f3(a.accuracy)} over ${a.n} frames (card, leave one centre out: κ ${f3(r.card[key].leaveOneCentreOutKappa)}; stratified 5-fold: κ ${f3(r.card[key].stratified5FoldKappa)})`;
}

export function scoreReportMarkdown(r: ScoreAgreementReport): string {
  const lines = [`# Ultrasound score against the reference (${r.model}, segmenter ${r.segmenter})`, '', `*${r.label}.* ${r.date}`, ''];
  for (const n of r.notes) lines.push(`> ${n}`, '');
  lines.push('| score | frames | weighted κ | accuracy | card: leave-one-centre-out κ | card: stratified 5-fold κ |', '| --- | --- | --- | --- | --- | --- |');
  for (const k of SCORE_KEYS) lines.push(`| ${SCORE_NAMES[k]} | ${r.overall[k].n} | ${f3(r.overall[k].kappa)} | ${f3(r.overall[k].accuracy)} | ${f3(r.card[k].leaveOneCentreOutKappa)} | ${f3(r.card[k].stratified5FoldKappa)} |`);
  lines.push('', `Published (HarmonicSS, not measured here): radiomics MLP κ ${f3(r.published.radiomicsMlpKappaVsReference)} against the reference; clinicians' mean κ ${f3(r.published.cliniciansMeanKappa)}; one clinician with herself κ ${f3(r.published.intraReaderKappa)}.`, '');
  for (const k of SCORE_KEYS) {
    lines.push(`## ${SCORE_NAMES[k]}`, '', 'Confusion (rows reference, columns predicted):', '', '| ref \\ pred | 0 | 1 | 2 | 3 |', '| --- | --- | --- | --- | --- |');
    r.overall[k].confusion.forEach((row, g) => lines.push(`| ${g} | ${row.join(' | ')} |`));
    for (const [title, table] of [['centre', r.perCentre[k]], ['gland', r.perGland[k]]] as const) {
      if (Object.keys(table).length === 0) continue;
      lines.push('', `| ${title} | frames | weighted κ | accuracy |`, '| --- | --- | --- | --- |');
      for (const [name, a] of Object.entries(table)) lines.push(`| ${name} | ${a.n} | ${f3(a.kappa)} | ${f3(a.accuracy)} |`);
    }
    lines.push('');
  }
  return `${lines.join('\n')}\n`;
}
