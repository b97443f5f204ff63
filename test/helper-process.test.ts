/**
 * Ctrl-C in a terminal signals the whole foreground process group: sgus and every FFmpeg it runs.
 * The stop the user asked for must be quiet and complete: no FFmpeg error lines ('Broken pipe',
 * 'Error writing trailer'), no output cut short, the exit code its --help documents.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CLI } from './helpers/cli.js';
import { clip, countFrames, modelArgs, sleep } from './helpers/pipeline.js';

/** Runs sgus as a terminal would (its own foreground group), Ctrl-C to the group once `ndjson` holds `lines` records. */
async function ctrlC(args: string[], ndjson: string, lines: number): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [CLI, ...args], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stdout.resume();
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
  const kill = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), 150_000);
  try {
    const t0 = Date.now();
    const records = (): number => (existsSync(ndjson) ? readFileSync(ndjson, 'utf8').split('\n').filter((l) => l !== '').length : 0);
    while (records() < lines && child.exitCode === null) {
      if (Date.now() - t0 > 90_000) throw new Error(`no ${lines} frames within 90 s: ${stderr}`);
      await sleep(100);
    }
    process.kill(-child.pid!, 'SIGINT');
    return { code: await closed, stderr };
  } finally {
    clearTimeout(kill);
  }
}

const ffmpegNoise = /Broken pipe|Error writing trailer|error|exited with|incomplete|ffmpeg/i;

test('Ctrl-C of a looping replay and of live: no FFmpeg error lines, every output complete, exit codes as documented', async (t) => {
  const file = await clip({ seconds: 2 });
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sgus-ctrl-c-'));
  try {
    for (const [name, args, ndjson, code] of [
      ['replay --loop', ['replay', file, '--realtime', '--loop', '--serve', '--port', '0', '--out', path.join(dir, 'r')], path.join(dir, 'r', `${path.basename(file, '.mp4')}.contours.ndjson`), 130],
      ['live', ['live', '--input', 'lavfi:testsrc2=size=320x240:rate=25', '--serve', '--port', '0', '--out', path.join(dir, 'l')], path.join(dir, 'l', 'live.contours.ndjson'), 0],
    ] as const) {
      const r = await ctrlC([...args, '-q', ...modelArgs()], ndjson, 15);
      const lines = r.stderr.trim().split('\n').filter((l) => l.trim() !== '');
      t.diagnostic(`${name}: exit ${String(r.code)}; ${lines.join(' | ')}`);
      assert.deepEqual(lines.filter((l) => ffmpegNoise.test(l)), [], `${name}: a quiet stop`);
      assert.equal(r.code, code, `${name}: ${r.stderr}`);
      assert.match(r.stderr, /SIGINT: stopping, finalising outputs/);
      const records = readFileSync(ndjson, 'utf8').trim().split('\n').length;
      assert.equal(await countFrames(ndjson.replace('.contours.ndjson', '.annotated.mp4')), records, `${name}: the annotated video holds every frame of the NDJSON`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
