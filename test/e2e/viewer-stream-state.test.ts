/**
 * Truthful live state in a real browser (Debian's Chromium through playwright-core): when the hub
 * announces a stream stalled or lost, the viewer greys the picture at once, marks the outline stale
 * and says what happened and how long ago the last frame came; a recording is never called "Live";
 * a configured stream that is down is listed as down. Fed by the synthetic test publisher, no model.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { CHROMIUM, launchChromium, until, viewerState as debug } from '../helpers/browser.js';
import { PACKAGE_ROOT } from '../../src/segmenter/model-registry.js';
import { ViewerServer } from '../../src/server/viewer-server.js';
import { TestPublisher, hasFfmpeg, makeSyntheticClip } from '../helpers/synthetic-stream.js';
import type { SyntheticClip } from '../helpers/synthetic-stream.js';
import type { ViewerDebugState } from '../../web-viewer/src/debug-state.js';

// The callbacks given to page.evaluate() run in Chromium; this file is compiled with Node's types
// only, so the few browser globals they use are declared here (as in viewer-browser.test.ts).
interface PageElement {
  textContent: string | null;
}
interface PageCanvas extends PageElement {
  width: number;
  height: number;
  getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } } | null;
}
type HTMLCanvasElement = PageCanvas;
type HTMLSelectElement = PageElement & { options: Iterable<PageElement> };
declare const document: { getElementById(id: string): PageElement | null };
declare const window: unknown;

const skip = !existsSync(CHROMIUM) ? `no Chromium at ${CHROMIUM}` : !hasFfmpeg() ? 'no ffmpeg to encode the test clip' : false;
/** Short, so the test does not wait long; the product default is STALL_WATCHDOG_DEFAULTS.stallAfterS. */
const STALL_AFTER_S = 1;


function statusText(page: Page): Promise<string> {
  return page.evaluate(() => document.getElementById('status')!.textContent ?? '');
}

/** Canvas figures: pixels with colour in them (the outline; the ultrasound picture is grey) and the mean brightness. */
function canvasLook(page: Page): Promise<{ coloured: number; meanLuma: number }> {
  return page.evaluate(() => {
    const c = document.getElementById('video') as HTMLCanvasElement;
    const px = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let coloured = 0;
    let sum = 0;
    for (let i = 0; i < px.length; i += 4) {
      const r = px[i]!, g = px[i + 1]!, b = px[i + 2]!;
      if (Math.max(r, g, b) - Math.min(r, g, b) > 40) coloured++;
      sum += (r + g + b) / 3;
    }
    return { coloured, meanLuma: sum / (px.length / 4) };
  });
}

describe('viewer shows each stream\'s state (Chromium)', { skip }, () => {
  let browser: Browser;
  let server: ViewerServer;
  let clip: SyntheticClip;
  const publishers: TestPublisher[] = [];
  const contexts: BrowserContext[] = [];
  const pageErrors: string[] = [];

  async function openViewer(query: string): Promise<Page> {
    const ctx = await browser.newContext({ viewport: { width: 800, height: 600 } });
    contexts.push(ctx);
    const p = await ctx.newPage();
    p.on('pageerror', (e) => pageErrors.push(e.message));
    await p.goto(`${server.url}${query}`);
    return p;
  }

  before(async () => {
    const built = spawnSync(process.execPath, ['scripts/build-viewer.mjs'], { cwd: PACKAGE_ROOT, encoding: 'utf8' });
    assert.equal(built.status, 0, built.stderr);
    clip = await makeSyntheticClip({ width: 320, height: 240, fps: 25, frames: 30, gop: 15 });
    server = await ViewerServer.start({ port: 0, token: '', stallAfterS: STALL_AFTER_S });
    browser = await launchChromium();
  });

  after(async () => {
    for (const p of publishers) p.stop();
    for (const c of contexts) await c.close().catch(() => undefined);
    await browser?.close();
    await server?.close();
  });

  it("greys the picture, marks the outline stale and says how long ago the last frame came when the server announces 'stalled'", async () => {
    const scanner = new TestPublisher(server, clip, { streamId: 'scanner', title: 'Scanner 3', kind: 'live' }).start();
    publishers.push(scanner);
    const page = await openViewer('?stream=scanner');
    await until(async () => ((await debug(page)).drawn >= 10 && (await statusText(page)) === 'Live' ? true : undefined), 'live frames under "Live"');
    const live = await canvasLook(page);
    assert.equal((await debug(page)).stale, false);
    assert.ok(live.coloured > 50, `the outline is drawn in colour (${live.coloured} coloured pixels)`);

    scanner.stop(); // frozen: no end, no word from the source
    const frozenAt = Date.now();
    const stalled = await until(async () => {
      const d = await debug(page);
      return d.streamState === 'stalled' ? d : undefined;
    }, 'the stalled state', 10_000);
    assert.ok(Date.now() - frozenAt < (STALL_AFTER_S + 2) * 1000, `noticed after ${Date.now() - frozenAt} ms`);
    assert.equal(stalled.stale, true);
    assert.match(stalled.notice, /^Stalled: no new frame for \d+ s\. The picture is not current\.$/);
    const status = await statusText(page);
    assert.match(status, /^Stalled: no frame for \d+ s$/);
    assert.doesNotMatch(status, /Live/);
    const grey = await canvasLook(page);
    assert.equal(grey.coloured, 0, 'picture and outline greyed: no colour left');
    assert.ok(grey.meanLuma < live.meanLuma * 0.8, `darkened: ${grey.meanLuma.toFixed(1)} vs ${live.meanLuma.toFixed(1)}`);
    // The time since the last frame keeps counting.
    const first = Number(/for (\d+) s/.exec(status)![1]);
    await until(async () => {
      const m = /for (\d+) s/.exec(await statusText(page));
      return m !== null && Number(m[1]) >= first + 2 ? true : undefined;
    }, 'the age to grow', 5000);
    await page.screenshot({ path: `${PACKAGE_ROOT}/test-output/viewer-stalled.png` }).catch(() => undefined);

    // A lost source: said at once, with the reason, and the stream is listed as down.
    server.setStreamState('scanner', 'reconnecting', { reason: 'ffmpeg exited with code 1', attempt: 2, retryInMs: 1000 });
    const lost = await until(async () => {
      const d = await debug(page);
      return d.streamState === 'reconnecting' ? d : undefined;
    }, 'the reconnecting state', 3000);
    assert.match(lost.notice, /^Source lost \(ffmpeg exited with code 1\): reconnecting \(attempt 2\); last frame \d+ s ago\./);
    assert.equal(await statusText(page), 'Source lost: reconnecting');
    const options = await page.evaluate(() => [...(document.getElementById('stream-picker') as HTMLSelectElement).options].map((o) => o.textContent));
    assert.deepEqual(options, ['1: Scanner 3 (down: reconnecting)']);

    // Back: colour and "Live" return with the frames.
    publishers.push(new TestPublisher(server, clip, { streamId: 'scanner', title: 'Scanner 3', kind: 'live' }).start());
    await until(async () => {
      const d = await debug(page);
      return d.streamState === 'live' && !d.stale && (await statusText(page)) === 'Live' && (await canvasLook(page)).coloured > 50 ? true : undefined;
    }, 'live again, in colour');
    await page.context().close();
  });

  it('never calls a recording "Live", flowing or stalled', async () => {
    const exam = new TestPublisher(server, clip, { streamId: 'exam', title: 'Parotid exam (recording)', kind: 'replay' }).start();
    publishers.push(exam);
    const page = await openViewer('?stream=exam');
    await until(async () => ((await debug(page)).drawn >= 5 ? true : undefined), 'frames of the recording');
    const seen = new Set<string>();
    for (let i = 0; i < 15; i++) {
      seen.add(await statusText(page));
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.deepEqual([...seen], ['Replay']);
    exam.stop();
    await until(async () => ((await debug(page)).streamState === 'stalled' ? true : undefined), 'the recording stalled', 10_000);
    assert.doesNotMatch(await statusText(page), /Live/);
    const options = await page.evaluate(() => [...(document.getElementById('stream-picker') as HTMLSelectElement).options].map((o) => o.textContent ?? ''));
    assert.ok(options.every((o) => !/Live/.test(o)), JSON.stringify(options));
    await page.context().close();
  });

  it('lists a configured stream whose source never opened as down', async () => {
    server.expectStream('ward-2', 'Ward 2', 'live');
    const page = await openViewer('?stream=ward-2');
    const d = await until(async () => {
      const s = await debug(page);
      return s.streamState === 'starting' ? s : undefined;
    }, 'the starting state');
    assert.match(d.notice, /^Waiting for the source to open/);
    assert.equal(await statusText(page), 'Starting…');
    const options = await page.evaluate(() => [...(document.getElementById('stream-picker') as HTMLSelectElement).options].map((o) => o.textContent ?? ''));
    assert.ok(options.includes('3: Ward 2 (down: starting)'), JSON.stringify(options));
    await page.context().close();
  });

  it('raised no page errors', () => {
    assert.deepEqual(pageErrors, []);
  });
});
