/**
 * The real recorded exam as a hospital stores it: its first seconds converted to an ultrasound
 * DICOM cine loop (JPEG Baseline, an ultrasound region of known calibration), replayed with
 * --out and --dicom-out (runs dist/: `npx tsc -p tsconfig.build.json` first).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { RgbImage } from '../../src/core/image.js';
import { writeUltrasoundDicom } from '../../src/dicom/us-writer.js';
import { runCli } from '../helpers/cli.js';
import { dciodvfyErrors, hasTool, naturalize, tempDir, writeTemp } from '../helpers/dicom.js';
import { realDataOrSkip } from '../helpers/data.js';

type Item = Record<string, any>;
const FRAMES = 40;
const W = 1280;
const H = 720;
const CAL = { mmPerPxX: 0.08, mmPerPxY: 0.08 };

function examFrames(file: string): RgbImage[] {
  const r = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-i', file, '-frames:v', String(FRAMES), '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], { maxBuffer: FRAMES * W * H * 3 + 1024 });
  assert.equal(r.status, 0, String(r.stderr));
  const size = W * H * 3;
  return Array.from({ length: FRAMES }, (_, k) => ({ width: W, height: H, data: new Uint8Array(r.stdout.buffer, r.stdout.byteOffset + k * size, size) }));
}

test('the real exam as a JPEG DICOM cine loop replays with mm² from its calibration and a Segmentation and report valid for dciodvfy', { timeout: 300_000 }, async (t) => {
  const data = realDataOrSkip(t);
  if (data === undefined) return;
  const dir = tempDir('sgus-real-dicom-');
  const exam = writeTemp(dir, 'parotid-exam.dcm', writeUltrasoundDicom(examFrames(path.join(data, 'video', 'parotid-exam-1280x720-25fps.mp4')), { encoding: 'jpeg-baseline', jpegQuality: 90, calibration: CAL, frameTimeMs: 40 }));
  const out = path.join(dir, 'out');
  const r = await runCli(['replay', exam, '--out', out, '--dicom-out', out, '-q']);
  assert.equal(r.code, 0, r.stderr);
  const lines = (await readFile(path.join(out, 'parotid-exam.contours.ndjson'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Item);
  assert.equal(lines.length, FRAMES);
  const found = lines.filter((l) => l.area > 0);
  assert.ok(found.length >= FRAMES * 0.8, `a gland in ${found.length} of ${FRAMES} frames of a parotid exam`);
  for (const l of lines) {
    assert.equal(l.measurements.area.unit, 'mm2');
    const expected = l.measurements.pixels * CAL.mmPerPxX * CAL.mmPerPxY;
    assert.ok(Math.abs(l.measurements.area.value - expected) <= 0.01 * expected + 1e-6, `frame ${l.index}: ${l.measurements.area.value} mm² vs ${expected}`);
  }
  const sr = await naturalize(await readFile(path.join(out, 'parotid-exam.sr.dcm')));
  const groups = (sr.ContentSequence as Item[]).find((i) => i.ConceptNameCodeSequence[0].CodeMeaning === 'Imaging Measurements')!.ContentSequence as Item[];
  const srAreas = groups.map((g) => Number((g.ContentSequence as Item[]).find((i) => i.ConceptNameCodeSequence?.[0]?.CodeMeaning === 'Area')!.MeasuredValueSequence[0].NumericValue));
  assert.deepEqual(srAreas, lines.map((l) => l.measurements.area.value), 'the report holds the NDJSON areas, frame by frame');
  const seg = await naturalize(await readFile(path.join(out, 'parotid-exam.seg.dcm')));
  assert.equal(Number(seg.NumberOfFrames), FRAMES, 'one segmentation frame per source frame');
  if (hasTool('dciodvfy')) for (const f of ['parotid-exam.seg.dcm', 'parotid-exam.sr.dcm']) assert.deepEqual(dciodvfyErrors(path.join(out, f)), [], f);
});
