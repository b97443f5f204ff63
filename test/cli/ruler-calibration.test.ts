/** Replay of a recorded screen with a depth ruler (runs dist/: `npx tsc -p tsconfig.build.json` first). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parsePpm, rulerCalibration } from '../../src/cli/ruler-calibration.js';
import { scannerScreen } from '../../src/synthetic/scanner-screen.js';
import { runCli } from '../helpers/cli.js';

const W = 800;
const H = 520;
const FOV = { x: 150, y: 60, width: 520, height: 420 };
const PX_PER_CM = 100;

/** A clip of a scanner screen (2 s unless told) whose ruler says 100 px per cm (lossless enough: CRF 12). */
function rulerClip(dir: string, ruler: boolean, frameCount = 50): string {
  const file = path.join(dir, ruler ? `ruler-${frameCount}.mp4` : 'plain.mp4');
  const frames = Array.from({ length: frameCount }, (_, i) => scannerScreen({ width: W, height: H, fov: FOV, t: i * 0.04, ...(ruler ? { depthRuler: { pxPerCm: PX_PER_CM } } : {}) }).image.data);
  const r = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${W}x${H}`, '-r', '25', '-i', '-', '-c:v', 'libx264', '-crf', '12', '-pix_fmt', 'yuv420p', '-y', file], { input: Buffer.concat(frames) });
  assert.equal(r.status, 0, String(r.stderr));
  return file;
}

async function ndjson(out: string, stem: string): Promise<Array<Record<string, any>>> {
  return (await readFile(path.join(out, `${stem}.contours.ndjson`), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
}

test('replay of a recording whose screen has a depth ruler gives each frame in mm² from that ruler, and says so', { timeout: 180_000 }, async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'sgus-ruler-'));
  const clip = rulerClip(dir, true);
  const out = path.join(dir, 'out');
  const r = await runCli(['replay', clip, '--out', out, '--no-video', '--max-speed', '--model', 'unet-m-synth']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /scale 0\.1000 x 0\.1000 mm\/pixel from the scanner's depth ruler at 1 s \(100\.0 px\/cm/);
  const lines = await ndjson(out, 'ruler-50');
  assert.equal(lines.length, 50);
  const withGland = lines.filter((l) => l.area > 0);
  assert.ok(withGland.length > 40);
  for (const l of withGland) {
    assert.equal(l.measurements.calibrated, true);
    assert.equal(l.measurements.area.unit, 'mm2');
    assert.ok(Math.abs(l.measurements.area.value - l.area * 0.01) <= l.area * 0.01 * 0.01 + 1e-3, `${l.measurements.area.value} mm² for ${l.area} px`);
    assert.match(l.measurements.scaleSource, /depth ruler/);
  }
  // The user's scale wins over the ruler; --no-ruler keeps pixels.
  const given = await runCli(['replay', clip, '--out', path.join(dir, 'given'), '--no-video', '--max-speed', '--mm-per-px', '0.2', '--model', 'unet-m-synth']);
  assert.equal(given.code, 0, given.stderr);
  const g = (await ndjson(path.join(dir, 'given'), 'ruler-50')).find((l) => l.area > 0)!;
  assert.ok(Math.abs(g.measurements.area.value - g.area * 0.04) < 1e-2);
  assert.equal(g.measurements.scaleSource, 'from --mm-per-px');
  const none = await runCli(['replay', clip, '--out', path.join(dir, 'none'), '--no-video', '--max-speed', '--no-ruler', '--model', 'unet-m-synth']);
  assert.equal(none.code, 0, none.stderr);
  const n = (await ndjson(path.join(dir, 'none'), 'ruler-50')).find((l) => l.area > 0)!;
  assert.equal(n.measurements.calibrated, false);
  assert.equal(n.measurements.area.unit, 'px2');
  assert.match(none.stderr, /scale unknown: figures in pixels/);
});

test('a recording without a ruler stays in pixels, labelled uncalibrated', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'sgus-ruler-'));
  const out = path.join(dir, 'out');
  const r = await runCli(['replay', rulerClip(dir, false), '--out', out, '--no-video', '--max-speed', '--model', 'unet-m-synth']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /scale unknown: figures in pixels/);
  const l = (await ndjson(out, 'plain'))[0]!;
  assert.equal(l.measurements.calibrated, false);
  assert.equal(l.measurements.area.unit, 'px2');
  assert.equal(l.measurements.scaleSource, undefined);
});

test('a clip shorter than a second is scaled by the ruler of its first frame', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'sgus-ruler-'));
  const cal = await rulerCalibration(rulerClip(dir, true, 10));
  assert.ok(cal !== undefined);
  assert.ok(Math.abs(cal.mmPerPxX - 0.1) < 0.002, String(cal.mmPerPxX));
  assert.match(cal.source, /depth ruler at 0 s/);
  assert.equal(await rulerCalibration(path.join(dir, 'missing.mp4')), undefined, 'no file, no scale');
});

test('parsePpm reads a binary PPM and refuses one cut short or of another kind', () => {
  const pixels = Buffer.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  const ppm = Buffer.concat([Buffer.from('P6\n2 2\n255\n', 'latin1'), pixels]);
  const img = parsePpm(ppm);
  assert.deepEqual(img && { width: img.width, height: img.height, data: [...img.data] }, { width: 2, height: 2, data: [...pixels] });
  assert.equal(parsePpm(ppm.subarray(0, ppm.length - 1)), undefined);
  assert.equal(parsePpm(Buffer.from('P5\n2 2\n255\n\0\0\0\0', 'latin1')), undefined);
  assert.equal(parsePpm(Buffer.alloc(0)), undefined);
});
