import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { encodePngRgb } from '../../src/core/image-io.js';
import type { ScoreAgreementReport } from '../../src/score/score-evaluation.js';
import { syntheticFrame } from '../../src/synthetic/ultrasound-frame.js';
import { runCli } from '../helpers/cli.js';
import { realDataOrSkip } from '../helpers/data.js';
import { testModelSpec } from '../helpers/test-model.js';

const modelArgs = (): string[] => {
  const m = testModelSpec();
  return m === undefined ? [] : ['--model', m];
};

async function scoredFolder(): Promise<{ dir: string; images: string; csv: string }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sgus-eval-scores-'));
  const images = path.join(dir, 'images');
  await mkdir(images);
  const lines = ['image,centre,gland,machine,devita_score,omeract_score'];
  for (let k = 0; k < 4; k++) {
    await writeFile(path.join(images, `f${k}.png`), encodePngRgb(syntheticFrame({ width: 280, height: 210, seed: 30 + k }).image));
    lines.push(`f${k}.png,"Centre ${k % 2}, test",${k < 2 ? 'parotid' : 'submandibular'},synthetic,${k % 4},${(k + 1) % 4}`);
  }
  // A row whose image is not in the folder is left out, not an error.
  lines.push('absent.png,Centre 0,parotid,synthetic,1,1');
  const csv = path.join(dir, 'scores.csv');
  await writeFile(csv, `${lines.join('\n')}\n`);
  return { dir, images, csv };
}

test('eval --scores prints weighted κ and accuracy per score beside the card\'s leave-one-centre-out κ, and writes the report', async () => {
  const { dir, images, csv } = await scoredFolder();
  const report = path.join(dir, 'scores.json');
  const r = await runCli(['eval', ...modelArgs(), '--threads', '1', '--images', images, '--scores', csv, '--report', report, '--quiet']);
  assert.equal(r.code, 0, r.stderr);
  for (const name of ['OMERACT', 'De Vita']) {
    assert.match(r.stdout, new RegExp(`${name}: weighted κ (-?\\d\\.\\d{3}|n/a), accuracy (\\d\\.\\d{3}|n/a) over \\d frames \\(card, leave one centre out: κ \\d\\.\\d{3}`));
  }
  assert.match(r.stdout, /research aid, not a diagnosis/);
  const json = JSON.parse(await readFile(report, 'utf8')) as ScoreAgreementReport;
  assert.equal(json.frames.length, 4);
  assert.deepEqual(json.frames.map((f) => f.reference.omeract), [1, 2, 3, 0]);
  assert.deepEqual(Object.keys(json.perCentre.omeract).sort(), json.noGland.length === 4 ? [] : ['Centre 0, test', 'Centre 1, test'].filter((c) => json.frames.some((f) => f.centre === c)));
  assert.equal(json.trainedOnCount, 0);
  const scored = json.frames.filter((f) => f.predicted !== undefined);
  assert.equal(json.overall.deVita.n, scored.length);
  assert.equal(json.overall.deVita.confusion.flat().reduce((a, b) => a + b, 0), scored.length);
  const md = await readFile(path.join(dir, 'scores.md'), 'utf8');
  assert.match(md, /\| OMERACT \| \d \|/);
  assert.match(md, /Published \(HarmonicSS, not measured here\): radiomics MLP κ 0\.700/);
});

test('eval --scores with a CSV naming none of the images says so and exits 1; a missing CSV is one line', async () => {
  const { dir, images } = await scoredFolder();
  const other = path.join(dir, 'other.csv');
  await writeFile(other, 'image,devita_score,omeract_score\nzzz.png,1,1\n');
  const r = await runCli(['eval', '--images', images, '--scores', other, '--quiet']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /none of the 1 images of .*other\.csv is among the 4 images given/);
  const m = await runCli(['eval', '--images', images, '--scores', path.join(dir, 'nope.csv'), '--quiet']);
  assert.equal(m.code, 1);
  assert.match(m.stderr, /nope\.csv: no such file/);
  const bad = path.join(dir, 'bad.csv');
  await writeFile(bad, 'image,devita_score,omeract_score\nf0.png,7,1\n');
  const b = await runCli(['eval', '--images', images, '--scores', bad, '--quiet']);
  assert.equal(b.code, 1);
  assert.match(b.stderr, /line 2: grade '7' is not 0–3/);
});

test('eval --scores on the 225 benchmark frames says κ on them is no validation figure', async (t) => {
  const data = realDataOrSkip(t);
  if (data === undefined) return;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sgus-eval-scores-real-'));
  // Twelve frames keep it short; the shipped model learned all of them.
  const unlabeled = path.join(data, 'unlabeled');
  const rows = (await readFile(path.join(unlabeled, 'metadata.csv'), 'utf8')).trim().split('\n');
  const csv = path.join(dir, 'some.csv');
  await writeFile(csv, `${[rows[0], ...rows.slice(1).filter((_, k) => k % 19 === 0)].join('\n')}\n`);
  const r = await runCli(['eval', ...modelArgs(), '--threads', '1', '--images', unlabeled, '--scores', csv, '--report', path.join(dir, 'r.json'), '--quiet']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /OMERACT: weighted κ/);
  assert.match(r.stderr, /12 of the 12 frames were in the score model's training data .* not a validation figure\. The honest figure is the card's leave-one-centre-out κ/);
});
