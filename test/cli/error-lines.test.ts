import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { encodePngRgb } from '../../src/core/image-io.js';
import { runCli } from '../helpers/cli.js';
import { pngBomb } from '../helpers/image-bombs.js';
import { testModelSpec } from '../helpers/test-model.js';

const modelArgs = (): string[] => {
  const m = testModelSpec();
  return m !== undefined ? ['--model', m] : [];
};

function oneLine(stderr: string): string {
  const lines = stderr.trim().split('\n');
  assert.equal(lines.length, 1, stderr);
  return lines[0]!;
}

test('--threshold outside (0,1) is refused with one line by segment and the streaming commands', async () => {
  for (const value of ['0', '1', '2', '-0.5', 'half']) {
    for (const args of [['segment', 'x.png'], ['replay', 'x.mp4'], ['live', '--input', 'lavfi:testsrc2']]) {
      const r = await runCli([...args, `--threshold=${value}`], { timeoutMs: 30_000 });
      assert.equal(r.code, 2, `${args[0]} --threshold ${value}: ${r.stderr}`);
      assert.equal(oneLine(r.stderr), `sgus: --threshold must be a probability between 0 and 1 (exclusive), got '${value}'`);
    }
  }
});

test('eval with no mask matching any image says so in one line and exits 1, without a NaN mean', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sgus-eval-nomask-'));
  const images = path.join(dir, 'images');
  const masks = path.join(dir, 'masks');
  await mkdir(images);
  await mkdir(masks);
  const png = encodePngRgb({ width: 8, height: 8, data: new Uint8Array(8 * 8 * 3).fill(40) });
  await writeFile(path.join(images, 'scan-1.png'), png);
  await writeFile(path.join(images, 'scan-2.png'), png);
  await writeFile(path.join(masks, 'other.png'), png);
  const r = await runCli(['eval', '--images', images, '--masks', masks, '-q', ...modelArgs()], { timeoutMs: 60_000 });
  assert.equal(r.code, 1, r.stderr);
  assert.equal(oneLine(r.stderr), `sgus eval: none of the 2 images in ${images} has a mask of the same name in ${masks}: nothing to score`);
  assert.doesNotMatch(r.stdout + r.stderr, /NaN/);
  const missing = await runCli(['eval', '--images', images, '--masks', path.join(dir, 'nope'), '-q'], { timeoutMs: 60_000 });
  assert.equal(missing.code, 1);
  assert.equal(oneLine(missing.stderr), `sgus eval: ${path.join(dir, 'nope')}: no such folder`);
});

test('segment reports a truncated PNG and an image bomb in one line each, naming the file, without library internals', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sgus-seg-bad-'));
  const full = encodePngRgb({ width: 64, height: 64, data: new Uint8Array(64 * 64 * 3).fill(7) });
  const cut = path.join(dir, 'cut.png');
  const bomb = path.join(dir, 'bomb.png');
  await writeFile(cut, full.subarray(0, full.length - 30));
  await writeFile(bomb, pngBomb(28000, 28000));
  const t0 = Date.now();
  const r = await runCli(['segment', '-q', '-o', path.join(dir, 'out'), cut, bomb, ...modelArgs()], { timeoutMs: 60_000 });
  assert.equal(r.code, 1, r.stderr);
  assert.ok(Date.now() - t0 < 45_000, 'the bomb is refused without decoding it');
  assert.match(r.stderr, new RegExp(`^sgus segment: ${cut}: corrupt PNG: the file ends before its image data \\(truncated\\?\\)$`, 'm'));
  assert.match(r.stderr, new RegExp(`^sgus segment: ${bomb}: image of 28000x28000 pixels \\(784 megapixels\\) is over the 100-megapixel limit; not decoded$`, 'm'));
  assert.doesNotMatch(r.stderr, /read requests|waitng|out of range|RangeError|at .*\.js:\d+/);
});

test('replay of a missing file, a folder or a file that is not a video, live of a bad URL, segment of a folder without images: one line each naming it and what is wrong', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sgus-bad-inputs-'));
  const text = path.join(dir, 'notes.mp4');
  await writeFile(text, 'Patient notes, not a video.\n'.repeat(40));
  const folder = path.join(dir, 'no-images');
  await mkdir(folder);
  await writeFile(path.join(folder, 'readme.txt'), 'nothing to see\n');
  for (const [args, line] of [
    [['replay', text], `sgus: ${text}: not a video FFmpeg can read`],
    [['replay', path.join(dir, 'missing.mp4')], `sgus: ${path.join(dir, 'missing.mp4')}: no such file`],
    [['replay', folder], `sgus: ${folder}: is a folder, not a video`],
    [['live', '--input', text, '--duration', '60'], `sgus: live (${text}): cannot open: not a video FFmpeg can read`],
    [['live', '--input', 'rtsp://127.0.0.1:99999/scanner', '--duration', '60'], 'sgus: live (rtsp://127.0.0.1:99999/scanner): cannot open: no valid port in the URL'],
    [['live', '--input', 'rtps://127.0.0.1:8554/scanner', '--duration', '60'], 'sgus: live (rtps://127.0.0.1:8554/scanner): cannot open: unknown protocol'],
    [['segment', '-o', path.join(dir, 'out'), folder], `sgus segment: ${folder}: no images in this folder (no .png, .jpg, .jpeg or .dcm file)`],
  ] as const) {
    const r = await runCli([...args, '-q', ...modelArgs()], { timeoutMs: 90_000 });
    assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(oneLine(r.stderr), line);
    assert.doesNotMatch(r.stderr, /Invalid data found|Error marking filters|Protocol not found|Port missing|ffmpeg exited|at .*\.js:\d+/);
  }
});
