/**
 * `sgus replay exam.dcm --dicom-out DIR`: a DICOM cine loop replayed frame by frame through the
 * Segmenter (frames decoded in Node), at the loop's own frame rate with --realtime, writing the
 * same per-frame NDJSON as a video replay plus each frame's measurements, and its Segmentation and
 * measurement report. Without --dicom-out a DICOM replay goes through the pipeline like a video
 * (pipeline/dicom-source.ts); this loop stays for --dicom-out because the Segmentation needs each
 * frame's mask at the source size, and the pipeline carries outlines at the model's working size.
 */
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { formatMeasurements, measureGland } from '../core/gland-measurements.js';
import type { GlandMeasurements } from '../core/gland-measurements.js';
import { isDicomFile, openDicom } from '../dicom/dicom-inputs.js';
import { measurementRecord } from '../dicom/frame-measurements.js';
import { decodeFrame } from '../dicom/pixel-decode.js';
import { describeError, ErrorCode, SgusError } from '../errors.js';
import { createSegmenter } from '../segmenter/segmenter.js';
import { engineOptions, intOption, MODEL_OPTIONS, numberOption, parse, thresholdOption } from './args.js';
import { PIPELINE_OPTIONS, SERVER_OPTIONS, writeJson } from './stream-options.js';

export const DICOM_REPLAY_HELP = `DICOM cine loops (FILE.dcm: US Image / US Multi-frame Image Storage) replay like a video file:
  FFmpeg reads the frames from its stdin (JPEG Baseline as they are, other transfer syntaxes
  decoded first), timed by the file's Frame Time / Frame Time Vector / Cine Rate (25 frames/s when
  it says none), so --realtime, --loop, --serve, the annotated video and presets work as for an
  MP4. The file's calibration (ultrasound region, else Pixel Spacing) scales the figures in the
  NDJSON and the viewer (mm; pixels, labelled, when it has none; --mm-per-px overrides it).
      --dicom-out DIR     write <stem>.seg.dcm (Segmentation) and <stem>.sr.dcm (TID 1500 report);
                          the frames are then segmented one by one at the source size (the
                          Segmentation needs full-size masks): NDJSON and metrics only, no
                          --serve, --loop or annotated video`;

/** Whether the replay's argument is a DICOM file (any argument that is one). */
export async function isDicomReplay(args: readonly string[]): Promise<boolean> {
  for (const a of args) if (!a.startsWith('-') && (await isDicomFile(a))) return true;
  return false;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export async function runDicomReplay(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { ...MODEL_OPTIONS, ...PIPELINE_OPTIONS, ...SERVER_OPTIONS, out: { type: 'string', short: 'o' }, 'dicom-out': { type: 'string' }, 'no-video': { type: 'boolean' }, realtime: { type: 'boolean' }, 'max-speed': { type: 'boolean' }, serve: { type: 'boolean' }, loop: { type: 'boolean' } });
  if (positionals.length !== 1) throw new SgusError(ErrorCode.InvalidArgument, `replay takes one FILE or URL, got ${positionals.length} (see --help)`);
  const file = positionals[0]!;
  if (values.serve === true || values.loop === true) throw new SgusError(ErrorCode.InvalidArgument, `${file}: --serve and --loop do not go with --dicom-out (full-size masks are made frame by frame); replay without --dicom-out for them`);
  if (values.realtime === true && values['max-speed'] === true) throw new SgusError(ErrorCode.InvalidArgument, '--realtime and --max-speed exclude each other');
  const batch = intOption(values.batch, 'batch', 1, 4);
  const threshold = thresholdOption(values.threshold, 0.5);
  const simplify = numberOption(values.simplify, 'simplify', 0, 1);
  const quiet = values.quiet === true;
  const inst = await openDicom(file).catch((err: unknown) => {
    throw err instanceof SgusError ? new SgusError(err.code, err.message) : err;
  });
  for (const w of inst.warnings) process.stderr.write(`sgus replay: ${file}: warning: ${w}\n`);
  const frameMs = inst.frameTimeMs ?? 40;
  if (inst.frameTimeMs === undefined && inst.frames > 1) process.stderr.write(`sgus replay: ${file}: no Frame Time, Frame Time Vector or Cine Rate; timing frames at 25 frames/s\n`);
  const realtime = values.realtime === true;
  const out = values.out as string | undefined;
  const stem = path.basename(file).replace(/\.[^.]*$/, '').replace(/[^\w.@+-]+/g, '_') || 'dicom';
  // Loaded here: every 'sgus replay' imports this file, and the writers' dcmjs costs start-up.
  const dicomOut = typeof values['dicom-out'] === 'string' ? new (await import('../dicom/dicom-outputs.js')).DicomOutputs({ dir: values['dicom-out'] }) : undefined;
  const segmenter = await createSegmenter({ ...engineOptions(values), threshold, simplify, ...(values['all-regions'] === true ? { singleRegion: false } : {}) });
  if (!quiet) process.stderr.write(`sgus: ${segmenter.engineInfo.reason}; model ${segmenter.card.name}; ${file} ${inst.image.columns}x${inst.image.rows} ${inst.frames} frames at ${(1000 / frameMs).toFixed(1)} frames/s, ${inst.calibration !== undefined ? `calibrated ${inst.calibration.mmPerPxX.toFixed(4)} x ${inst.calibration.mmPerPxY.toFixed(4)} mm/pixel (${inst.calibration.source})` : 'uncalibrated: figures in pixels'}${realtime ? ', real time' : ', max speed'}\n`);
  let ndjson: ReturnType<typeof createWriteStream> | undefined;
  if (out !== undefined) {
    await mkdir(out, { recursive: true });
    ndjson = createWriteStream(path.join(out, `${stem}.contours.ndjson`));
  }
  let interrupted = false;
  const onSignal = (): void => {
    interrupted = true;
  };
  process.on('SIGINT', onSignal);
  const started = performance.now();
  let done = 0;
  let failed = 0;
  let last: GlandMeasurements | undefined;
  try {
    for (let i = 0; i < inst.frames && !interrupted; i += batch) {
      const indices = Array.from({ length: Math.min(batch, inst.frames - i) }, (_, k) => i + k);
      if (realtime) {
        // A frame is not segmented before its time in the loop, as when it comes from the scanner.
        const due = started + (indices[indices.length - 1]! * frameMs);
        const wait = due - performance.now();
        if (wait > 0) await sleep(wait);
      }
      const t0 = performance.now();
      const decoded = indices.flatMap((k) => {
        try {
          return [{ k, image: decodeFrame(inst, k) }];
        } catch (err) {
          process.stderr.write(`sgus replay: ${describeError(err)}\n`);
          failed++;
          return [];
        }
      });
      const t1 = performance.now();
      const segs = await segmenter.segmentBatch(decoded.map((d) => d.image));
      const t2 = performance.now();
      for (let j = 0; j < decoded.length; j++) {
        const { k } = decoded[j]!;
        const seg = segs[j]!;
        const m = measureGland(seg, inst.calibration);
        last = m;
        dicomOut?.add(inst, stem, k, seg.classMap, m);
        if (ndjson !== undefined) {
          const line = JSON.stringify({
            stream: 'replay',
            index: k,
            pts: Math.round(k * frameMs * 1000) / 1e6,
            width: seg.width,
            height: seg.height,
            area: seg.area,
            contours: seg.contours.map((c) => ({ hole: c.hole, parent: c.parent, points: c.points.map(([x, y]) => [Math.round(x * 10) / 10, Math.round(y * 10) / 10]) })),
            measurements: measurementRecord({ file, calibration: inst.calibration, dicom: { instance: inst, frame: k } }, m),
            batch: decoded.length,
            latencyMs: { decode: round2((t1 - t0) / decoded.length), inference: round2(t2 - t1), total: round2(performance.now() - t0) },
          });
          if (!ndjson.write(`${line}\n`)) await new Promise<void>((resolve) => ndjson!.once('drain', resolve));
        }
        done++;
      }
    }
    // Whatever was segmented is written, also after an interruption or failed frames.
    const written = (await dicomOut?.finishAll()) ?? [];
    if (ndjson !== undefined) await new Promise<void>((resolve) => ndjson!.end(resolve));
    const seconds = (performance.now() - started) / 1000;
    if (out !== undefined) {
      await writeJson(path.join(out, `${stem}.metrics.json`), {
        source: file,
        dicom: { sopInstanceUid: inst.sopInstanceUid, transferSyntaxUid: inst.transferSyntaxUid, frames: inst.frames, declaredFrames: inst.declaredFrames, frameTimeMs: inst.frameTimeMs ?? null, calibration: inst.calibration ?? null, warnings: inst.warnings },
        mode: realtime ? 'realtime' : 'max-speed',
        model: segmenter.card.name,
        engine: segmenter.engineInfo,
        seconds: Math.round(seconds * 1000) / 1000,
        fps: seconds > 0 ? Math.round((done / seconds) * 100) / 100 : 0,
        framesOut: done,
        failed,
        interrupted,
      });
    }
    process.stderr.write(`sgus: replay: ${done} of ${inst.frames} frames in ${seconds.toFixed(1)} s (${seconds > 0 ? (done / seconds).toFixed(1) : '0'} fps)${failed > 0 ? `, ${failed} failed` : ''}${last !== undefined ? `; last frame ${formatMeasurements(last)}` : ''}\n`);
    const files = [...(out !== undefined ? [path.join(out, `${stem}.contours.ndjson`), path.join(out, `${stem}.metrics.json`)] : []), ...written];
    if (files.length > 0) process.stderr.write(`sgus: wrote ${files.join(', ')}\n`);
    return interrupted ? 130 : failed > 0 ? 1 : 0;
  } finally {
    process.off('SIGINT', onSignal);
    ndjson?.destroy();
    await segmenter.close();
  }
}

function round2(v: number): number {
  return Math.round(v * 100) / 100;
}
