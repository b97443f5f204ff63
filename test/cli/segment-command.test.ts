import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { decodeImage, encodeJpegRgb, encodePngGrey, encodePngRgb } from '../../src/core/image-io.js';
import { rgbToGrey } from '../../src/core/image.js';
import { syntheticFrame } from '../../src/synthetic/ultrasound-frame.js';
import { runCli } from '../helpers/cli.js';
import { realDataOrSkip } from '../helpers/data.js';
import { testModelSpec } from '../helpers/test-model.js';
import { PACKAGE_ROOT } from '../../src/segmenter/model-registry.js';

const modelArgs = (): string[] => {
  const m = testModelSpec();
  return m === undefined ? [] : ['--model', m];
};

test('segment writes the four DeepSGUS outputs per image and reports bad inputs in one line each, exit 1', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sgus-seg-'));
  const inDir = path.join(dir, 'in');
  const outDir = path.join(dir, 'out');
  await import('node:fs/promises').then((fs) => fs.mkdir(inDir));
  const colour = syntheticFrame({ width: 300, height: 200, seed: 1 });
  await writeFile(path.join(inDir, 'colour.png'), encodePngRgb(colour.image));
  await writeFile(path.join(inDir, 'grey.png'), encodePngGrey(rgbToGrey(syntheticFrame({ width: 180, height: 240, seed: 2 }).image)));
  await writeFile(path.join(inDir, 'photo.jpg'), encodeJpegRgb(syntheticFrame({ width: 256, height: 256, seed: 4 }).image));
  await writeFile(path.join(inDir, 'broken.png'), Buffer.from('this is not an image'));
  const r = await runCli(['segment', ...modelArgs(), '--out', outDir, '--quiet', inDir, path.join(dir, 'missing.png')]);
  assert.equal(r.code, 1, r.stderr);
  const errLines = r.stderr.split('\n').filter((l) => l.startsWith('sgus segment:'));
  assert.equal(errLines.length, 2, r.stderr);
  assert.ok(errLines.some((l) => l.includes('broken.png') && l.includes('not a PNG or JPEG')));
  assert.ok(errLines.some((l) => l.includes('missing.png')));
  assert.match(r.stderr, /segmented 3 images/);

  const files = (await readdir(outDir)).sort();
  for (const stem of ['colour', 'grey', 'photo']) {
    for (const suffix of ['_SG_PerPixelPredictions.png', '_SG_Black&White.png', '_SG_ContourOverInput.png', '_SG_Contour_Points.txt']) {
      assert.ok(files.includes(stem + suffix), `${stem}${suffix} missing`);
    }
  }
  const classMap = decodeImage(await readFile(path.join(outDir, 'colour_SG_PerPixelPredictions.png')));
  const bw = decodeImage(await readFile(path.join(outDir, 'colour_SG_Black&White.png')));
  const over = decodeImage(await readFile(path.join(outDir, 'colour_SG_ContourOverInput.png')));
  assert.equal(classMap.width, 300);
  assert.equal(classMap.height, 200);
  assert.equal(over.width, 300);
  for (let i = 0; i < 300 * 200; i++) {
    const c = classMap.data[i * 3]!;
    assert.ok(c === 0 || c === 1);
    assert.equal(bw.data[i * 3], c * 255);
  }
  // Contour points: 'x y' integer pairs inside the image, on gland pixels of the class map.
  const pts = (await readFile(path.join(outDir, 'colour_SG_Contour_Points.txt'), 'utf8')).split('\n').filter((l) => l !== '' && !l.startsWith('#'));
  assert.ok(pts.length > 0, 'no contour points');
  for (const l of pts) {
    assert.match(l, /^\d+ \d+$/);
    const [x, y] = l.split(' ').map(Number) as [number, number];
    assert.ok(x < 300 && y < 200);
  }
  // The overlay differs from the input exactly where the outline was drawn (green).
  let green = 0;
  for (let i = 0; i < 300 * 200; i++) if (over.data[i * 3] === 0 && over.data[i * 3 + 1] === 255 && over.data[i * 3 + 2] === 0) green++;
  assert.ok(green >= pts.length / 2, `only ${green} outline pixels for ${pts.length} points`);
});

test('segment with no input explains usage and exits 2', async () => {
  const r = await runCli(['segment']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /no input given/);
});

test('segment --help explains the outputs and the options', async () => {
  const r = await runCli(['segment', '--help']);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /_SG_PerPixelPredictions\.png/);
  assert.match(r.stdout, /--model/);
});

test('segment on the real clinician frames writes the outputs of every image', async (t) => {
  const data = realDataOrSkip(t);
  if (data === undefined) return;
  const outDir = await mkdtemp(path.join(os.tmpdir(), 'sgus-real-'));
  const images = path.join(data, 'annotated', 'images');
  const r = await runCli(['segment', ...modelArgs(), '--out', outDir, '--quiet', images]);
  assert.equal(r.code, 0, r.stderr);
  const n = (await readdir(images)).length;
  // The four DeepSGUS outputs and the ultrasound score of each image.
  assert.equal((await readdir(outDir)).length, 5 * n);
});

test('segment writes the ultrasound score of each image beside its outline, labelled a research aid; --no-score leaves it out', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sgus-seg-score-'));
  const input = path.join(dir, 'frame.png');
  await writeFile(input, encodePngRgb(syntheticFrame({ width: 300, height: 220, seed: 3 }).image));
  const r = await runCli(['segment', ...modelArgs(), '--threads', '1', '--out', path.join(dir, 'a'), input]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /score sgus-score: OMERACT and De Vita grades, a research aid, not a diagnosis/);
  const json = JSON.parse(await readFile(path.join(dir, 'a', 'frame_SG_Score.json'), 'utf8')) as { image: string; score: null | { label: string; omeract: { grade: number; confidence: number; probabilities: number[] }; deVita: { grade: number }; validation: { omeractKappa: number } } };
  assert.equal(json.image, 'frame');
  if (json.score !== null) {
    assert.equal(json.score.label, 'research aid, not a diagnosis');
    assert.ok(json.score.omeract.grade >= 0 && json.score.omeract.grade <= 3);
    assert.equal(json.score.omeract.confidence, json.score.omeract.probabilities[json.score.omeract.grade]);
    assert.equal(typeof json.score.validation.omeractKappa, 'number');
    assert.match(r.stderr, /frame: OMERACT \d \(p \d\.\d\d\), De Vita \d/);
  } else assert.match(r.stderr, /frame: no gland found, no score/);
  const off = await runCli(['segment', ...modelArgs(), '--threads', '1', '--no-score', '--quiet', '--out', path.join(dir, 'b'), input]);
  assert.equal(off.code, 0, off.stderr);
  assert.ok(!(await readdir(path.join(dir, 'b'))).some((f) => f.endsWith('_SG_Score.json')));
  assert.doesNotMatch(off.stderr, /OMERACT|research aid|score model/);
});

test('segment without a score model installed says so once and writes the outlines only', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sgus-seg-noscore-'));
  const models = path.join(dir, 'models');
  await import('node:fs/promises').then(async (fs) => {
    await fs.mkdir(models);
    await fs.symlink(path.join(PACKAGE_ROOT, 'models', 'unet-mbv2-st'), path.join(models, 'unet-mbv2-st'));
  });
  const inDir = path.join(dir, 'in');
  await import('node:fs/promises').then((fs) => fs.mkdir(inDir));
  for (const seed of [1, 2]) await writeFile(path.join(inDir, `f${seed}.png`), encodePngRgb(syntheticFrame({ width: 200, height: 160, seed }).image));
  const r = await runCli(['segment', '--threads', '1', '--quiet', '--out', path.join(dir, 'out'), inDir], { env: { SGUS_MODELS_DIR: models } });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr.match(/no score model at .*sgus-score: outlines only/g)?.length, 1, r.stderr);
  assert.equal((await readdir(path.join(dir, 'out'))).length, 8);
});
