/**
 * Replay controls in Chromium: `sgus replay CLIP --serve --out DIR` on a clip the project generates
 * (no patient data). Pause stops the frame index, a step advances it by exactly one, a seek to t
 * shows the frame whose pts is t (checked against the NDJSON the same run writes), 2× speed at
 * least 1.5 times the pts a second of 1×, and the timeline draws the area curve. A second client on
 * its own socket sends some of the controls: the replay is shared, the browser follows it.
 * Skips without Chromium, FFmpeg or the demo model.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { WebSocket } from 'ws';
import { CHROMIUM, launchChromium, until as untilShort, viewerState } from '../helpers/browser.js';
import { viewerUrlOf } from '../helpers/viewer-url.js';
import { writeSyntheticClip } from '../../src/pipeline/synthetic-clip.js';
import { PACKAGE_ROOT, resolveModel } from '../../src/segmenter/model-registry.js';
import { hasFfmpeg } from '../helpers/synthetic-stream.js';
import type { ClientMessage, ServerMessage } from '../../src/shared/protocol.js';
import { stopProcess } from '../../src/helper-process.js';

const MODEL = 'unet-m-synth';
const TOKEN = 'controls-e2e';
// A low rate on purpose: the pipeline must keep up with 2x on a loaded CI machine (a replay is lossless).
const FPS = 2;
const modelOk = await resolveModel(MODEL).then(() => true, () => false);
const skip = !existsSync(CHROMIUM) ? `no Chromium at ${CHROMIUM}` : !hasFfmpeg() ? 'no ffmpeg' : !modelOk ? `no model ${MODEL}` : false;

const until = <T>(what: () => Promise<T | undefined | false> | T | undefined | false, label: string, timeoutMs = 30000): Promise<T> => untilShort(what, label, timeoutMs, 100);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('replay controls in the viewer (sgus replay --serve, Chromium)', { skip }, () => {
  let dir = '';
  let child: ChildProcess | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let ws: WebSocket | undefined;
  let stderr = '';
  let ndjsonFile = '';
  const serverMessages: ServerMessage[] = [];

  function ndjsonPts(index: number): number | undefined {
    if (!existsSync(ndjsonFile)) return undefined;
    for (const line of readFileSync(ndjsonFile, 'utf8').split('\n')) {
      if (!line.endsWith('}')) continue;
      const r = JSON.parse(line) as { index: number; pts: number };
      if (r.index === index) return r.pts;
    }
    return undefined;
  }
  const send = (m: ClientMessage): void => ws!.send(JSON.stringify(m));

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'sgus-controls-'));
    const built = spawnSync(process.execPath, ['scripts/build-viewer.mjs'], { cwd: PACKAGE_ROOT, encoding: 'utf8' });
    assert.equal(built.status, 0, built.stderr);
    const clip = path.join(dir, 'clip.mp4');
    await writeSyntheticClip({ path: clip, width: 320, height: 240, fps: FPS, seconds: 60, seed: 3 });
    const out = path.join(dir, 'out');
    ndjsonFile = path.join(out, 'clip.contours.ndjson');
    child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'replay', clip, '--serve', '--port', '0', '--loop', '--quiet', '--no-video', '--out', out, '--model', MODEL], {
      cwd: PACKAGE_ROOT,
      env: { ...process.env, SGUS_TOKEN: TOKEN },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stderr!.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-3000)));
    const url = (await viewerUrlOf(child, 90000, () => stderr)).replace(/<your$/, TOKEN);
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1000, height: 800 } });
    await page.goto(url);
    await until(async () => ((await viewerState(page)).drawn >= 5 && (await viewerState(page)).playback !== undefined ? true : undefined), `frames drawn and a playback state (${stderr.slice(-300)})`, 90000);
    const u = new URL(url);
    ws = new WebSocket(`ws://${u.host}/ws?token=${TOKEN}`, { headers: { origin: u.origin } });
    ws.on('message', (data, binary) => {
      if (!binary) serverMessages.push(JSON.parse(data.toString()) as ServerMessage);
    });
    await new Promise((r, j) => ws!.once('open', r).once('error', j));
  });

  after(async () => {
    ws?.close();
    await browser?.close();
    if (child !== undefined) await stopProcess(child, 'SIGINT', 10_000);
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  it('space pauses: the frame index stops; a step (→) shows exactly the next frame', async () => {
    await page.keyboard.press(' ');
    await until(async () => (await viewerState(page)).playback?.paused === true, 'paused in the stream state');
    // Frames already on their way drain first.
    await sleep(1500);
    const a = (await viewerState(page)).lastDrawnIndex;
    await sleep(1500);
    assert.equal((await viewerState(page)).lastDrawnIndex, a, 'no new frame while paused');
    await page.keyboard.press('ArrowRight');
    await until(async () => (await viewerState(page)).lastDrawnIndex !== a, 'a frame after the step');
    await sleep(1000);
    const s = await viewerState(page);
    assert.equal(s.lastDrawnIndex, a + 1, 'one step, one frame');
    assert.equal(s.playback?.paused, true);
  });

  it('a seek to t (from another client) shows the frame whose pts is t in the NDJSON, still paused', async () => {
    const target = 2 * FPS;
    send({ type: 'control', streamId: 'replay', action: 'seek', t: 2 });
    const s = await until(async () => {
      const v = await viewerState(page);
      return v.lastDrawnIndex === target ? v : undefined;
    }, 'the frame at 2 s');
    const pts = ndjsonPts(target);
    assert.ok(pts !== undefined, `frame ${target} in the NDJSON`);
    assert.ok(Math.abs((s.lastDrawnPts ?? -1) - pts) < 0.001, `shown pts ${s.lastDrawnPts}, NDJSON ${pts}`);
    assert.ok(Math.abs(pts - 2) < 0.5 / FPS);
    await sleep(1000);
    assert.equal((await viewerState(page)).lastDrawnIndex, target, 'a paused seek stays on its frame');
  });

  it('a viewer opening the paused replay sees the same paused frame (the playback is shared)', async () => {
    const second = await browser!.newPage({ viewport: { width: 800, height: 700 } });
    try {
      await second.goto(page.url());
      const s = await until(async () => {
        const v = await viewerState(second);
        return v.lastDrawnIndex >= 0 ? v : undefined;
      }, 'a picture in the second viewer');
      assert.equal(s.lastDrawnIndex, 2 * FPS);
      assert.equal(s.playback?.paused, true);
    } finally {
      await second.close();
    }
  });

  it('2x speed advances the pts at least 1.5 times as fast as 1x', async () => {
    const rate = async (): Promise<number> => {
      // FFmpeg restarts at the new pace: let it settle.
      await sleep(2500);
      const a = await viewerState(page);
      const t0 = Date.now();
      await sleep(4000);
      const b = await viewerState(page);
      return ((b.lastDrawnPts ?? 0) - (a.lastDrawnPts ?? 0)) / ((Date.now() - t0) / 1000);
    };
    send({ type: 'control', streamId: 'replay', action: 'seek', t: 0 });
    await page.keyboard.press(' ');
    await until(async () => (await viewerState(page)).playback?.paused === false, 'playing');
    const one = await rate();
    // ']' twice: 1 -> 1.5 -> 2.
    await page.keyboard.press(']');
    await until(async () => (await viewerState(page)).playback?.speed === 1.5, 'speed 1.5');
    await page.keyboard.press(']');
    await until(async () => (await viewerState(page)).playback?.speed === 2, 'speed 2');
    const two = await rate();
    assert.ok(one > 0.5, `1x plays (${one.toFixed(2)} s of pts a second)`);
    process.stderr.write(`replay controls: pts a second at 1x ${one.toFixed(2)}, at 2x ${two.toFixed(2)}\n`);
    assert.ok(two >= 1.5 * one, `2x: ${two.toFixed(2)} s of pts a second, 1x: ${one.toFixed(2)}`);
  });

  it('the timeline draws the area curve of the frames segmented so far', async () => {
    const n = await until(async () => ((await viewerState(page)).timelinePoints ?? 0) > 10 ? (await viewerState(page)).timelinePoints : undefined, 'area points on the timeline');
    assert.ok(n! > 10);
    const drawn = await page.evaluate(() => {
      const c = (globalThis as unknown as { document: { getElementById(id: string): { width: number; height: number; getContext(k: string): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } } } } }).document.getElementById('timeline');
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let cyan = 0;
      for (let i = 0; i < d.length; i += 4) if (d[i + 2]! > 200 && d[i + 1]! > 150 && d[i]! < 80) cyan++;
      return cyan;
    });
    assert.ok(drawn > 50, `curve pixels on the timeline: ${drawn}`);
    // A picture of a generated clip (no patient data), for people to look at.
    mkdirSync(path.join(PACKAGE_ROOT, 'test-output'), { recursive: true });
    await page.screenshot({ path: path.join(PACKAGE_ROOT, 'test-output', 'viewer-replay-controls.png') });
  });

  it('answers hostile controls with one error each and keeps serving', async () => {
    serverMessages.length = 0;
    ws!.send('{"type":"control","streamId":"replay","action":"rewind"}');
    ws!.send('{"type":"control","streamId":"replay","action":"speed","speed":9}');
    ws!.send('{"type":"control","streamId":"nope","action":"pause"}');
    await until(() => (serverMessages.filter((m) => m.type === 'error').length >= 3 ? true : undefined), 'three errors');
    const codes = serverMessages.flatMap((m) => (m.type === 'error' ? [m.code] : []));
    assert.deepEqual(codes, ['protocol-error', 'protocol-error', 'unknown-stream']);
    const before = (await viewerState(page)).lastDrawnIndex;
    await until(async () => (await viewerState(page)).lastDrawnIndex > before, 'frames still flowing');
  });
});
