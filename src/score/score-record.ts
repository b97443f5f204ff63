/**
 * The score of one frame as written beside the outline (`<stem>_SG_Score.json` of `sgus segment`,
 * and what a pipeline stage would put in its NDJSON line): grades, confidences, probabilities, the
 * research-aid label and the card's honest figure (leave one centre out) beside it.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ScoreCard } from './score-card.js';
import type { GlandScore, Grade } from './scorer.js';
import type { WireScoreFigures } from '../shared/protocol.js';

export interface ScoreRecord {
  omeract: Grade;
  deVita: Grade;
  label: GlandScore['label'];
  model: string;
  /** Weighted κ against the reference by leave one centre out, from the card. */
  validation: { method: 'leave-one-centre-out'; omeractKappa: number | null; deVitaKappa: number | null };
}

/** The card's figures a viewer shows one click away (the wire type). */
export type ScoreFigures = WireScoreFigures;

export function scoreFigures(card: ScoreCard): ScoreFigures {
  const v = card.validation;
  return {
    method: 'leave-one-centre-out',
    omeractKappa: v.leaveOneCentreOut.omeract.overall.kappa,
    deVitaKappa: v.leaveOneCentreOut.deVita.overall.kappa,
    publishedModelKappa: v.published.radiomicsMlpKappaVsReference,
    cliniciansKappa: v.published.cliniciansMeanKappa,
    intraReaderKappa: v.published.intraReaderKappa,
  };
}

export function scoreRecord(score: GlandScore, card: ScoreCard): ScoreRecord {
  const round = (g: Grade): Grade => ({ grade: g.grade, confidence: Number(g.confidence.toFixed(4)), probabilities: g.probabilities.map((p) => Number(p.toFixed(4))) });
  return {
    omeract: round(score.omeract),
    deVita: round(score.deVita),
    label: score.label,
    model: card.name,
    validation: {
      method: 'leave-one-centre-out',
      omeractKappa: card.validation.leaveOneCentreOut.omeract.overall.kappa,
      deVitaKappa: card.validation.leaveOneCentreOut.deVita.overall.kappa,
    },
  };
}

export function scorePath(dir: string, stem: string): string {
  return path.join(dir, `${stem}_SG_Score.json`);
}

/** Writes `<stem>_SG_Score.json`: `{ image, score }`, score null where no gland was found. */
export async function writeScore(dir: string, stem: string, record: ScoreRecord | null): Promise<string> {
  await mkdir(dir, { recursive: true });
  const p = scorePath(dir, stem);
  await writeFile(p, `${JSON.stringify({ image: stem, score: record }, null, 2)}\n`);
  return p;
}

/** One line for a log: grades and confidences with the label. */
export function formatScore(r: ScoreRecord): string {
  return `OMERACT ${r.omeract.grade} (p ${r.omeract.confidence.toFixed(2)}), De Vita ${r.deVita.grade} (p ${r.deVita.confidence.toFixed(2)}) — ${r.label}`;
}
