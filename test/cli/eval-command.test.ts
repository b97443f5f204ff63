import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { encodePngGrey, encodePngRgb } from '../../src/core/image-io.js';
import { syntheticFrame } from '../../src/synthetic/ultrasound-frame.js';
import type { EvaluationReport } from '../../src/segmenter/evaluation.js';
import { runCli } from '../helpers/cli.js';
import { realDataOrSkip } from '../helpers/data.js';
import { testModelSpec } from '../helpers/test-model.js';

const modelArgs = (): string[] => {
  const m = testModelSpec();
  return m === undefined ? [] : ['--model', m];
};

test('eval scores every image against its mask, per device from the manifest, and writes JSON and Markdown', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sgus-eval-'));
  await mkdir(path.join(dir, 'images'));
  await mkdir(path.join(dir, 'masks'));
  const manifest = [];
  for (let k = 0; k < 4; k++) {
    const f = syntheticFrame({ width: 240, height: 180, seed: 10 + k });
    const id = `s${k}`;
    await writeFile(path.join(dir, 'images', `${id}.png`), encodePngRgb(f.image));
    // Reference masks: the true mask for s0..s2; an empty mask for s3, so its IoU must be 0 unless the prediction is empty too.
    await writeFile(path.join(dir, 'masks', `${id}.png`), encodePngGrey(k === 3 ? { ...f.mask, data: new Uint8Array(f.mask.data.length) } : f.mask));
    manifest.push({ id, device: k % 2 === 0 ? 'scanner-a' : 'scanner-b' });
  }
  await writeFile(path.join(dir, 'manifest.json'), JSON.stringify(manifest));
  const report = path.join(dir, 'report.json');
  const r = await runCli(['eval', ...modelArgs(), '--images', path.join(dir, 'images'), '--masks', path.join(dir, 'masks'), '--report', report, '--quiet']);
  assert.equal(r.code, 0, r.stderr);
  const json = JSON.parse(await readFile(report, 'utf8')) as EvaluationReport;
  assert.equal(json.images.length, 4);
  assert.deepEqual(Object.keys(json.perDevice).sort(), ['scanner-a', 'scanner-b']);
  const s3 = json.images.find((s) => s.id === 's3')!;
  assert.equal(s3.iou, s3.predictedArea === 0 ? 1 : 0);
  const mean = json.images.reduce((a, s) => a + s.iou, 0) / 4;
  assert.ok(Math.abs(json.overall.meanIou - mean) < 1e-12);
  const md = await readFile(path.join(dir, 'report.md'), 'utf8');
  assert.match(md, /\| scanner-a \| 2 \|/);
  assert.match(r.stdout, /mean IoU \d\.\d{3}/);
});

test('eval names an image without a mask and exits 1, still scoring the others', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sgus-eval-'));
  await mkdir(path.join(dir, 'images'));
  await mkdir(path.join(dir, 'masks'));
  const f = syntheticFrame({ width: 120, height: 90 });
  await writeFile(path.join(dir, 'images', 'a.png'), encodePngRgb(f.image));
  await writeFile(path.join(dir, 'images', 'b.png'), encodePngRgb(f.image));
  await writeFile(path.join(dir, 'masks', 'a.png'), encodePngGrey(f.mask));
  const r = await runCli(['eval', ...modelArgs(), '--images', path.join(dir, 'images'), '--masks', path.join(dir, 'masks'), '--report', path.join(dir, 'r.json'), '--quiet']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /b\.png: no mask with stem 'b'/);
  assert.match(r.stdout, /over 1 images/);
});

test('eval of the default model on the real clinician masks reports IoU per device', async (t) => {
  const data = realDataOrSkip(t);
  if (data === undefined) return;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sgus-eval-real-'));
  const report = path.join(dir, 'real.json');
  const r = await runCli(['eval', ...modelArgs(), '--images', path.join(data, 'annotated', 'images'), '--masks', path.join(data, 'annotated', 'masks'), '--report', report, '--quiet']);
  assert.equal(r.code, 0, r.stderr);
  const json = JSON.parse(await readFile(report, 'utf8')) as EvaluationReport;
  assert.equal(json.images.length, 12);
  assert.deepEqual(Object.keys(json.perDevice).sort(), ['esaote-mylab', 'ge-logiq-e9']);
  for (const s of json.images) assert.ok(s.iou >= 0 && s.iou <= 1);
});
