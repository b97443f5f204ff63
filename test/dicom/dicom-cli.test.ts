/** The CLI on generated DICOM exams (runs dist/: `npx tsc -p tsconfig.build.json` first). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { decodeImage } from '../../src/core/image-io.js';
import { unpackFrame } from '../../src/dicom/seg-writer.js';
import { writeUltrasoundDicom } from '../../src/dicom/us-writer.js';
import { runCli } from '../helpers/cli.js';
import { dciodvfyErrors, hasTool, naturalize, syntheticFrames, tempDir, writeTemp } from '../helpers/dicom.js';

const MODEL = ['--model', 'unet-m-synth'];
const CAL = { mmPerPxX: 0.1, mmPerPxY: 0.125 };
const dciodvfy = hasTool('dciodvfy');

type Item = Record<string, any>;

async function srAreas(file: string): Promise<number[]> {
  const ds = await naturalize(await readFile(file));
  const groups = (ds.ContentSequence as Item[]).find((i) => i.ConceptNameCodeSequence[0].CodeMeaning === 'Imaging Measurements')!.ContentSequence as Item[];
  return groups.map((g) => Number((g.ContentSequence as Item[]).find((i) => i.ConceptNameCodeSequence?.[0]?.CodeMeaning === 'Area')!.MeasuredValueSequence[0].NumericValue));
}

test('segment on a JPEG cine loop: per-frame outputs, mm² from the calibration, a Segmentation equal to the masks, a report of the same areas, both valid', async () => {
  const dir = tempDir();
  const exam = writeTemp(dir, 'exam.dcm', writeUltrasoundDicom(syntheticFrames(3, 200, 150), { encoding: 'jpeg-baseline', calibration: CAL }));
  const out = path.join(dir, 'out');
  const dcm = path.join(dir, 'dcm');
  const r = await runCli(['segment', exam, '--out', out, '--dicom-out', dcm, '-q', ...MODEL]);
  assert.equal(r.code, 0, r.stderr);
  const files = await readdir(out);
  for (const stem of ['exam-f1', 'exam-f2', 'exam-f3']) assert.ok(files.includes(`${stem}_SG_Measurements.json`), `${stem} measurements`);
  const seg = await naturalize(await readFile(path.join(dcm, 'exam.seg.dcm')));
  const bits = new Uint8Array((seg.PixelData as ArrayBuffer[])[0]!);
  const areas = await srAreas(path.join(dcm, 'exam.sr.dcm'));
  for (let k = 0; k < 3; k++) {
    const classMap = decodeImage(await readFile(path.join(out, `exam-f${k + 1}_SG_PerPixelPredictions.png`)));
    const mask = unpackFrame(bits, 200, 150, k);
    let pixels = 0;
    for (let i = 0; i < mask.data.length; i++) {
      assert.equal(mask.data[i], classMap.data[i * 3], `SEG frame ${k + 1} pixel ${i} equals the tool's mask`);
      pixels += mask.data[i]!;
    }
    const json = JSON.parse(await readFile(path.join(out, `exam-f${k + 1}_SG_Measurements.json`), 'utf8'));
    assert.equal(json.calibrated, true);
    assert.equal(json.pixels, pixels);
    assert.ok(Math.abs(json.area.value - pixels * 0.1 * 0.125) < 1e-3, 'area = pixels x pixel area');
    assert.equal(areas[k], json.area.value, 'the report holds the same area');
    const header = (await readFile(path.join(out, `exam-f${k + 1}_SG_Contour_Points.txt`), 'utf8')).split('\n')[0]!;
    assert.match(header, new RegExp(`^# gland area ${json.area.value} mm2 \\(${json.areaCm2.value} cm2\\) perimeter [\\d.]+ mm length ${json.length.value} mm depth ${json.depth.value} mm calibrated$`), 'the contour points carry the figures in mm');
  }
  if (dciodvfy) for (const f of ['exam.seg.dcm', 'exam.sr.dcm']) assert.deepEqual(dciodvfyErrors(path.join(dcm, f)), [], f);
});

test('segment reports each bad DICOM file in one line naming it and still does the rest', async () => {
  const dir = tempDir();
  const frames = syntheticFrames(2);
  const good = writeTemp(dir, 'good.dcm', writeUltrasoundDicom(frames));
  const nopix = writeTemp(dir, 'nopix.dcm', writeUltrasoundDicom(frames, { omitPixelData: true }));
  const ct = writeTemp(dir, 'ct.dcm', writeUltrasoundDicom(frames, { modality: 'CT' }));
  const full = writeUltrasoundDicom(frames);
  const cut = writeTemp(dir, 'cut.dcm', full.subarray(0, 505));
  const short = writeTemp(dir, 'short.dcm', writeUltrasoundDicom(frames, { declaredFrames: 4 }));
  const out = path.join(dir, 'out');
  const r = await runCli(['segment', good, nopix, ct, cut, short, '--out', out, '-q', ...MODEL]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`${nopix}: no pixel data`));
  assert.match(r.stderr, new RegExp(`${ct}: not an ultrasound image \\(modality CT\\); refused`));
  assert.match(r.stderr, new RegExp(`${cut}: truncated or damaged DICOM`));
  assert.match(r.stderr, new RegExp(`${short}: holds 2 of the 4 frames it declares`));
  const files = await readdir(out);
  for (const stem of ['good-f1', 'good-f2', 'short-f1', 'short-f2']) assert.ok(files.includes(`${stem}_SG_PerPixelPredictions.png`), stem);
  // Uncalibrated: the figures are pixels, labelled so.
  const json = JSON.parse(await readFile(path.join(out, 'good-f1_SG_Measurements.json'), 'utf8'));
  assert.equal(json.calibrated, false);
  assert.equal(json.area.unit, 'px2');
});

test('replay of a DICOM cine loop writes NDJSON with per-frame mm² and a Segmentation and report whose areas match', async () => {
  const dir = tempDir();
  const exam = writeTemp(dir, 'loop.dcm', writeUltrasoundDicom(syntheticFrames(5, 160, 120), { calibration: CAL, frameTimeMs: 20 }));
  const out = path.join(dir, 'out');
  const r = await runCli(['replay', exam, '--out', out, '--dicom-out', out, '--realtime', '-q', ...MODEL]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /5 of 5 frames/);
  const lines = (await readFile(path.join(out, 'loop.contours.ndjson'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(lines.map((l) => l.index), [0, 1, 2, 3, 4]);
  assert.deepEqual(lines.map((l) => l.pts), [0, 0.02, 0.04, 0.06, 0.08]);
  for (const l of lines) {
    assert.equal(l.measurements.area.unit, 'mm2');
    assert.ok(Math.abs(l.measurements.area.value - l.area * 0.1 * 0.125) < 1e-3);
  }
  assert.deepEqual(await srAreas(path.join(out, 'loop.sr.dcm')), lines.map((l) => l.measurements.area.value));
  if (dciodvfy) for (const f of ['loop.seg.dcm', 'loop.sr.dcm']) assert.deepEqual(dciodvfyErrors(path.join(out, f)), [], f);
});

test('eval scores each frame of a DICOM cine loop against the mask named <stem>-f<N> and reports its gland in mm from the calibration', async () => {
  const { syntheticFrame } = await import('../../src/synthetic/ultrasound-frame.js');
  const { encodePngGrey } = await import('../../src/core/image-io.js');
  const { mkdir, writeFile } = await import('node:fs/promises');
  const dir = tempDir();
  const images = path.join(dir, 'images');
  const masks = path.join(dir, 'masks');
  await mkdir(images);
  await mkdir(masks);
  const synth = [0, 1].map((i) => syntheticFrame({ width: 160, height: 120, t: i * 0.04 }));
  writeTemp(images, 'loop.dcm', writeUltrasoundDicom(synth.map((s) => s.image), { calibration: CAL }));
  for (let k = 0; k < 2; k++) await writeFile(path.join(masks, `loop-f${k + 1}.png`), encodePngGrey(synth[k]!.mask));
  const report = path.join(dir, 'report.json');
  const r = await runCli(['eval', '--images', images, '--masks', masks, '--report', report, '-q', ...MODEL]);
  assert.equal(r.code, 0, r.stderr);
  const json = JSON.parse(await readFile(report, 'utf8'));
  assert.deepEqual(json.images.map((s: { id: string }) => s.id), ['loop-f1', 'loop-f2']);
  assert.equal(json.overall.count, 2);
  for (const s of json.images) {
    assert.equal(s.measurements.calibrated, true);
    assert.equal(s.measurements.area.unit, 'mm2');
    assert.ok(Math.abs(s.measurements.area.value - s.predictedArea * 0.1 * 0.125) < 1e-3, 'area = predicted pixels x the file pixel area');
    assert.equal(s.measurements.length.unit, 'mm');
  }
  assert.match(r.stdout, /loop-f1 .* IoU [\d.]+ .*area [\d.]+ cm² \([\d.]+ mm²\)/);
  assert.match(await readFile(report.replace(/\.json$/, '.md'), 'utf8'), /\| gland area \| perimeter \| length \| depth \|[\s\S]*mm²/);
});
