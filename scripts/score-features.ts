/**
 * The training table of the ultrasound score: segments the 225 benchmark frames with the default
 * model (as `sgus segment` does, field of view included) and writes, per frame, the gland features
 * of src/score/gland-features.ts beside the metadata's centre, gland, machine and both scores.
 *
 *   npx tsx scripts/score-features.ts [--data DIR] [--out FILE]
 * Defaults: ../shared/data/sgus/unlabeled, models/training/cache/score-features.csv (git-ignored:
 * features of the real frames stay out of the repository).
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { readImage } from '../src/core/image-io.js';
import { PACKAGE_ROOT } from '../src/segmenter/model-registry.js';
import { createSegmenter } from '../src/segmenter/segmenter.js';
import { GLAND_FEATURE_NAMES, GLAND_FEATURES_VERSION, glandFeatures } from '../src/score/gland-features.js';
import { readScoreCsv } from '../src/score/score-csv.js';

const { values } = parseArgs({ options: { data: { type: 'string' }, out: { type: 'string' }, model: { type: 'string' } } });
const dataDir = values.data ?? path.resolve(PACKAGE_ROOT, '..', 'shared', 'data', 'sgus', 'unlabeled');
const outFile = values.out ?? path.join(PACKAGE_ROOT, 'models', 'training', 'cache', 'score-features.csv');
const rows = readScoreCsv(await readFile(path.join(dataDir, 'metadata.csv'), 'utf8'));
const segmenter = await createSegmenter({ threads: 1, ...(values.model !== undefined ? { model: values.model } : {}) });
const lines = [`# ${GLAND_FEATURES_VERSION} segmenter ${segmenter.card.name}`, ['image', 'centre', 'gland', 'machine', 'devita_score', 'omeract_score', 'gland_pixels', ...GLAND_FEATURE_NAMES].join(',')];
let featureMs = 0;
for (const r of rows) {
  const image = await readImage(path.join(dataDir, r.image));
  const seg = await segmenter.segment(image);
  const t0 = performance.now();
  const f = glandFeatures(image, seg.classMap);
  featureMs += performance.now() - t0;
  const q = (s: string): string => (/[",]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  lines.push([q(r.image), q(r.centre ?? ''), q(r.gland ?? ''), q(r.machine ?? ''), r.deVita ?? '', r.omeract ?? '', seg.area, ...Array.from(f, (v) => Number(v.toPrecision(7)))].join(','));
}
await segmenter.close();
await mkdir(path.dirname(outFile), { recursive: true });
await writeFile(outFile, `${lines.join('\n')}\n`);
process.stderr.write(`${rows.length} frames, ${GLAND_FEATURE_NAMES.length} features (${(featureMs / rows.length).toFixed(2)} ms/frame features) → ${outFile}\n`);
