import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { WebSocket } from 'ws';
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

  it('lists a configured stream whose source cannot open as down: /healthz 503 with its state, viewers told', async () => {
    const file = await clip({ seconds: 2 });
    const replay = path.join(TMP, 'serve-ok.json');
    const dead = path.join(TMP, 'serve-dead.json');
    await writeFile(replay, JSON.stringify({ name: 'clip', source: { type: 'file', path: file }, mode: 'replay', loop: true, realtime: true }));
    // Nothing listens on port 1: every attempt is refused at once, and a network source is retried.
    await writeFile(dead, JSON.stringify({ name: 'scanner', title: 'Scanner 3', source: { type: 'url', url: 'tcp://127.0.0.1:1' }, mode: 'live' }));
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve', '--stream', replay, '--stream', dead, '--port', '0', '-q', ...modelArgs()], { cwd: PACKAGE_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
    const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    try {
      const t0 = Date.now();
      while (!/viewer: http:\/\/127\.0\.0\.1:\d+\//.test(stdout) && Date.now() - t0 < 30_000) await new Promise((r) => setTimeout(r, 100));
      const url = /viewer: (http:\/\/127\.0\.0\.1:\d+)\//.exec(stdout)?.[1];
      assert.ok(url !== undefined, `viewer URL printed: ${stdout} ${stderr}`);
      type Health = { status: string; down: string[]; streamStates: { id: string; state: string }[] };
      let code = 0;
      let health: Health = { status: '', down: [], streamStates: [] };
      const stateOf = (id: string): string | undefined => health.streamStates.find((s) => s.id === id)?.state;
      // Until the replay flows and the dead source has been tried: the replay is fine, the scanner is down.
      while (Date.now() - t0 < 40_000) {
        const res = await fetch(`${url}/healthz`);
        code = res.status;
        health = (await res.json()) as Health;
        if (stateOf('clip') === 'replay' && stateOf('scanner') === 'reconnecting') break;
        await new Promise((r) => setTimeout(r, 250));
      }
      assert.deepEqual([code, health.status, health.down, stateOf('clip'), stateOf('scanner')], [503, 'down', ['scanner'], 'replay', 'reconnecting'], stderr);
      const hello = await new Promise<{ streams: { id: string; title: string; status?: { state: string } }[] }>((resolve, reject) => {
        const ws = new WebSocket(`${url.replace('http', 'ws')}/ws`);
        ws.once('message', (data) => {
          ws.close();
          resolve(JSON.parse(String(data)) as { streams: { id: string; title: string; status?: { state: string } }[] });
        });
        ws.once('error', reject);
      });
      assert.deepEqual(hello.streams.map((s) => [s.id, s.title, s.status?.state]), [['clip', 'clip', 'replay'], ['scanner', 'Scanner 3', 'reconnecting']]);
      child.kill('SIGINT');
      assert.equal(await exited, 0, stderr);
    } finally {
      clearTimeout(killer);
      child.kill('SIGKILL');
    }
  });
});
