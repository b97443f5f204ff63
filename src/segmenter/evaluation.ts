/**
 * Test mode: IoU and Dice of a segmenter against reference masks, per image, overall and per
 * device (when a `manifest.json` names devices), as the DeepSGUS paper reports it.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { measureGland } from '../core/gland-measurements.js';
import type { GlandMeasurements, PixelScale } from '../core/gland-measurements.js';
import { rgbToGrey } from '../core/image.js';
import { readImage } from '../core/image-io.js';
import { overlap } from '../core/overlap.js';
import { ErrorCode, SgusError, describeError } from '../errors.js';
import type { Segmenter } from './segmenter.js';

export interface ImageScore {
  id: string;
  device?: string;
  /** The published DeepSGUS model's IoU on this frame, where the manifest gives it (for comparison). */
  publishedModelIou?: number;
  /** True when the model's card lists this frame among its training frames: its score is no measure. */
  trainedOn?: boolean;
  iou: number;
  dice: number;
  predictedArea: number;
  referenceArea: number;
  ms: number;
  /** The predicted gland's area, perimeter, length and depth: mm when the frame is calibrated (a DICOM frame), else pixels, labelled by `calibrated` and each unit. */
  measurements: GlandMeasurements;
}

export interface Summary {
  count: number;
  meanIou: number;
  meanDice: number;
  minIou: number;
  maxIou: number;
}

export interface EvaluationReport {
  model: string;
  engine: string;
  imagesDir: string;
  masksDir: string;
  date: string;
  images: ImageScore[];
  overall: Summary;
  /** Over the frames the model did not train on (all of them when the card lists no training frames). */
  unseen: Summary;
  perDevice: Record<string, Summary>;
  errors: string[];
}

export function summarize(scores: readonly ImageScore[]): Summary {
  const n = scores.length;
  const ious = scores.map((s) => s.iou);
  return {
    count: n,
    meanIou: n === 0 ? NaN : ious.reduce((a, b) => a + b, 0) / n,
    meanDice: n === 0 ? NaN : scores.reduce((a, s) => a + s.dice, 0) / n,
    minIou: n === 0 ? NaN : Math.min(...ious),
    maxIou: n === 0 ? NaN : Math.max(...ious),
  };
}

export interface ManifestEntry {
  device?: string;
  publishedModelIou?: number;
}

/** Reads `manifest.json` (a list of {id, device, published_model_iou}) next to the images folder, if any. */
export async function readManifest(imagesDir: string): Promise<Map<string, ManifestEntry>> {
  const devices = new Map<string, ManifestEntry>();
  for (const candidate of [path.join(imagesDir, 'manifest.json'), path.join(path.dirname(path.resolve(imagesDir)), 'manifest.json')]) {
    const text = await readFile(candidate, 'utf8').catch(() => undefined);
    if (text === undefined) continue;
    try {
      const list = JSON.parse(text) as Array<{ id?: string; image?: string; device?: string; published_model_iou?: number }>;
      for (const e of Array.isArray(list) ? list : []) {
        const id = e.id ?? (e.image !== undefined ? path.basename(e.image, path.extname(e.image)) : undefined);
        if (id === undefined) continue;
        const entry: ManifestEntry = {};
        if (typeof e.device === 'string') entry.device = e.device;
        if (typeof e.published_model_iou === 'number') entry.publishedModelIou = e.published_model_iou;
        devices.set(id, entry);
      }
    } catch (err) {
      throw new SgusError(ErrorCode.UnsupportedFormat, `manifest is not valid JSON: ${describeError(err)}`, { where: candidate });
    }
    break;
  }
  return devices;
}

/** The frame ids the model's card says it trained on (`training.frames`), if it lists them. */
export function trainingFrames(segmenter: Segmenter): Set<string> {
  const frames = segmenter.card.training?.['frames'];
  return new Set(Array.isArray(frames) ? frames.filter((f): f is string => typeof f === 'string') : []);
}

export interface EvaluateOptions {
  /** Called after each image (for progress bars). */
  onImage?: (id: string, score: ImageScore | undefined, error?: string) => void;
  /** The pixel size of an image by id (a calibrated DICOM frame). Default: none (figures in pixels). */
  calibrationOf?: (id: string) => PixelScale | undefined;
}

/** Pairs `images` with masks by stem and scores each pair. Missing masks and bad files are listed in `errors`. */
export async function evaluate(segmenter: Segmenter, imageFiles: readonly string[], masksDir: string, imagesDir: string, options: EvaluateOptions = {}): Promise<EvaluationReport> {
  const manifest = await readManifest(imagesDir);
  const trained = trainingFrames(segmenter);
  const maskFiles = new Map<string, string>();
  const { readdir } = await import('node:fs/promises');
  let entries: string[];
  try {
    entries = await readdir(masksDir);
  } catch (err) {
    throw new SgusError(ErrorCode.FileUnreadable, `cannot read masks folder: ${describeError(err)}`, { where: masksDir });
  }
  for (const e of entries) maskFiles.set(path.basename(e, path.extname(e)), path.join(masksDir, e));
  const scores: ImageScore[] = [];
  const errors: string[] = [];
  for (const file of imageFiles) {
    const id = path.basename(file, path.extname(file));
    const maskFile = maskFiles.get(id);
    try {
      if (maskFile === undefined) throw new SgusError(ErrorCode.FileUnreadable, `no mask with stem '${id}' in ${masksDir}`, { where: file, fatal: false });
      const [image, maskRgb] = await Promise.all([readImage(file), readImage(maskFile)]);
      const mask = rgbToGrey(maskRgb);
      if (mask.width !== image.width || mask.height !== image.height) {
        throw new SgusError(ErrorCode.InvalidArgument, `mask is ${mask.width}x${mask.height} but the image is ${image.width}x${image.height}`, { where: maskFile, fatal: false });
      }
      const t0 = performance.now();
      const seg = await segmenter.segment(image);
      const ms = performance.now() - t0;
      const o = overlap(seg.classMap, mask);
      const m = manifest.get(id) ?? {};
      const score: ImageScore = {
        id, iou: o.iou, dice: o.dice, predictedArea: o.predicted, referenceArea: o.reference, ms,
        measurements: measureGland(seg, options.calibrationOf?.(id)),
        ...(m.device !== undefined ? { device: m.device } : {}),
        ...(m.publishedModelIou !== undefined ? { publishedModelIou: m.publishedModelIou } : {}),
        ...(trained.has(id) ? { trainedOn: true } : {}),
      };
      scores.push(score);
      options.onImage?.(id, score);
    } catch (err) {
      const msg = describeError(err);
      errors.push(msg);
      options.onImage?.(id, undefined, msg);
    }
  }
  const perDevice: Record<string, Summary> = {};
  for (const d of new Set(scores.map((s) => s.device).filter((d): d is string => d !== undefined))) {
    perDevice[d] = summarize(scores.filter((s) => s.device === d));
  }
  return {
    model: segmenter.card.name,
    engine: segmenter.engineInfo.reason,
    imagesDir,
    masksDir,
    date: new Date().toISOString(),
    images: scores,
    overall: summarize(scores),
    unseen: summarize(scores.filter((s) => s.trainedOn !== true)),
    perDevice,
    errors,
  };
}

const f3 = (x: number): string => (Number.isFinite(x) ? x.toFixed(3) : '–');
const UNIT: Record<string, string> = { mm2: 'mm²', cm2: 'cm²', mm: 'mm', px2: 'px²', px: 'px' };
/** A measured figure with its unit, as read in a report ("314.2 mm²", "5196 px²"). */
export function figure(f: { value: number; unit: string }): string {
  return `${f.unit === 'px2' ? String(Math.round(f.value)) : f.value.toFixed(1)} ${UNIT[f.unit] ?? f.unit}`;
}

export function reportMarkdown(r: EvaluationReport): string {
  const lines = [
    `# Segmentation accuracy: ${r.model}`,
    '',
    `Images \`${r.imagesDir}\`, masks \`${r.masksDir}\`, ${r.date}. Engine: ${r.engine}.`,
    '',
    `**Mean IoU ${f3(r.overall.meanIou)}, mean Dice ${f3(r.overall.meanDice)}** over ${r.overall.count} images (IoU min ${f3(r.overall.minIou)}, max ${f3(r.overall.maxIou)}).`,
    '',
  ];
  const seen = r.images.filter((s) => s.trainedOn === true).length;
  if (seen > 0) {
    lines.push(`**${seen} of these ${r.images.length} frames were in the model's training data**: their scores say how well it learned them, not how well it segments a new frame. Over the ${r.unseen.count} frames it never saw: mean IoU ${f3(r.unseen.meanIou)}, mean Dice ${f3(r.unseen.meanDice)}. The honest figures are the card's held-out validation (\`sgus models\`).`, '');
  }
  const published = r.images.filter((s) => s.publishedModelIou !== undefined);
  if (published.length > 0) {
    const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
    lines.push(`On the ${published.length} frames where the manifest gives the published DeepSGUS model's IoU: this model ${f3(mean(published.map((s) => s.iou)))}, the published model ${f3(mean(published.map((s) => s.publishedModelIou!)))}.`, '');
  }
  const devs = Object.entries(r.perDevice);
  if (devs.length > 0) {
    lines.push('| device | images | mean IoU | mean Dice |', '| --- | ---: | ---: | ---: |');
    for (const [d, s] of devs) lines.push(`| ${d} | ${s.count} | ${f3(s.meanIou)} | ${f3(s.meanDice)} |`);
    lines.push('');
  }
  lines.push('| image | device | IoU | Dice | published model IoU | trained on it | predicted px | reference px | gland area | perimeter | length | depth | ms |', '| --- | --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const s of r.images) {
    const m = s.measurements;
    lines.push(`| ${s.id} | ${s.device ?? ''} | ${f3(s.iou)} | ${f3(s.dice)} | ${s.publishedModelIou !== undefined ? f3(s.publishedModelIou) : ''} | ${s.trainedOn === true ? 'yes' : ''} | ${s.predictedArea} | ${s.referenceArea} | ${figure(m.area)} | ${figure(m.perimeter)} | ${figure(m.length)} | ${figure(m.depth)} | ${s.ms.toFixed(0)} |`);
  }
  if (r.images.some((s) => !s.measurements.calibrated)) lines.push('', 'Figures in px are of uncalibrated frames (no scale in the file): pixels, not millimetres.');
  if (r.errors.length > 0) lines.push('', '## Errors', '', ...r.errors.map((e) => `- ${e}`));
  return `${lines.join('\n')}\n`;
}
