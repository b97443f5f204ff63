/**
 * The README's "Gland score (research aid)" figures, written from the score card
 * (models/sgus-score/card.json) by `sgus models --update-docs README.md`, never typed: the
 * card's weighted κ by leave one centre out and by stratified 5-fold, beside the clinicians'
 * published κ.
 */
import type { ScoreCard, ScoreKey } from './score-card.js';

export const SCORE_DOCS_START = '<!-- sgus-score:start -->';
export const SCORE_DOCS_END = '<!-- sgus-score:end -->';

const fmt = (v: number | null | undefined, d = 3): string => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(d) : '–');

export function scoreMarkdown(card: ScoreCard): string {
  const v = card.validation;
  const p = v.published;
  const names: Record<ScoreKey, string> = { omeract: 'OMERACT (0–3)', deVita: 'De Vita (0–3)' };
  const rows = (['omeract', 'deVita'] as const).map((k) => {
    const l = v.leaveOneCentreOut[k];
    const s = v.stratified5Fold[k];
    return `| ${names[k]} | **${fmt(l.overall.kappa)}** | ${fmt(l.worstCentreKappa)} | ${fmt(l.overall.accuracy, 2)} | ${fmt(s.overall.kappa)} | ${fmt(s.overall.accuracy, 2)} |`;
  });
  const centres = Object.keys(v.leaveOneCentreOut.omeract.perCentre).length;
  const goal = p.radiomicsMlpKappaVsReference;
  const reached = (['omeract', 'deVita'] as const).filter((k) => (v.leaveOneCentreOut[k].overall.kappa ?? 0) >= goal);
  return [
    `Model \`${card.name}\` (${card.training.frames} frames, ${centres} centres; ${card.researchUse}). Weighted κ (quadratic) against the reference score, per frame, on frames of centres or folds the model never trained on:`,
    '',
    '| score | κ leave one centre out | worst centre κ | accuracy | κ stratified 5-fold | accuracy |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows,
    '',
    `Published on the same benchmark (${p.source}): the radiomics MLP κ ${fmt(p.radiomicsMlpKappaVsReference, 2)} against the reference, clinicians κ ${fmt(p.cliniciansMeanKappa, 2)} on average, one clinician with herself κ ${fmt(p.intraReaderKappa, 2)}.`,
    `Goal (κ ≥ ${fmt(goal, 2)} by leave one centre out, the published model's): ${reached.length === 2 ? 'reached for both scores' : reached.length === 1 ? `reached for ${names[reached[0]!]} only` : 'not reached'}.`,
  ].join('\n');
}

/** `text` with the block between the markers replaced by `body`; undefined where the markers are missing. */
export function replaceMarkedBlock(text: string, start: string, end: string, body: string): string | undefined {
  const a = text.indexOf(start);
  const b = text.indexOf(end);
  if (a < 0 || b < a) return undefined;
  return `${text.slice(0, a + start.length)}\n${body}\n${text.slice(b)}`;
}
