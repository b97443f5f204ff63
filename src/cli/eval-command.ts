/** `sgus eval`: test mode, IoU and Dice against masks. */
import { rmSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { formatMeasurements } from '../core/gland-measurements.js';
import type { PixelScale } from '../core/gland-measurements.js';
import { encodePngRgb } from '../core/image-io.js';
import { expandFrames } from '../dicom/dicom-inputs.js';
import { describeError } from '../errors.js';
import { createSegmenter } from '../segmenter/segmenter.js';
import { evaluate, reportMarkdown } from '../segmenter/evaluation.js';
import { MODEL_OPTIONS, MODEL_OPTIONS_HELP, engineOptions, parse } from './args.js';
import type { CliCommand } from './command.js';
import { expandImageInputs, stemOf } from './inputs.js';
import { evalScores } from './eval-scores.js';
import { ProgressBar } from './progress.js';

const help = `Usage: sgus eval --images DIR --masks DIR [options]
       sgus eval --images DIR --scores CSV [--masks DIR] [options]

Test mode: segments every image in DIR and compares it with the mask of the same stem in the masks
folder (non-zero = gland); frame N of a DICOM cine loop <stem>.dcm is matched with mask <stem>-f<N>. Prints IoU and Dice per image with
the predicted gland's area, perimeter, length and depth (mm from a DICOM file's calibration, else
pixels, labelled so), the mean, and per device when a
manifest.json (list of {id, device}) sits in or beside the images folder. Writes a JSON and a
Markdown report.

With --scores, also the gland's ultrasound score (models/sgus-score) against the CSV's reference
grades: quadratic-weighted κ, accuracy and the confusion matrix per score (OMERACT, De Vita), per
centre and per gland type, beside the score card's leave-one-centre-out κ. The shipped score model
learned the 225 benchmark frames: κ on those is no validation figure, the card's is (the report says
so). A research aid, not a diagnosis.

Options:
      --images DIR        folder of PNG/JPEG images or DICOM files (.dcm) (required)
      --masks DIR         folder of masks, matched by file stem (required without --scores)
      --scores CSV        reference scores, the HarmonicSS metadata's format
                          (image,centre,gland,machine,devita_score,omeract_score), images matched
                          by file name; report: out/eval-scores-<model>.json, or beside --report
                          as <report>-scores.json with --masks, or --report itself without
  -r, --report FILE       JSON report path; the Markdown goes beside it as .md (default: out/eval-<model>.json)
  -q, --quiet             no progress bar
${MODEL_OPTIONS_HELP}

Example:
  sgus eval --images ../shared/data/sgus/annotated/images --masks ../shared/data/sgus/annotated/masks
  sgus eval --images ../shared/data/sgus/unlabeled --scores ../shared/data/sgus/unlabeled/metadata.csv`;

const command: CliCommand = {
  help,
  async run(args) {
    const { values } = parse(args, { ...MODEL_OPTIONS, images: { type: 'string' }, masks: { type: 'string' }, scores: { type: 'string' }, report: { type: 'string', short: 'r' }, quiet: { type: 'boolean', short: 'q' } }, false);
    const imagesDir = values.images as string | undefined;
    const masksDir = values.masks as string | undefined;
    const scoresCsv = values.scores as string | undefined;
    if (imagesDir === undefined || (masksDir === undefined && scoresCsv === undefined)) {
      process.stderr.write("sgus eval: --images DIR and --masks DIR (or --scores CSV) are required (see 'sgus eval --help')\n");
      return 2;
    }
    const { files: listed, missing } = await expandImageInputs([imagesDir]);
    if (missing.length > 0) {
      process.stderr.write(`sgus eval: ${imagesDir}: no such folder\n`);
      return 1;
    }
    const reportOption = values.report as string | undefined;
    const scores = async (report: string | undefined): Promise<number> =>
      scoresCsv === undefined ? 0 : evalScores({ files: listed, csv: scoresCsv, ...(report !== undefined ? { report } : {}), segmenter: engineOptions(values), quiet: values.quiet === true });
    if (masksDir === undefined) return scores(reportOption);
    // DICOM frames are scored as lossless PNGs named by frame (<stem>-f<N>), in a temporary folder.
    const expanded = await expandFrames(listed);
    for (const e of [...expanded.errors, ...expanded.warnings]) process.stderr.write(`sgus eval: ${e}\n`);
    const files: string[] = [];
    // A DICOM frame's measurements are in mm from its file's calibration (the PNG has none).
    const calibrations = new Map<string, PixelScale>();
    let frameDir: string | undefined;
    for (const f of expanded.frames) {
      if (f.calibration !== undefined) calibrations.set(f.stem, f.calibration);
      if (f.dicom === undefined) {
        files.push(f.file);
        continue;
      }
      frameDir ??= await mkdtemp(path.join(tmpdir(), 'sgus-eval-dicom-'));
      try {
        const png = path.join(frameDir, `${f.stem}.png`);
        await writeFile(png, encodePngRgb(await f.load()));
        files.push(png);
      } catch (err) {
        process.stderr.write(`sgus eval: ${describeError(err)}\n`);
      }
    }
    // Removed on exit, whichever way the command ends (exit handlers run synchronously).
    process.once('exit', () => {
      if (frameDir !== undefined) rmSync(frameDir, { recursive: true, force: true });
    });
    if (files.length === 0) {
      process.stderr.write(`sgus eval: ${imagesDir}: no PNG or JPEG images\n`);
      return 1;
    }
    // Paired by stem before the model loads: with no pair at all there is nothing to score, and a
    // mean over no image is no figure ("mean IoU NaN").
    let maskEntries: string[];
    try {
      maskEntries = await readdir(masksDir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      process.stderr.write(`sgus eval: ${masksDir}: ${code === 'ENOENT' ? 'no such folder' : code === 'ENOTDIR' ? 'not a folder' : 'cannot read the masks folder'}\n`);
      return 1;
    }
    const maskStems = new Set(maskEntries.map(stemOf));
    if (!files.some((f) => maskStems.has(stemOf(f)))) {
      process.stderr.write(`sgus eval: none of the ${files.length} images in ${imagesDir} has a mask of the same name in ${masksDir}: nothing to score\n`);
      return 1;
    }
    const segmenter = await createSegmenter(engineOptions(values));
    process.stderr.write(`model ${segmenter.card.name} (${segmenter.card.architecture}), ${segmenter.engineInfo.reason}\n`);
    const bar = new ProgressBar(files.length, { label: 'eval', quiet: values.quiet === true });
    let report;
    try {
      report = await evaluate(segmenter, files, masksDir, imagesDir, {
        calibrationOf: (id) => calibrations.get(id),
        onImage: (id, score, error) => {
          if (error !== undefined) bar.log(`sgus eval: ${error}`);
          bar.tick(score !== undefined ? `${id} IoU ${score.iou.toFixed(3)}` : id);
        },
      });
    } finally {
      bar.close();
      await segmenter.close();
    }
    if (report.overall.count === 0) {
      process.stderr.write(`sgus eval: no image could be scored (${report.errors.length} errors above); no report written\n`);
      return 1;
    }
    const jsonPath = (values.report as string | undefined) ?? path.join('out', `eval-${report.model}.json`);
    const mdPath = jsonPath.replace(/\.json$/i, '') + '.md';
    await mkdir(path.dirname(jsonPath), { recursive: true });
    await writeFile(jsonPath, `${JSON.stringify(report, null, 2)}\n`);
    await writeFile(mdPath, reportMarkdown(report));
    for (const s of report.images) {
      const extra = `${s.publishedModelIou !== undefined ? `  (published model ${s.publishedModelIou.toFixed(3)})` : ''}${s.trainedOn === true ? '  [trained on this frame]' : ''}`;
      process.stdout.write(`${s.id.padEnd(12)} ${(s.device ?? '').padEnd(16)} IoU ${s.iou.toFixed(3)}  Dice ${s.dice.toFixed(3)}${extra}  ${formatMeasurements(s.measurements)}\n`);
    }
    for (const [d, s] of Object.entries(report.perDevice)) process.stdout.write(`device ${d}: ${s.count} images, mean IoU ${s.meanIou.toFixed(3)}, mean Dice ${s.meanDice.toFixed(3)}\n`);
    process.stdout.write(`mean IoU ${report.overall.meanIou.toFixed(3)}, mean Dice ${report.overall.meanDice.toFixed(3)} over ${report.overall.count} images (model ${report.model})\n`);
    const seen = report.overall.count - report.unseen.count;
    if (seen > 0) {
      // A score on a training frame measures memory, not accuracy: say so where it is read.
      process.stderr.write(`sgus eval: ${seen} of the ${report.overall.count} frames were in the model's training data (its card lists them); `
        + (report.unseen.count > 0 ? `over the ${report.unseen.count} it never saw: mean IoU ${report.unseen.meanIou.toFixed(3)}. ` : '')
        + `The honest figures are the card's held-out validation: sgus models\n`);
    }
    process.stderr.write(`report: ${jsonPath}, ${mdPath}\n`);
    const scoresCode = await scores(jsonPath.replace(/\.json$/i, '') + '-scores.json');
    return report.errors.length > 0 ? 1 : scoresCode;
  },
};

export default command;
