/**
 * `sgus serve` on a first start (no cached sample exam): the viewer URL is printed before the
 * synthetic source is generated, the page answers at once, the stream is listed as 'starting' with
 * the generation's progress ("preparing …: N %"), and it turns into the replay when ready.
 * Skips without FFmpeg or the demo model.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { PACKAGE_ROOT, resolveModel } from '../../src/segmenter/model-registry.js';
import type { ServerMessage } from '../../src/shared/protocol.js';
import { hasFfmpeg } from '../helpers/synthetic-stream.js';
import { viewerUrlOf } from '../helpers/viewer-url.js';
import { stopProcess } from '../../src/helper-process.js';

const MODEL = 'unet-m-synth';
const modelOk = await resolveModel(MODEL).then(() => true, () => false);
const skip = !hasFfmpeg() ? 'no ffmpeg' : !modelOk ? `no model ${MODEL}` : false;

describe('sgus serve, first start', { skip }, () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'sgus-first-start-'));
  let child: ChildProcess | undefined;
  after(async () => {
    if (child !== undefined) await stopProcess(child, 'SIGINT', 10_000);
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints the viewer URL first, shows the preparation progress, then the exam', { timeout: 240_000 }, async () => {
    const preset = path.join(dir, 'first-start.json');
    writeFileSync(preset, JSON.stringify({ name: 'first-start', title: 'Sample exam', source: { type: 'synthetic', width: 640, height: 480, fps: 25, seconds: 10, seed: 5 }, mode: 'replay', loop: true, realtime: true }));
    const clipFile = path.join(dir, 'cache', 'synthetic-640x480-25fps-10s-seed5-crf28.mp4');
    child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve', '--stream', preset, '--port', '0', '--model', MODEL], {
      cwd: PACKAGE_ROOT,
      env: { ...process.env, SGUS_CACHE_DIR: path.join(dir, 'cache'), SGUS_TOKEN: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-3000)));
    const url = await viewerUrlOf(child, 60000, () => stderr);
    // Checked in the same turn as the URL arrived: no I/O runs in between.
    const clipExisted = existsSync(clipFile);
    // The URL comes before the source is made: the clip is written (renamed into place) only when complete.
    assert.equal(clipExisted, false, 'the viewer URL is printed before the sample exam is generated');
    const page = await fetch(url);
    assert.equal(page.status, 200, 'the viewer page answers while the exam is prepared');
    const port = new URL(url).port;
    const messages: ServerMessage[] = [];
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
    ws.on('message', (d, binary) => {
      if (!binary) messages.push(JSON.parse(String(d)) as ServerMessage);
    });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the stream did not become a replay within 150 s: ${stderr.slice(-500)}`)), 150_000);
      const check = setInterval(() => {
        // The stream opens with stream-added (its status 'replay'), or a stream-state when it was listed.
        if (messages.some((m) => (m.type === 'stream-state' && m.status.state === 'replay') || (m.type === 'stream-added' && m.stream.status?.state === 'replay'))) {
          clearTimeout(timer);
          clearInterval(check);
          resolve();
        }
      }, 200);
    });
    ws.close();
    const hello = messages.find((m) => m.type === 'hello');
    assert.ok(hello !== undefined && hello.type === 'hello');
    assert.deepEqual(hello.streams.map((s) => [s.id, s.status?.state]), [['first-start', 'starting']]);
    const reasons = messages.filter((m) => m.type === 'stream-state').map((m) => (m.type === 'stream-state' ? `${m.status.state}: ${m.status.reason}` : ''));
    const progress = reasons.map((r) => /^starting: preparing Sample exam: (\d+) % \(first start only\)$/.exec(r)).filter((m) => m !== null).map((m) => Number(m[1]));
    assert.ok(progress.length >= 2, `progress shown while preparing: ${reasons.slice(0, 5).join(' | ')}`);
    assert.deepEqual(progress, [...progress].sort((a, b) => a - b), 'progress only goes up');
    assert.ok(progress[progress.length - 1]! >= 90, `progress reaches the end: ${progress.slice(-3).join(', ')}`);
    const opened = messages.findIndex((m) => (m.type === 'stream-state' && m.status.state === 'replay') || (m.type === 'stream-added' && m.stream.status?.state === 'replay'));
    const preparing = messages.map((m, i) => (m.type === 'stream-state' && /^preparing /.test(m.status.reason) ? i : -1));
    const lastPreparing = Math.max(...preparing);
    assert.ok(lastPreparing < opened, 'the exam follows the preparation');
    assert.equal(existsSync(clipFile), true);
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    assert.equal(health.status, 200);
  });
});
