/**
 * `sgus replay exam.dcm` through the pipeline (a DICOM cine loop fed to FFmpeg's stdin): the same
 * outputs as a video replay (NDJSON timed by the file's Frame Time, mm² from its calibration, the
 * annotated MP4), and the viewer (--serve) lists the stream. Runs dist/: build first.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { writeUltrasoundDicom } from '../../src/dicom/us-writer.js';
import { CLI, runCli } from '../helpers/cli.js';
import { syntheticFrames, tempDir, writeTemp } from '../helpers/dicom.js';
import { countFrames } from '../helpers/pipeline.js';

const MODEL = ['--model', 'unet-m-synth'];
const CAL = { mmPerPxX: 0.1, mmPerPxY: 0.125 };

type Line = { index: number; pts: number; measurements: { calibrated: boolean; pixels: number; area: { value: number; unit: string } } };

async function ndjson(file: string): Promise<Line[]> {
  return (await readFile(file, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Line);
}

for (const encoding of ['jpeg-baseline', 'explicit'] as const) {
  test(`replay of a ${encoding} cine loop goes through the pipeline: NDJSON timed by its Frame Time, mm² from its calibration, an annotated MP4 of every frame`, async () => {
    const dir = tempDir();
    const exam = writeTemp(dir, 'loop.dcm', writeUltrasoundDicom(syntheticFrames(6, 160, 120), { encoding, calibration: CAL, frameTimeMs: 20 }));
    const out = path.join(dir, 'out');
    const r = await runCli(['replay', exam, '--out', out, '-q', ...MODEL]);
    assert.equal(r.code, 0, r.stderr);
    const lines = await ndjson(path.join(out, 'loop.contours.ndjson'));
    assert.deepEqual(lines.map((l) => l.index), [0, 1, 2, 3, 4, 5]);
    assert.deepEqual(lines.map((l) => l.pts), [0, 0.02, 0.04, 0.06, 0.08, 0.1]);
    for (const l of lines) {
      assert.equal(l.measurements.calibrated, true);
      assert.equal(l.measurements.area.unit, 'mm2');
      assert.ok(l.measurements.pixels > 0, 'a gland is found');
      assert.ok(Math.abs(l.measurements.area.value - l.measurements.pixels * 0.1 * 0.125) < 1e-3, 'area = pixels x the file pixel area');
    }
    assert.equal(await countFrames(path.join(out, 'loop.annotated.mp4')), 6);
  });
}

test('replay of a DICOM cine loop with --serve: the viewer lists the stream and it is segmented', async () => {
  const dir = tempDir();
  // 3 s at 25 frames/s: long enough to be seen running, in real time (the --serve default).
  const exam = writeTemp(dir, 'loop.dcm', writeUltrasoundDicom(syntheticFrames(75, 160, 120), { encoding: 'jpeg-baseline', calibration: CAL, frameTimeMs: 40 }));
  const out = path.join(dir, 'out');
  const child = spawn(process.execPath, [CLI, 'replay', exam, '--serve', '--port', '0', '--out', out, '-q', ...MODEL], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
  const killer = setTimeout(() => child.kill('SIGKILL'), 90_000);
  try {
    const t0 = Date.now();
    while (!/viewer: http:\/\/127\.0\.0\.1:\d+\//.test(stdout) && Date.now() - t0 < 60_000) await new Promise((r) => setTimeout(r, 100));
    const url = /viewer: (http:\/\/127\.0\.0\.1:\d+)\//.exec(stdout)?.[1];
    assert.ok(url !== undefined, `viewer URL printed: ${stdout} ${stderr}`);
    let states: { id: string; state: string }[] = [];
    let text = '';
    while (Date.now() - t0 < 60_000) {
      states = ((await (await fetch(`${url}/healthz`)).json()) as { streamStates: { id: string; state: string }[] }).streamStates;
      text = await (await fetch(`${url}/metrics`)).text();
      if (states.some((s) => s.id === 'replay' && s.state === 'replay') && /sgus_frames_out_total\{stream="replay"\} [1-9]/.test(text)) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.ok(states.some((s) => s.id === 'replay' && s.state === 'replay'), `the viewer lists the DICOM stream as replaying: ${JSON.stringify(states)}`);
    assert.match(text, /sgus_frames_out_total\{stream="replay"\} [1-9]/);
    assert.equal(await exited, 0, stderr);
    const lines = await ndjson(path.join(out, 'loop.contours.ndjson'));
    assert.equal(lines.length, 75, 'every frame segmented, in real time');
    assert.equal(await countFrames(path.join(out, 'loop.annotated.mp4')), 75);
  } finally {
    clearTimeout(killer);
    child.kill('SIGKILL');
  }
});

test('replay of a cine loop holding fewer frames than it declares segments those it holds, warns, and exits 3 (input incomplete)', async () => {
  const dir = tempDir();
  const exam = writeTemp(dir, 'short.dcm', writeUltrasoundDicom(syntheticFrames(2, 160, 120), { declaredFrames: 4 }));
  const out = path.join(dir, 'out');
  const r = await runCli(['replay', exam, '--out', out, '--no-video', '-q', ...MODEL]);
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stderr, new RegExp(`${exam}: warning: holds 2 of the 4 frames it declares`));
  assert.match(r.stderr, /input incomplete: .*2 of the 4 frames/);
  assert.equal((await ndjson(path.join(out, 'short.contours.ndjson'))).length, 2);
});
