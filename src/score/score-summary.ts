/**
 * The per-exam score over a clip. One frame is a noisy view of a gland (probe angle, a frame
 * where the gland is half out of view), so the exam's grade is taken over the frames where the
 * gland is clearly seen:
 *   - its area is at least `minAreaShare` of the largest area in the clip (the gland in full view,
 *     not entering or leaving it), and
 *   - the model's confidence in that score's grade is at least `minConfidence`.
 * The grade is the median of those frames' grades, given with its spread: how many frames had
 * each grade and the share agreeing with the median. A research aid, not a diagnosis.
 *
 * Bounded: it keeps the last `maxFrames` scored frames of a stream (live streams run for hours);
 * a replay's summary covers the whole clip up to that many frames.
 */
import type { ScoreCard, ScoreKey } from './score-card.js';
import { RESEARCH_LABEL } from './score-card.js';
import type { GlandScore } from './scorer.js';

export interface ScoreSummaryOptions {
  /** A frame counts where its gland area is at least this share of the clip's largest. Default `SCORE_SUMMARY_DEFAULTS.minAreaShare`. */
  minAreaShare?: number;
  /** ... and its grade's probability is at least this. Default `SCORE_SUMMARY_DEFAULTS.minConfidence`. */
  minConfidence?: number;
  /** Scored frames kept (the latest). Default `SCORE_SUMMARY_DEFAULTS.maxFrames` (10 min at 30 fps). */
  maxFrames?: number;
}

export const SCORE_SUMMARY_DEFAULTS = {
  minAreaShare: 0.5,
  minConfidence: 0.5,
  maxFrames: 18_000,
} as const;

export interface ScoreSummaryOfKey {
  /** Median grade of the frames that count; null where none counts. */
  grade: number | null;
  /** Frames that count. */
  frames: number;
  /** Frames per grade 0–3 among those that count. */
  distribution: number[];
  /** Share of the counted frames whose grade is the median grade. */
  agreeing: number | null;
  /** Mean probability of the counted frames' grades. */
  meanConfidence: number | null;
}

export interface ScoreSummary {
  stream: string;
  label: typeof RESEARCH_LABEL;
  /** Frames with a score (a gland found). */
  framesScored: number;
  /** Largest gland area among them, source pixels. */
  largestArea: number;
  criteria: { minAreaShare: number; minConfidence: number; rule: string };
  omeract: ScoreSummaryOfKey;
  deVita: ScoreSummaryOfKey;
  model?: string;
  /** The card's honest figure, weighted κ by leave one centre out (per frame, not per exam). */
  validation?: { method: 'leave-one-centre-out'; omeractKappa: number | null; deVitaKappa: number | null };
}

interface Entry {
  area: number;
  grade: Record<ScoreKey, number>;
  confidence: Record<ScoreKey, number>;
}

export class ScoreSummaryCollector {
  readonly #minArea: number;
  readonly #minConf: number;
  readonly #max: number;
  readonly #streams = new Map<string, Entry[]>();

  constructor(options: ScoreSummaryOptions = {}) {
    const d = SCORE_SUMMARY_DEFAULTS;
    this.#minArea = options.minAreaShare ?? d.minAreaShare;
    this.#minConf = options.minConfidence ?? d.minConfidence;
    this.#max = options.maxFrames ?? d.maxFrames;
  }

  /** One frame's result; frames without a score are ignored. */
  add(streamId: string, area: number, score: GlandScore | undefined): void {
    if (score === undefined || !(area > 0)) return;
    let list = this.#streams.get(streamId);
    if (list === undefined) this.#streams.set(streamId, (list = []));
    list.push({
      area,
      grade: { omeract: score.omeract.grade, deVita: score.deVita.grade },
      confidence: { omeract: score.omeract.confidence, deVita: score.deVita.confidence },
    });
    if (list.length > this.#max) list.splice(0, list.length - this.#max);
  }

  streams(): string[] {
    return [...this.#streams.keys()];
  }

  /** The summary of a stream so far (an empty one where no frame was scored). */
  summary(streamId: string, card?: ScoreCard): ScoreSummary {
    const list = this.#streams.get(streamId) ?? [];
    const largest = list.reduce((m, e) => Math.max(m, e.area), 0);
    const seen = list.filter((e) => e.area >= this.#minArea * largest);
    const of = (k: ScoreKey): ScoreSummaryOfKey => {
      const counted = seen.filter((e) => e.confidence[k] >= this.#minConf);
      const distribution = [0, 0, 0, 0];
      for (const e of counted) distribution[e.grade[k]] = (distribution[e.grade[k]] ?? 0) + 1;
      if (counted.length === 0) return { grade: null, frames: 0, distribution, agreeing: null, meanConfidence: null };
      // Median of integer grades: the smallest grade whose cumulative count reaches half.
      let cum = 0;
      let grade = 0;
      for (let g = 0; g < distribution.length; g++) {
        cum += distribution[g]!;
        if (cum * 2 >= counted.length) {
          grade = g;
          break;
        }
      }
      return {
        grade,
        frames: counted.length,
        distribution,
        agreeing: round(distribution[grade]! / counted.length),
        meanConfidence: round(counted.reduce((a, e) => a + e.confidence[k], 0) / counted.length),
      };
    };
    const s: ScoreSummary = {
      stream: streamId,
      label: RESEARCH_LABEL,
      framesScored: list.length,
      largestArea: largest,
      criteria: {
        minAreaShare: this.#minArea,
        minConfidence: this.#minConf,
        rule: `frames whose gland area is at least ${this.#minArea} of the clip's largest and whose grade's probability is at least ${this.#minConf}; grade = their median`,
      },
      omeract: of('omeract'),
      deVita: of('deVita'),
    };
    if (card !== undefined) {
      s.model = card.name;
      s.validation = {
        method: 'leave-one-centre-out',
        omeractKappa: card.validation.leaveOneCentreOut.omeract.overall.kappa,
        deVitaKappa: card.validation.leaveOneCentreOut.deVita.overall.kappa,
      };
    }
    return s;
  }
}

/** One console line of a summary. */
export function formatScoreSummary(s: ScoreSummary): string {
  const part = (name: string, k: ScoreSummaryOfKey): string =>
    k.grade === null ? `${name} n/a (no frame clearly seen)` : `${name} ${k.grade} (${k.frames} frames, ${Math.round((k.agreeing ?? 0) * 100)} % agree, grades 0-3: ${k.distribution.join('/')})`;
  return `${s.stream}: exam score ${part('OMERACT', s.omeract)}, ${part('De Vita', s.deVita)} over ${s.framesScored} scored frames — ${s.label}`;
}

/** A short status line of a summary so far (streams' status every second). */
export function scoreStatusLine(s: ScoreSummary): string {
  const g = (k: ScoreSummaryOfKey): string => (k.grade === null ? '–' : `${k.grade} (${k.frames} frames, ${Math.round((k.agreeing ?? 0) * 100)} % agree)`);
  return `${s.stream}: exam score so far OMERACT ${g(s.omeract)}, De Vita ${g(s.deVita)} — research aid`;
}

function round(v: number): number {
  return Math.round(v * 1e4) / 1e4;
}
