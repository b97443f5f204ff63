/**
 * Activation ranges for static int8 quantisation (models/training/quantize.py): runs the model that
 * `quantize.py prepare` wrote (every activation to quantise is an extra output) over calibration
 * frames and writes, per tensor, its min/max and a two-sided percentile range. Frames go through the
 * runtime's own pre-processing (src/segmenter/preprocess.ts, with the float model's card), so the
 * ranges are those of the inputs the product feeds.
 *
 *   npx tsx scripts/calibrate-activations.ts --model /tmp/calib.onnx --tensors /tmp/tensors.json \
 *     --card models/unet-mbv2-st/card.json --frames ../shared/data/sgus/unlabeled --out /tmp/ranges.json
 *     [--percentile 99.99] [--limit N] [--synthetic N]
 *
 * Two passes over the frames: the first finds each tensor's min/max, the second fills a histogram
 * over that span, from which the percentiles are read (no tensor is ever held whole across frames).
 * `--synthetic N` calibrates on N synthetic frames (src/synthetic) instead: for tests only, the
 * ranges of a real model must come from real frames.
 */
import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import ort from 'onnxruntime-node';
import type { RgbImage } from '../src/core/image.js';
import { readImage } from '../src/core/image-io.js';
import { loadCard } from '../src/segmenter/model-card.js';
import { preprocessBatch } from '../src/segmenter/preprocess.js';
import { syntheticFrame } from '../src/synthetic/ultrasound-frame.js';

const BINS = 4096;

const { values } = parseArgs({
  options: {
    model: { type: 'string' }, tensors: { type: 'string' }, card: { type: 'string' }, frames: { type: 'string', multiple: true },
    out: { type: 'string' }, percentile: { type: 'string' }, limit: { type: 'string' }, synthetic: { type: 'string' },
  },
});
if (values.model === undefined || values.tensors === undefined || values.card === undefined || values.out === undefined || (values.frames === undefined && values.synthetic === undefined)) {
  process.stderr.write('usage: calibrate-activations.ts --model M --tensors T.json --card CARD --frames DIR [--frames DIR...] | --synthetic N --out R.json [--percentile P] [--limit N]\n');
  process.exit(2);
}
const percentile = Number(values.percentile ?? '99.99');
if (!(percentile > 50 && percentile <= 100)) throw new Error(`--percentile ${values.percentile}: must be in (50, 100]`);
const { card } = await loadCard(values.card);
if (card.input.fieldOfView === true) throw new Error(`${values.card}: field-of-view models are not supported (the model window crop is not applied here)`);
const tensors = (JSON.parse(await import('node:fs').then((fs) => fs.readFileSync(values.tensors!, 'utf8'))) as { tensors: string[] }).tensors;

/** Calibration frames as file paths or synthetic seeds, loaded one at a time. */
const sources: Array<() => Promise<RgbImage>> = [];
if (values.synthetic !== undefined) {
  for (let k = 0; k < Number(values.synthetic); k++) sources.push(() => Promise.resolve(syntheticFrame({ seed: 100 + k }).image));
} else {
  for (const dir of values.frames!) {
    const names = (await readdir(dir)).filter((n) => /\.(png|jpe?g)$/i.test(n)).sort();
    for (const n of names) sources.push(() => readImage(path.join(dir, n)));
  }
}
const limit = values.limit === undefined ? sources.length : Math.min(sources.length, Number(values.limit));
// Evenly spaced, so a limit still spans every scanner of a folder sorted by acquisition.
const used = Array.from({ length: limit }, (_, k) => sources[Math.floor((k * sources.length) / limit)]!);
if (used.length === 0) throw new Error('no calibration frames');

// One thread: the machine is shared, and calibration is offline.
const session = await ort.InferenceSession.create(values.model, { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'basic' });
const inputName = card.input.name;
const fetches = tensors.filter((t) => t !== inputName);

async function* outputs(): AsyncGenerator<Record<string, Float32Array>> {
  for (const load of used) {
    const x = preprocessBatch(card, [await load()]);
    const res = await session.run({ [inputName]: new ort.Tensor('float32', x.data, x.dims) }, fetches);
    const out: Record<string, Float32Array> = {};
    for (const t of fetches) out[t] = res[t]!.data as Float32Array;
    // The input is a tensor to quantise too, and not among the session's outputs.
    if (tensors.includes(inputName)) out[inputName] = x.data;
    yield out;
  }
}

const lo = new Map<string, number>(tensors.map((t) => [t, Infinity]));
const hi = new Map<string, number>(tensors.map((t) => [t, -Infinity]));
for await (const out of outputs()) {
  for (const t of tensors) {
    const d = out[t]!;
    let a = lo.get(t)!;
    let b = hi.get(t)!;
    for (let i = 0; i < d.length; i++) {
      const v = d[i]!;
      if (v < a) a = v;
      if (v > b) b = v;
    }
    lo.set(t, a);
    hi.set(t, b);
  }
}
const hist = new Map<string, Float64Array>(tensors.map((t) => [t, new Float64Array(BINS)]));
for await (const out of outputs()) {
  for (const t of tensors) {
    const d = out[t]!;
    const a = lo.get(t)!;
    const w = (hi.get(t)! - a) / BINS || 1;
    const h = hist.get(t)!;
    for (let i = 0; i < d.length; i++) h[Math.min(BINS - 1, Math.floor((d[i]! - a) / w))]! += 1;
  }
}

/** The values below which `q` of the mass lies, read from the histogram (bin edges). */
function quantile(t: string, q: number): number {
  const h = hist.get(t)!;
  const a = lo.get(t)!;
  const w = (hi.get(t)! - a) / BINS;
  const total = h.reduce((s, v) => s + v, 0);
  let acc = 0;
  for (let i = 0; i < BINS; i++) {
    acc += h[i]!;
    if (acc >= q * total) return a + (i + 1) * w;
  }
  return hi.get(t)!;
}

const tail = (100 - percentile) / 100;
const result: Record<string, { min: number; max: number; pLow: number; pHigh: number }> = {};
for (const t of tensors) {
  const min = lo.get(t)!;
  const max = hi.get(t)!;
  // A lower tail of exact zeros (post-ReLU) keeps its min: the zero point must stay at 0.
  result[t] = { min, max, pLow: Math.max(min, quantile(t, tail) - (hi.get(t)! - min) / BINS), pHigh: Math.min(max, quantile(t, 1 - tail)) };
}
await writeFile(values.out, JSON.stringify({ frames: used.length, percentile, source: values.synthetic !== undefined ? `synthetic:${values.synthetic}` : values.frames, tensors: result }, null, 1) + '\n');
process.stdout.write(`calibrated ${tensors.length} tensors on ${used.length} frames -> ${values.out}\n`);
