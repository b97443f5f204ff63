/**
 * Writes synthetic ultrasound-like frames with their exact gland masks in the layout of the real
 * data (`manifest.json`, `images/`, `masks/`), so that the training tool can mix them in: the
 * same generator makes the bundled sample exam, the tests' clips and these frames.
 *
 *   node --import tsx scripts/make-synthetic-dataset.ts --out DIR [--count 48] [--seed 1]
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { encodePngGrey, encodePngRgb } from '../src/core/image-io.js';
import { mulberry32, syntheticFrame } from '../src/synthetic/ultrasound-frame.js';

const { values } = parseArgs({ options: { out: { type: 'string' }, count: { type: 'string' }, seed: { type: 'string' } } });
if (values.out === undefined) {
  console.error('usage: node --import tsx scripts/make-synthetic-dataset.ts --out DIR [--count 48] [--seed 1]');
  process.exit(2);
}
const count = Number(values.count ?? 48);
const seed = Number(values.seed ?? 1);
if (!Number.isInteger(count) || count < 1 || !Number.isInteger(seed)) {
  console.error('make-synthetic-dataset: --count must be a positive integer and --seed an integer');
  process.exit(2);
}
const out = values.out;
await mkdir(path.join(out, 'images'), { recursive: true });
await mkdir(path.join(out, 'masks'), { recursive: true });
const rnd = mulberry32(seed);
// Sizes of the scanners' frames and of the sample exam, so the network sees the same aspect ratios.
const sizes: Array<[number, number]> = [[640, 480], [800, 555], [960, 720], [1280, 720], [854, 478]];
const manifest: Array<{ id: string; image: string; mask: string; device: string; source: string }> = [];
for (let k = 0; k < count; k++) {
  const [width, height] = sizes[k % sizes.length]!;
  const f = syntheticFrame({ width, height, seed: seed * 1000 + k, t: rnd() * 20 });
  const id = `syn-${String(k).padStart(3, '0')}`;
  await writeFile(path.join(out, 'images', `${id}.png`), encodePngRgb(f.image));
  await writeFile(path.join(out, 'masks', `${id}.png`), encodePngGrey(f.mask));
  manifest.push({ id, image: `images/${id}.png`, mask: `masks/${id}.png`, device: 'synthetic', source: 'synthetic' });
}
await writeFile(path.join(out, 'manifest.json'), `${JSON.stringify(manifest, null, 1)}\n`);
console.log(`make-synthetic-dataset: ${count} frames with masks in ${out}`);
