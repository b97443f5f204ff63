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
  // The data's own manifest says how many frames of which devices there are.
  const manifest = JSON.parse(await readFile(path.join(data, 'annotated', 'manifest.json'), 'utf8')) as Array<{ id: string; device: string; published_model_iou?: number }>;
  assert.equal(json.images.length, manifest.length);
  assert.deepEqual(Object.keys(json.perDevice).sort(), [...new Set(manifest.map((e) => e.device))].sort());
  for (const s of json.images) assert.ok(s.iou >= 0 && s.iou <= 1);
  // The published model's figure stands beside ours on the frames where the manifest gives it.
  for (const e of manifest.filter((e) => e.published_model_iou !== undefined)) {
    assert.equal(json.images.find((s) => s.id === e.id)!.publishedModelIou, e.published_model_iou);
  }
});

test('eval marks the frames the model trained on and scores the unseen ones apart', async () => {
  const { copyFile } = await import('node:fs/promises');
  const { createSegmenter } = await import('../../src/segmenter/segmenter.js');
  const seg = await createSegmenter({ model: testModelSpec(), threads: 1 });
  const modelDir = await mkdtemp(path.join(os.tmpdir(), 'sgus-eval-trained-'));
  const card = JSON.parse(await readFile(path.join(path.dirname(seg.modelPath), 'card.json'), 'utf8')) as { file: string; training: Record<string, unknown>; default?: boolean };
  await copyFile(seg.modelPath, path.join(modelDir, card.file));
  await seg.close();
  card.training = { ...card.training, frames: ['s0'] };
  card.default = false;
  await writeFile(path.join(modelDir, 'card.json'), JSON.stringify(card));
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sgus-eval-'));
  await mkdir(path.join(dir, 'images'));
  await mkdir(path.join(dir, 'masks'));
  for (let k = 0; k < 2; k++) {
    const f = syntheticFrame({ width: 160, height: 120, seed: 20 + k });
    await writeFile(path.join(dir, 'images', `s${k}.png`), encodePngRgb(f.image));
    await writeFile(path.join(dir, 'masks', `s${k}.png`), encodePngGrey(f.mask));
  }
  const report = path.join(dir, 'r.json');
  const r = await runCli(['eval', '--model', modelDir, '--images', path.join(dir, 'images'), '--masks', path.join(dir, 'masks'), '--report', report, '--quiet']);
  assert.equal(r.code, 0, r.stderr);
  const json = JSON.parse(await readFile(report, 'utf8')) as EvaluationReport;
  assert.equal(json.images.find((s) => s.id === 's0')!.trainedOn, true);
  assert.equal(json.images.find((s) => s.id === 's1')!.trainedOn, undefined);
  assert.equal(json.unseen.count, 1);
  assert.equal(json.unseen.meanIou, json.images.find((s) => s.id === 's1')!.iou);
  assert.match(await readFile(path.join(dir, 'r.md'), 'utf8'), /1 of these 2 frames were in the model's training data/);
  assert.match(r.stderr, /1 of the 2 frames were in the model's training data/);
});
