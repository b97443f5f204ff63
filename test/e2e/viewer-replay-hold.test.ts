/**
 * A recorded exam watched in the browser stays open at its end: `sgus replay CLIP --serve` (no
 * --out) holds the last frame, paused, with the whole exam's area curve on the timeline; a step
 * back and a seek still show frames, play goes on to the end again, and Ctrl-C closes it with exit 0.
 * On a clip the project generates (no patient data). Skips without Chromium, FFmpeg or the demo model.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { CHROMIUM, launchChromium, until as untilShort, viewerState } from '../helpers/browser.js';
import { viewerUrlOf } from '../helpers/viewer-url.js';
import { writeSyntheticClip } from '../../src/pipeline/synthetic-clip.js';
import { PACKAGE_ROOT, resolveModel } from '../../src/segmenter/model-registry.js';
import { hasFfmpeg } from '../helpers/synthetic-stream.js';

const MODEL = 'unet-m-synth';
const TOKEN = 'hold-e2e';
const FPS = 5;
const SECONDS = 4;
const LAST = FPS * SECONDS - 1;
const modelOk = await resolveModel(MODEL).then(() => true, () => false);
const skip = !existsSync(CHROMIUM) ? `no Chromium at ${CHROMIUM}` : !hasFfmpeg() ? 'no ffmpeg' : !modelOk ? `no model ${MODEL}` : false;

const until = <T>(what: () => Promise<T | undefined | false> | T | undefined | false, label: string, timeoutMs = 30000): Promise<T> => untilShort(what, label, timeoutMs, 100);

describe('a served replay held at its end (sgus replay --serve, Chromium)', { skip }, () => {
  let dir = '';
  let child: ChildProcess | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let stderr = '';

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'sgus-hold-'));
    const built = spawnSync(process.execPath, ['scripts/build-viewer.mjs'], { cwd: PACKAGE_ROOT, encoding: 'utf8' });
    assert.equal(built.status, 0, built.stderr);
    const clip = path.join(dir, 'clip.mp4');
    await writeSyntheticClip({ path: clip, width: 320, height: 240, fps: FPS, seconds: SECONDS, seed: 11 });
    child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'replay', clip, '--serve', '--port', '0', '--model', MODEL], {
      cwd: PACKAGE_ROOT,
      env: { ...process.env, SGUS_TOKEN: TOKEN },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stderr!.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-4000)));
    const url = (await viewerUrlOf(child, 90000, () => stderr)).replace(/<your$/, TOKEN);
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1000, height: 800 } });
    await page.goto(url);
  });

  after(async () => {
    await browser?.close();
    if (child !== undefined && child.exitCode === null) child.kill('SIGKILL');
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  it('holds the last frame, paused, with the whole exam on the timeline', async () => {
    const s = await until(async () => {
      const v = await viewerState(page);
      return v.playback?.paused === true && v.lastDrawnIndex === LAST ? v : undefined;
    }, `the last frame held (${stderr.slice(-300)})`, 90000);
    assert.equal(s.streamState, 'replay', 'not ended');
    // The curve is fetched every few seconds.
    await until(async () => (await viewerState(page)).timelinePoints === LAST + 1, 'an area point for every frame of the exam on the timeline');
    assert.match(stderr, /end of the file at frame \d+: its last frame stays for review/);
    assert.equal(child!.exitCode, null, 'still serving');
  });

  it('a step back and a seek still show their frames after the end', async () => {
    await page.keyboard.press('ArrowLeft');
    await until(async () => (await viewerState(page)).lastDrawnIndex === LAST - 1, 'the frame before the last');
    // A click at the timeline's first tenth: a frame near the start.
    const box = await page.locator('#timeline').boundingBox();
    assert.ok(box !== null, 'the timeline is on the page');
    await page.mouse.click(box.x + box.width * 0.1, box.y + box.height / 2);
    const v = await until(async () => {
      const x = await viewerState(page);
      return x.lastDrawnIndex < LAST / 2 ? x : undefined;
    }, 'a frame near the start after a click on the timeline');
    assert.equal(v.playback?.paused, true, 'still paused where it landed');
  });

  it('play goes on from where the seek landed and holds the end once more; Ctrl-C closes it with exit 0', async () => {
    await page.keyboard.press(' ');
    await until(async () => (await viewerState(page)).playback?.paused === false, 'playing');
    await until(async () => {
      const x = await viewerState(page);
      return x.playback?.paused === true && x.lastDrawnIndex === LAST ? x : undefined;
    }, 'the end held again', 60000);
    const exited = new Promise<number | null>((r) => child!.once('exit', (code) => r(code)));
    child!.kill('SIGINT');
    assert.equal(await exited, 0, stderr.slice(-500));
  });
});
