/** `sgus segment`: the published DeepSGUS's image mode, four outputs per image. */
import { formatMeasurements, measureGland } from '../core/gland-measurements.js';
import { DicomOutputs } from '../dicom/dicom-outputs.js';
import { expandFrames } from '../dicom/dicom-inputs.js';
import { writeFrameMeasurements } from '../dicom/frame-measurements.js';
import { describeError } from '../errors.js';
import { createSegmenter } from '../segmenter/segmenter.js';
import { regionFromContours } from '../score/gland-features.js';
import { formatScore, scoreRecord, writeScore } from '../score/score-record.js';
import { GlandScorer, scoreModelPath } from '../score/scorer.js';
import { writeOutputs } from '../segmenter/outputs.js';
import { MODEL_OPTIONS, MODEL_OPTIONS_HELP, engineOptions, intOption, numberOption, parse, thresholdOption } from './args.js';
import path from 'node:path';
import type { CliCommand } from './command.js';
import { expandImageInputs, IMAGE_EXTENSIONS } from './inputs.js';
import { ProgressBar } from './progress.js';

const help = `Usage: sgus segment [options] INPUT...

Segments the salivary gland in PNG or JPEG images (any size, grey or colour) and DICOM ultrasound
files (single or multi-frame; frame N of a multi-frame file is <stem>-f<N>) and writes, for each
image <stem>, the four outputs of the published DeepSGUS into the output folder:
  <stem>_SG_PerPixelPredictions.png   class map, 0 background / 1 gland (looks black: values are 0/1)
  <stem>_SG_Black&White.png           mask, 0 / 255
  <stem>_SG_ContourOverInput.png      the outline drawn over the input
  <stem>_SG_Contour_Points.txt        outline points in input pixels, one 'x y' pair a line
                                      ('# contour ...' lines separate outlines and holes; a first
                                      '# gland area ... perimeter ... length ... depth ...' line
                                      gives the figures, mm when calibrated, else px)
  <stem>_SG_Score.json                the gland's ultrasound score: OMERACT and De Vita grade 0–3, each
                                      with its confidence and class probabilities, and the model's
                                      leave-one-centre-out κ (a research aid, not a diagnosis; null
                                      where no gland was found; not written with --no-score or where
                                      no score model is installed under models/sgus-score)
  <stem>_SG_Measurements.json         DICOM inputs: area (mm², cm²), perimeter, length, depth (mm)
                                      from the file's calibration; in pixels, so labelled, without one

INPUT is an image file or a folder of images (.png .jpg .jpeg .dcm). An unreadable or non-image input
gets a one-line error naming it; the others are still done; the exit code is then 1.

Options:
  -o, --out DIR           output folder (default: ./out)
      --dicom-out DIR     for each DICOM input, also write <stem>.seg.dcm (DICOM Segmentation) and
                          <stem>.sr.dcm (TID 1500 measurement report) there (default: none)
  -b, --batch N           images per inference call (default: 4)
      --threshold P       gland probability threshold, in (0,1) (default: 0.5)
      --min-area F        drop specks smaller than this fraction of the image (default: 0.002)
      --simplify PX       simplify contour points to this tolerance in pixels (default: 0, every boundary pixel)
      --all-regions       keep every region over --min-area, not only the largest (default: as the
                          model card says; models validated on one gland per frame keep the largest)
      --no-score          no ultrasound score (default: scored where models/sgus-score is installed)
  -q, --quiet             no progress bar
${MODEL_OPTIONS_HELP}

Examples:
  sgus segment ../shared/data/sgus/annotated/images --out out/
  sgus segment scan.png --model unet-s --device cuda
  sgus segment exam.dcm --out out/ --dicom-out out/dicom/`;

const command: CliCommand = {
  help,
  async run(args) {
    const { values, positionals } = parse(args, {
      ...MODEL_OPTIONS,
      out: { type: 'string', short: 'o' },
      'dicom-out': { type: 'string' },
      batch: { type: 'string', short: 'b' },
      threshold: { type: 'string' },
      'min-area': { type: 'string' },
      simplify: { type: 'string' },
      'all-regions': { type: 'boolean' },
      'no-score': { type: 'boolean' },
      quiet: { type: 'boolean', short: 'q' },
    });
    if (positionals.length === 0) {
      process.stderr.write("sgus segment: no input given (see 'sgus segment --help')\n");
      return 2;
    }
    const out = (values.out as string | undefined) ?? 'out';
    const batchSize = intOption(values.batch, 'batch', 1, 4);
    const threshold = thresholdOption(values.threshold, 0.5);
    const minArea = numberOption(values['min-area'], 'min-area', 0, 0.002);
    const simplify = numberOption(values.simplify, 'simplify', 0, 0);
    const quiet = values.quiet === true;

    const { files: inputFiles, missing, empty } = await expandImageInputs(positionals);
    let failed = 0;
    for (const m of missing) {
      process.stderr.write(`sgus segment: ${m}: no such file or folder\n`);
      failed++;
    }
    for (const d of empty) {
      process.stderr.write(`sgus segment: ${d}: no images in this folder (no ${IMAGE_EXTENSIONS.slice(0, -1).join(', ')} or ${IMAGE_EXTENSIONS.at(-1)!} file)\n`);
      failed++;
    }
    // Nothing to segment: the lines above say why; no model to load for nothing.
    if (inputFiles.length === 0) return 1;
    // DICOM files become one input per frame; a file that cannot be read is one line, the rest go on.
    const expanded = await expandFrames(inputFiles);
    for (const e of expanded.errors) process.stderr.write(`sgus segment: ${e}\n`);
    for (const w of expanded.warnings) process.stderr.write(`sgus segment: warning: ${w}\n`);
    failed += expanded.errors.length;
    const files = expanded.frames;
    const dicomOut = typeof values['dicom-out'] === 'string' ? new DicomOutputs({ dir: values['dicom-out'] }) : undefined;
    const segmenter = await createSegmenter({ ...engineOptions(values), threshold, minComponentFraction: minArea, maxHoleFraction: minArea, simplify, ...(values['all-regions'] === true ? { singleRegion: false } : {}) });
    process.stderr.write(`model ${segmenter.card.name} (${segmenter.card.architecture}), ${segmenter.engineInfo.reason}\n`);
    let scorer: GlandScorer | undefined;
    if (values['no-score'] !== true) {
      try {
        scorer = await GlandScorer.createIfPresent();
      } catch (err) {
        await segmenter.close();
        throw err;
      }
      process.stderr.write(scorer === undefined
        ? `no score model at ${scoreModelPath()}: outlines only, no ultrasound score\n`
        : `score ${scorer.card.name}: OMERACT and De Vita grades, a research aid, not a diagnosis\n`);
    }
    const bar = new ProgressBar(files.length, { label: 'segment', quiet });
    const started = performance.now();
    let done = 0;
    let inferMs = 0;
    try {
      for (let i = 0; i < files.length; i += batchSize) {
        const chunk = files.slice(i, i + batchSize);
        // Decode the chunk; a bad file is reported and left out, the rest go on.
        const decoded = await Promise.all(
          chunk.map(async (f) => {
            try {
              return { file: f, image: await f.load() };
            } catch (err) {
              bar.log(`sgus segment: ${describeError(err)}`);
              failed++;
              bar.tick();
              return undefined;
            }
          }),
        );
        const ok = decoded.filter((d): d is NonNullable<typeof d> => d !== undefined);
        if (ok.length === 0) continue;
        const t0 = performance.now();
        const segs = await segmenter.segmentBatch(ok.map((d) => d.image));
        inferMs += performance.now() - t0;
        for (let k = 0; k < ok.length; k++) {
          const d = ok[k]!;
          try {
            // In mm for a calibrated DICOM frame, else in pixels (labelled so in the header).
            const m = measureGland(segs[k]!, d.file.calibration);
            await writeOutputs(out, d.file.stem, d.image, segs[k]!, {}, m);
            if (scorer !== undefined) {
              const seg = segs[k]!;
              const region = regionFromContours(seg.contours, seg.area);
              const score = region === undefined ? undefined : await scorer.score(d.image, seg.classMap, region);
              const record = score === undefined ? null : scoreRecord(score, scorer.card);
              await writeScore(out, d.file.stem, record);
              if (quiet !== true && files.length <= 20) bar.log(`${d.file.stem}: ${record === null ? 'no gland found, no score' : formatScore(record)}`);
            }
            if (d.file.dicom !== undefined) {
              await writeFrameMeasurements(out, d.file, m);
              dicomOut?.add(d.file.dicom.instance, stemOfFile(d.file.file), d.file.dicom.frame, segs[k]!.classMap, m);
              if (quiet !== true && files.length <= 20) bar.log(`${d.file.stem}: ${formatMeasurements(m)}`);
            }
            done++;
          } catch (err) {
            bar.log(`sgus segment: ${d.file.stem}: cannot write outputs: ${describeError(err)}`);
            failed++;
          }
          bar.tick(d.file.stem);
        }
      }
      // Whatever was segmented of each DICOM instance is written, also after failed frames.
      for (const f of await dicomOut?.finishAll().catch((err: unknown) => {
        bar.log(`sgus segment: ${describeError(err)}`);
        failed++;
        return [];
      }) ?? []) bar.log(`sgus segment: wrote ${f}`);
    } finally {
      bar.close();
      await segmenter.close();
      await scorer?.close();
    }
    const secs = (performance.now() - started) / 1000;
    process.stderr.write(
      `segmented ${done} image${done === 1 ? '' : 's'} into ${out}/ in ${secs.toFixed(1)} s (${done > 0 ? (inferMs / done).toFixed(1) : '0'} ms/image segmentation)` +
        `${failed > 0 ? `; ${failed} failed` : ''}\n`,
    );
    return failed > 0 ? 1 : 0;
  },
};

function stemOfFile(file: string): string {
  return path.basename(file, path.extname(file));
}

export default command;
