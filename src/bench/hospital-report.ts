/**
 * The benchmark's hospital-side figures, rendered for the report, the console and the README
 * summary: the gland score's cost per frame (beside its ≤ 2 ms target), DICOM cine loops against the
 * same frames from MP4 (≤ 1.10× the time), and the PACS burst (instances per second, every result
 * stored, peak memory). Apart from report.ts so that each file keeps one concern and its size.
 */
import { SCORE_STAGE_DEFAULTS } from '../pipeline/score-stage.js';
import type { DicomCineBenchResult } from './dicom-cine.js';
import type { PacsBurstOutcome } from './pacs-burst.js';
import type { ScoreCost } from './score-cost.js';

export const HOSPITAL_TARGETS = { scoreMsPerFrame: 2, dicomRatio: 1.1 } as const;

export interface HospitalResults {
  /** The score stage's cost (raw section). */
  scoreCost?: ScoreCost | { skipped: string };
  /** DICOM cine loop vs MP4 of the same frames (dicom section). */
  dicom?: DicomCineBenchResult | { skipped: string };
  /** N images pushed to `sgus listen`, results stored on Orthanc (pacs section). */
  pacs?: PacsBurstOutcome;
}

const f = (v: number | undefined, digits = 1): string => (v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(digits));

function scoreLine(s: HospitalResults['scoreCost']): string | undefined {
  if (s === undefined) return undefined;
  if ('skipped' in s) return `Gland score: not measured (${s.skipped}).`;
  const every = SCORE_STAGE_DEFAULTS.every;
  return `Gland score (features + model, ${s.frames} frames timed): per scored frame ${f(s.modelMsPerFrame, 2)} ms wall / ${f(s.modelCpuMsPerFrame, 2)} ms CPU on model-size pixels, ${f(s.fullMsPerFrame, 2)} ms / ${f(s.fullCpuMsPerFrame, 2)} ms CPU on full frames (features alone ${f(s.featuresMsPerFrame, 2)} ms, model alone ${f(s.modelOnlyMsPerFrame, 2)} ms); the pipeline scores one frame in ${every}, so per frame **${f(s.fullCpuMsPerFrame / every, 2)} ms CPU** on full frames, ${f(s.modelCpuMsPerFrame / every, 2)} ms on model-size pixels (target ≤ ${HOSPITAL_TARGETS.scoreMsPerFrame} ms).`;
}

function dicomLine(d: HospitalResults['dicom']): string | undefined {
  if (d === undefined) return undefined;
  if ('skipped' in d) return `DICOM cine loop: not measured (${d.skipped}).`;
  return `DICOM: \`sgus replay\` of a ${d.frames}-frame JPEG Baseline cine loop (${d.size}) took **${f(d.dicomSeconds)} s**, the same frames from MP4 ${f(d.mp4Seconds)} s: **${f(d.ratio, 2)}×** (target ≤ ${HOSPITAL_TARGETS.dicomRatio}×; ${d.ndjsonLines.dicom} and ${d.ndjsonLines.mp4} frames segmented).`;
}

function pacsLine(p: HospitalResults['pacs']): string | undefined {
  if (p === undefined) return undefined;
  if (!p.ok) return `PACS burst: not measured (${p.reason}).`;
  const r = p.result;
  return `PACS burst: ${r.instances} ${r.size} US images pushed to \`sgus listen\` by storescu in one association (received in ${f(r.receiveSeconds)} s), each segmented and its Segmentation and report stored on Orthanc: **${f(r.instancesPerSecond, 2)} instances/s** receive → result stored (${r.segmentationsStored} Segmentations, ${r.reportsStored} reports in ${f(r.seconds)} s; ${r.model}), receiver's peak memory ${f(r.peakRssMiB, 0)} MiB.`;
}

/** One line per section measured. */
function hospitalLines(r: HospitalResults): string[] {
  return [scoreLine(r.scoreCost), dicomLine(r.dicom), pacsLine(r.pacs)].filter((l): l is string => l !== undefined);
}

/** The bullet lines of the README summary. */
export function hospitalSummary(r: HospitalResults): string[] {
  return hospitalLines(r).map((l) => `- ${l}`);
}

/** The report's "Hospital" section (empty when nothing was measured). */
export function hospitalMarkdown(r: HospitalResults): string[] {
  const bullets = hospitalSummary(r);
  return bullets.length === 0 ? [] : ['## Hospital: score, DICOM, PACS', '', ...bullets, ''];
}

/** Plain console lines. */
export function hospitalConsole(r: HospitalResults): string[] {
  return hospitalLines(r).map((l) => l.replace(/\*\*/g, '').replace(/`/g, ''));
}
