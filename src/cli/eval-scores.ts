/** `sgus eval --scores CSV`: the ultrasound score against reference grades (see src/score/score-evaluation.ts). */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describeError } from '../errors.js';
import { SCORE_KEYS } from '../score/score-card.js';
import { readScoreCsv } from '../score/score-csv.js';
import { evaluateScores, scoreLine, scoreReportMarkdown } from '../score/score-evaluation.js';
import { GlandScorer, scoreModelPath } from '../score/scorer.js';
import { createSegmenter } from '../segmenter/segmenter.js';
import type { SegmenterOptions } from '../segmenter/segmenter.js';
import { ProgressBar } from './progress.js';

export interface EvalScoresOptions {
  /** Image files to look the CSV's image names up in (by file name). */
  files: readonly string[];
  csv: string;
  /** JSON report path; the Markdown goes beside it. Default: out/eval-scores-<model>.json. */
  report?: string;
  segmenter: SegmenterOptions;
  quiet: boolean;
}

/** Runs the score evaluation and prints its lines; returns the exit code. */
export async function evalScores(o: EvalScoresOptions): Promise<number> {
  let rows;
  try {
    rows = readScoreCsv(await readFile(o.csv, 'utf8'), o.csv);
  } catch (err) {
    process.stderr.write(`sgus eval: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? `${o.csv}: no such file` : describeError(err)}\n`);
    return 1;
  }
  const byName = new Map(o.files.map((f) => [path.basename(f), f] as const));
  const matched = rows.filter((r) => byName.has(r.image));
  if (matched.length === 0) {
    process.stderr.write(`sgus eval: none of the ${rows.length} images of ${o.csv} is among the ${o.files.length} images given: no score to compare\n`);
    return 1;
  }
  const scorer = await GlandScorer.createIfPresent();
  if (scorer === undefined) {
    process.stderr.write(`sgus eval: no score model at ${scoreModelPath()}: --scores needs one (models/training/score_train.py)\n`);
    return 1;
  }
  const segmenter = await createSegmenter(o.segmenter).catch(async (err: unknown) => {
    await scorer.close();
    throw err;
  });
  process.stderr.write(`score ${scorer.card.name} on the outlines of ${segmenter.card.name}, ${matched.length} frames with a reference score\n`);
  const bar = new ProgressBar(matched.length, { label: 'scores', quiet: o.quiet });
  let report;
  try {
    report = await evaluateScores(segmenter, scorer, matched, byName, {
      onFrame: (image, error) => {
        if (error !== undefined) bar.log(`sgus eval: ${error}`);
        bar.tick(image);
      },
    });
  } finally {
    bar.close();
    await segmenter.close();
    await scorer.close();
  }
  const jsonPath = o.report ?? path.join('out', `eval-scores-${report.model}.json`);
  const mdPath = jsonPath.replace(/\.json$/i, '') + '.md';
  await mkdir(path.dirname(jsonPath), { recursive: true });
  await writeFile(jsonPath, `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(mdPath, scoreReportMarkdown(report));
  for (const k of SCORE_KEYS) process.stdout.write(`${scoreLine(report, k)}\n`);
  process.stdout.write(`ultrasound score: ${report.label}\n`);
  for (const n of report.notes) process.stderr.write(`sgus eval: ${n}\n`);
  process.stderr.write(`score report: ${jsonPath}, ${mdPath}\n`);
  return report.errors.length > 0 ? 1 : 0;
}
