/**
 * The viewer on a clinic screen, in Debian's Chromium (playwright-core): key r records the annotated
 * clip that ffprobe plays back at the recorded length, listed with the file's own size; several
 * streams show side by side in a grid, each tile with its state badge ("Stalled" when its frames
 * stop), a click enlarges one; the clinic layout's figures are large. Fed by the synthetic test
 * publisher, no model.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Frame, Page } from 'playwright-core';
import { CHROMIUM, launchChromium, until, viewerState } from '../helpers/browser.js';
import { PACKAGE_ROOT } from '../../src/segmenter/model-registry.js';
import { ViewerServer } from '../../src/server/viewer-server.js';
import { TestPublisher, hasFfmpeg, makeSyntheticClip } from '../helpers/synthetic-stream.js';
import type { SyntheticClip } from '../helpers/synthetic-stream.js';
import type { LayoutDebugState, RecorderDebugState } from '../../web-viewer/src/clinic-debug-state.js';

// Run in Chromium; this file has Node's types only.
declare const document: { getElementById(id: string): { textContent: string | null } | null };
declare const window: unknown;
declare function getComputedStyle(el: unknown): { fontSize: string };

const skip = !existsSync(CHROMIUM) ? `no Chromium at ${CHROMIUM}` : !hasFfmpeg() ? 'no ffmpeg' : false;

function recorder(page: Page): Promise<RecorderDebugState> {
  return page.evaluate(() => (window as { __sgusRecorder: RecorderDebugState }).__sgusRecorder);
}
function layout(page: Page): Promise<LayoutDebugState> {
  return page.evaluate(() => (window as { __sgusLayout: LayoutDebugState }).__sgusLayout);
}
function status(f: Page | Frame): Promise<string> {
  return f.evaluate(() => document.getElementById('status')?.textContent ?? '');
}

describe('viewer on a clinic screen (Chromium)', { skip }, () => {
  let browser: Browser;
  let server: ViewerServer;
  let clip: SyntheticClip;
  let dir: string;
  const publishers: TestPublisher[] = [];
  const contexts: BrowserContext[] = [];

  async function open(query: string): Promise<Page> {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 720 } });
    contexts.push(ctx);
    const p = await ctx.newPage();
    await p.goto(`${server.url}${query}`);
    return p;
  }

  before(async () => {
    const built = spawnSync(process.execPath, ['scripts/build-viewer.mjs'], { cwd: PACKAGE_ROOT, encoding: 'utf8' });
    assert.equal(built.status, 0, built.stderr);
    clip = await makeSyntheticClip({ width: 320, height: 240, fps: 25, frames: 30, gop: 10 });
    dir = mkdtempSync(path.join(tmpdir(), 'sgus-viewer-rec-'));
    server = await ViewerServer.start({ port: 0, token: '', stallAfterS: 1, recordingsDir: dir });
    browser = await launchChromium();
    publishers.push(new TestPublisher(server, clip, { streamId: 'left', title: 'Left gland', kind: 'live' }).start());
    publishers.push(new TestPublisher(server, clip, { streamId: 'right', title: 'Right gland', kind: 'live' }).start());
  });

  after(async () => {
    for (const p of publishers) p.stop();
    for (const c of contexts) await c.close().catch(() => undefined);
    await browser?.close();
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('records ~2 s with key r into a playable clip listed with its file size and duration', async () => {
    const page = await open('?stream=left');
    await until(async () => ((await viewerState(page)).drawn >= 5 ? true : undefined), 'pictures drawn');
    const pub = publishers[0]!;
    await page.keyboard.press('r');
    const id = await until(async () => (await recorder(page)).recording, 'the recording started');
    const from = pub.published;
    await until(() => (pub.published - from >= 2 * clip.fps ? true : undefined), '2 s of frames', 10_000);
    const recordedS = (pub.published - from) / clip.fps;
    await page.keyboard.press('r');
    const listed = await until(async () => (await recorder(page)).list.find((r) => r.id === id && !r.active), 'the recording listed as finished');
    const file = path.join(dir, `${id}.mp4`);
    assert.equal(listed.bytes, statSync(file).size);
    const shown = await page.evaluate((rid) => (document as unknown as { querySelector(s: string): { dataset: Record<string, string> } | null }).querySelector(`#recordings li[data-id="${rid}"]`)?.dataset.bytes, id);
    assert.equal(Number(shown), statSync(file).size, 'the panel lists the file size');
    const probe = JSON.parse(execFileSync('ffprobe', ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=nb_read_frames:format=duration', '-of', 'json', file], { encoding: 'utf8' })) as { streams: Array<{ nb_read_frames: string }>; format: { duration: string } };
    const duration = Number(probe.format.duration);
    assert.ok(Number(probe.streams[0]!.nb_read_frames) > 0);
    assert.ok(Math.abs(duration - recordedS) <= 0.3 * recordedS, `clip ${duration} s for ${recordedS} s recorded`);
    const download = await page.evaluate(async (url) => (await fetch(url)).status, `/recordings/${id}.mp4`);
    assert.equal(download, 200);
  });

  it('shows both streams side by side with their state badges, "Stalled" when one stops, and enlarges the one clicked', async () => {
    const page = await open('');
    const tiles = await until(async () => ((await layout(page)).tiles.length === 2 ? (await layout(page)).tiles : undefined), 'two tiles');
    assert.deepEqual([...tiles].sort(), ['left', 'right']);
    const frameOf = (id: string): Frame | undefined => page.frames().find((f) => f.url().includes(`stream=${id}`));
    for (const id of tiles) await until(async () => (frameOf(id) !== undefined && (await status(frameOf(id)!)) === 'Live' ? true : undefined), `tile ${id} live`);
    publishers[1]!.stop();
    await until(async () => (/^Stalled/.test(await status(frameOf('right')!)) ? true : undefined), 'the right tile badge says stalled', 10_000);
    assert.equal(await status(frameOf('left')!), 'Live');
    await page.locator('.tile-cell[data-stream="left"] iframe').click();
    await until(async () => ((await layout(page)).grid === false ? true : undefined), 'the grid closed');
    await until(async () => ((await viewerState(page)).streamId === 'left' ? true : undefined), 'the left stream enlarged');
  });

  it('shows the figures at 28 px or more in the clinic layout (key c)', async () => {
    const page = await open('?stream=left');
    await page.keyboard.press('c');
    const px = await page.evaluate(() => parseFloat(getComputedStyle(document.getElementById('area')).fontSize));
    assert.ok(px >= 28, `area at ${px} px`);
    assert.equal((await layout(page)).clinic, true);
  });
});
