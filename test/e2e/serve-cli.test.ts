import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { PACKAGE_ROOT } from '../../src/segmenter/model-registry.js';
import { clip, modelArgs, TMP } from '../helpers/pipeline.js';

describe('sgus serve', () => {
  it('runs a replay and a live preset at once, serves /metrics, and stops cleanly on SIGINT', async () => {
    const file = await clip({ seconds: 2 });
    const replay = path.join(TMP, 'serve-replay.json');
    const live = path.join(TMP, 'serve-live.json');
    await writeFile(replay, JSON.stringify({ name: 'clip', source: { type: 'file', path: file }, mode: 'replay', loop: true, realtime: true }));
    await writeFile(live, JSON.stringify({ name: 'pattern', source: { type: 'lavfi', graph: 'testsrc2=size=160x120:rate=25' }, mode: 'live' }));
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve', '--stream', replay, '--stream', live, '--port', '0', '--token', 't0k', ...modelArgs()], { cwd: PACKAGE_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
    const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    try {
      const t0 = Date.now();
      while (!/viewer: (http:\/\/127\.0\.0\.1:\d+\/\S*)/.test(stdout) && Date.now() - t0 < 30_000) await new Promise((r) => setTimeout(r, 100));
      const url = /viewer: (http:\/\/127\.0\.0\.1:\d+)\/\?token=<your token>\n/.exec(stdout)?.[1];
      assert.doesNotMatch(stdout + stderr, /t0k/, 'the token is never printed');
      assert.ok(url !== undefined, `viewer URL printed: ${stdout} ${stderr}`);
      let text = '';
      while (Date.now() - t0 < 40_000) {
        await new Promise((r) => setTimeout(r, 500));
        const res = await fetch(`${url}/metrics`, { headers: { authorization: 'Bearer t0k' } });
        text = await res.text();
        const out = (s: string): number => Number(new RegExp(`sgus_frames_out_total\\{stream="${s}"\\} (\\d+)`).exec(text)?.[1] ?? 0);
        if (out('clip') > 25 && out('pattern') > 10) break;
      }
      assert.match(text, /sgus_frames_out_total\{stream="clip"\} \d+/);
      assert.match(text, /sgus_frames_out_total\{stream="pattern"\} \d+/);
      assert.match(text, /sgus_frames_dropped_total\{stream="clip"\} 0\n/, 'the replay preset stays lossless beside the live one');
      child.kill('SIGINT');
      assert.equal(await exited, 0, stderr);
      assert.match(stderr, /clip: ended \(stopped\)/);
    } finally {
      clearTimeout(killer);
      child.kill('SIGKILL');
    }
  });
});
