/**
 * The viewer in a real browser (Debian's Chromium through playwright-core), fed by a test publisher
 * with a synthetic clip whose overlays come from the true masks: no model, no real data. Checks that
 * frames are decoded by WebCodecs, that the outline lies on the mask boundary of the very frame on
 * screen, the status bar, several viewers, reconnection, the token, malformed messages and traversal.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { CHROMIUM, launchChromium, until, viewerState as debug } from '../helpers/browser.js';
import type { GreyImage } from '../../src/core/image.js';
import { PACKAGE_ROOT } from '../../src/segmenter/model-registry.js';
import { ViewerServer } from '../../src/server/viewer-server.js';
import { FFMPEG, TestPublisher, hasFfmpeg, makeSyntheticClip } from '../helpers/synthetic-stream.js';
import type { SyntheticClip } from '../helpers/synthetic-stream.js';
import type { ViewerDebugState } from '../../web-viewer/src/debug-state.js';

// The callbacks given to page.evaluate() run in Chromium, but this file is compiled with Node's types
// only (the DOM lib would leak into every file of the program), so the few browser globals those
// callbacks use are declared here, module-scoped.
interface PageElement {
  value: string;
  textContent: string | null;
  dispatchEvent(event: Event): boolean;
  getBoundingClientRect(): { width: number; height: number };
}
interface PageCanvas extends PageElement {
  width: number;
  height: number;
  getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { width: number; height: number; data: Uint8ClampedArray }; drawImage(src: PageCanvas, x: number, y: number, w: number, h: number): void } | null;
}
type HTMLInputElement = PageElement;
type HTMLCanvasElement = PageCanvas;
type HTMLSelectElement = PageElement & { options: Iterable<PageElement> };
declare const document: { getElementById(id: string): PageElement | null; createElement(tag: 'canvas'): PageCanvas };
declare const window: unknown;
declare const VideoDecoder: unknown;
declare const devicePixelRatio: number;
declare const localStorage: { clear(): void };
declare class WebSocket {
  constructor(url: string);
  onopen: (() => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: (() => void) | null;
  send(data: string): void;
  close(): void;
}

const OUT_DIR = path.join(PACKAGE_ROOT, 'test-output');
const DOCS_SHOT = path.join(PACKAGE_ROOT, 'docs', 'viewer.png');
const skip = !existsSync(CHROMIUM) ? `no Chromium at ${CHROMIUM}` : !hasFfmpeg() ? 'no ffmpeg to encode the test clip' : false;

type DebugState = ViewerDebugState;


/** Boundary pixels of a mask (inside pixels with a 4-neighbour outside). */
function boundary(mask: GreyImage): [number, number][] {
  const out: [number, number][] = [];
  const { width: w, height: h, data } = mask;
  const on = (x: number, y: number): boolean => x >= 0 && y >= 0 && x < w && y < h && data[y * w + x] !== 0;
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) if (on(x, y) && (!on(x - 1, y) || !on(x + 1, y) || !on(x, y - 1) || !on(x, y + 1))) out.push([x, y]);
  return out;
}

/** Distance in pixels from every mask pixel to the mask boundary, signed: > 0 inside, < 0 outside (brute force on a small image). */
function signedDistance(mask: GreyImage, b: [number, number][]): Float32Array {
  const d = new Float32Array(mask.width * mask.height);
  for (let y = 0; y < mask.height; y++) {
    for (let x = 0; x < mask.width; x++) {
      let best = Infinity;
      for (const [bx, by] of b) {
        const dd = (bx - x) ** 2 + (by - y) ** 2;
        if (dd < best) best = dd;
      }
      d[y * mask.width + x] = (mask.data[y * mask.width + x] !== 0 ? 1 : -1) * Math.sqrt(best);
    }
  }
  return d;
}

describe('web viewer in Chromium', { skip }, () => {
  let browser: Browser;
  let server: ViewerServer;
  let clip: SyntheticClip;
  const publishers: TestPublisher[] = [];
  const contexts: BrowserContext[] = [];
  const consoleErrors: string[] = [];
  let page: Page;

  async function openViewer(url: string, options: { deviceScaleFactor?: number; width?: number; height?: number } = {}): Promise<Page> {
    const ctx = await browser.newContext({ viewport: { width: options.width ?? 960, height: options.height ?? 640 }, deviceScaleFactor: options.deviceScaleFactor ?? 1 });
    contexts.push(ctx);
    const p = await ctx.newPage();
    p.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    p.on('pageerror', (e) => consoleErrors.push(`pageerror: ${e.message}`));
    await p.goto(url);
    return p;
  }

  before(async () => {
    mkdirSync(OUT_DIR, { recursive: true });
    const built = spawnSync(process.execPath, ['scripts/build-viewer.mjs'], { cwd: PACKAGE_ROOT, encoding: 'utf8' });
    assert.equal(built.status, 0, built.stderr);
    clip = await makeSyntheticClip({ width: 320, height: 240, fps: 25, frames: 30, gop: 15, alternate: true });
    server = await ViewerServer.start({ port: 0, token: '' });
    publishers.push(new TestPublisher(server, clip, { streamId: 'synthetic-h264', title: 'Synthetic H.264' }).start());
    publishers.push(new TestPublisher(server, clip, { streamId: 'synthetic-jpeg', title: 'Synthetic JPEG', codec: 'jpeg' }).start());
    browser = await launchChromium();
  });

  after(async () => {
    for (const p of publishers) p.stop();
    for (const c of contexts) await c.close().catch(() => undefined);
    await browser?.close();
    await server?.close();
  });

  it('loads the page and decodes H.264 frames with WebCodecs', async () => {
    page = await openViewer(server.url);
    const state = await until(async () => {
      const s = await debug(page);
      return s.decoded >= 15 ? s : undefined;
    }, '15 decoded frames');
    assert.equal(state.decoder, 'h264');
    assert.equal(state.streamId, 'synthetic-h264');
    assert.equal(await page.evaluate(() => typeof VideoDecoder), 'function');
    assert.deepEqual(state.decodeErrors, []);
    assert.equal(state.notice, '');
  });

  it('draws the outline on the mask boundary of the frame on screen, over that frame', async () => {
    // No named functions inside evaluate(): tsx's __name helper does not exist in the page.
    await page.evaluate(() => {
      for (const [id, v] of [['color', '#00ff00'], ['opacity', '0'], ['thickness', '2']] as const) {
        const el = document.getElementById(id) as HTMLInputElement;
        el.value = v;
        el.dispatchEvent(new Event('input'));
      }
    });
    // One synchronous look: the frame index and the canvas pixels belong together.
    const shot = await page.evaluate(() => {
      const s = (window as unknown as { __sgus: DebugState }).__sgus;
      const canvas = document.getElementById('video') as HTMLCanvasElement;
      const ctx = canvas.getContext('2d')!;
      const img = ctx.getImageData(0, 0, canvas.width, canvas.height);
      const green: number[] = [];
      for (let y = 0; y < img.height; y++) {
        for (let x = 0; x < img.width; x++) {
          const i = (y * img.width + x) * 4;
          const r = img.data[i]!, g = img.data[i + 1]!, b = img.data[i + 2]!;
          if (g > 150 && r < 100 && b < 100 && g - r > 100) green.push(x, y);
        }
      }
      // The picture at source size, for the inside/outside brightness check.
      const small = document.createElement('canvas');
      small.width = 320;
      small.height = 240;
      const sctx = small.getContext('2d')!;
      sctx.drawImage(canvas, 0, 0, 320, 240);
      const px = sctx.getImageData(0, 0, 320, 240).data;
      const luma: number[] = [];
      const isGreen: number[] = [];
      for (let i = 0; i < px.length; i += 4) {
        luma.push(px[i + 2]!); // blue: the picture's grey, untouched by the green outline
        isGreen.push(px[i + 1]! - px[i]! > 40 ? 1 : 0);
      }
      return { index: s.lastDrawnIndex, stream: s.lastDrawnStream, width: canvas.width, height: canvas.height, green, luma, isGreen };
    });
    assert.equal(shot.stream, 'synthetic-h264');
    const frame = clip.frames[shot.index % clip.frames.length]!;
    const b = boundary(frame.mask);
    const sx = shot.width / clip.width;
    const sy = shot.height / clip.height;
    assert.ok(shot.green.length > b.length, `outline pixels found: ${shot.green.length}`);
    // Every outline pixel lies on the true boundary of frame `index` (within the line's half width + 1 px).
    let near = 0;
    const covered = new Uint8Array(b.length);
    for (let k = 0; k < shot.green.length; k += 2) {
      const x = (shot.green[k]! + 0.5) / sx - 0.5;
      const y = (shot.green[k + 1]! + 0.5) / sy - 0.5;
      let best = Infinity;
      let bi = -1;
      for (let j = 0; j < b.length; j++) {
        const d = (b[j]![0] - x) ** 2 + (b[j]![1] - y) ** 2;
        if (d < best) {
          best = d;
          bi = j;
        }
      }
      if (Math.sqrt(best) <= 1.5) {
        near++;
        covered[bi] = 1;
      }
    }
    const onBoundary = near / (shot.green.length / 2);
    assert.ok(onBoundary > 0.95, `${(onBoundary * 100).toFixed(1)} % of outline pixels on the mask boundary`);
    // And the whole boundary is drawn (a boundary pixel's nearest outline pixel may be a neighbour's).
    let coveredCount = 0;
    for (let j = 0; j < b.length; j++) {
      const [bx, by] = b[j]!;
      let hit = covered[j] === 1;
      for (let k = 0; !hit && k < shot.green.length; k += 2) {
        const x = (shot.green[k]! + 0.5) / sx - 0.5;
        const y = (shot.green[k + 1]! + 0.5) / sy - 0.5;
        if ((x - bx) ** 2 + (y - by) ** 2 <= 2.25) hit = true;
      }
      if (hit) coveredCount++;
    }
    assert.ok(coveredCount / b.length > 0.9, `${((100 * coveredCount) / b.length).toFixed(1)} % of the boundary drawn`);
    // The picture under it is the same frame: bright gland inside, dark rim just outside.
    const sd = signedDistance(frame.mask, b);
    let inSum = 0, inN = 0, outSum = 0, outN = 0;
    for (let i = 0; i < sd.length; i++) {
      if (shot.isGreen[i] === 1) continue;
      if (sd[i]! >= 4 && sd[i]! <= 12) {
        inSum += shot.luma[i]!;
        inN++;
      } else if (sd[i]! <= -2 && sd[i]! >= -4) {
        outSum += shot.luma[i]!;
        outN++;
      }
    }
    const inside = inSum / inN;
    const rim = outSum / outN;
    assert.ok(inside > rim * 1.5, `gland inside ${inside.toFixed(0)} vs rim ${rim.toFixed(0)}: picture and outline of the same frame`);
    await page.screenshot({ path: path.join(OUT_DIR, 'viewer-outline-check.png') });
  });

  it('keeps the status bar current: fps, latency, model, engine, device, area', async () => {
    const bar = await until(async () => {
      const t = await page.evaluate(() => ({
        fps: document.getElementById('fps')!.textContent ?? '',
        latency: document.getElementById('latency')!.textContent ?? '',
        model: document.getElementById('model')!.textContent ?? '',
        engine: document.getElementById('engine')!.textContent ?? '',
        device: document.getElementById('device')!.textContent ?? '',
        area: document.getElementById('area')!.textContent ?? '',
        dropped: document.getElementById('dropped')!.textContent ?? '',
      }));
      // The outline check above kept this process busy (the publisher paused): wait for the rate to recover.
      // (Decoding may also come in a burst after such a pause: wait for a rate near the clip's 25 fps.)
      return t.model !== '–' && Number(t.fps) > 12 && Number(t.fps) < 40 ? t : undefined;
    }, 'metrics in the bar');
    const fps = Number(bar.fps);
    assert.ok(fps > 12 && fps < 40, `fps ${bar.fps}`);
    assert.match(bar.latency, /^\d+ \/ \d+ ms$/, JSON.stringify(bar));
    assert.equal(bar.model, 'synthetic-truth', JSON.stringify(bar));
    assert.equal(bar.engine, 'none (true masks)');
    assert.equal(bar.device, 'cpu');
    assert.match(bar.area, /px²/, JSON.stringify(bar));
    // No scale was given: the figures stay in pixels and say so, never a guessed cm².
    const scale = await page.evaluate(() => document.getElementById('scale')!.textContent ?? '');
    assert.match(scale, /^Uncalibrated: figures in pixels/);
    assert.doesNotMatch(bar.area, /cm|mm/);
    assert.match(bar.dropped, /^\d+$/);
    const picker = await page.evaluate(() => [...(document.getElementById('stream-picker') as HTMLSelectElement).options].map((o) => o.textContent));
    assert.deepEqual(picker, ['1: Synthetic H.264', '2: Synthetic JPEG']);
  });

  it('serves two viewers at once, the second on a HiDPI screen', async () => {
    const second = await openViewer(server.url, { deviceScaleFactor: 2, width: 800, height: 600 });
    await until(async () => ((await debug(second)).decoded >= 10 ? true : undefined), 'second viewer decoding');
    const before1 = (await debug(page)).decoded;
    await until(async () => ((await debug(page)).decoded > before1 + 5 ? true : undefined), 'first viewer still decoding');
    assert.ok(server.viewers().length >= 2);
    const sizes = await second.evaluate(() => {
      const c = document.getElementById('video') as HTMLCanvasElement;
      return { backing: c.width, css: c.getBoundingClientRect().width, dpr: devicePixelRatio };
    });
    assert.equal(sizes.dpr, 2);
    assert.ok(Math.abs(sizes.backing - sizes.css * 2) <= 2, `canvas ${sizes.backing} px for ${sizes.css} CSS px`);
    await second.screenshot({ path: path.join(OUT_DIR, 'viewer-hidpi.png') });
    await second.context().close();
  });

  it('switches stream with the 2 key and shows JPEG frames; o toggles the outline', async () => {
    await page.keyboard.press('2');
    await until(async () => {
      const s = await debug(page);
      return s.lastDrawnStream === 'synthetic-jpeg' && s.decoder === 'jpeg' && s.drawn > 0 ? s : undefined;
    }, 'JPEG frames');
    await page.keyboard.press('o');
    assert.equal(await page.locator('#overlay-toggle').getAttribute('aria-pressed'), 'false');
    await page.keyboard.press('o');
    assert.equal(await page.locator('#overlay-toggle').getAttribute('aria-pressed'), 'true');
    await page.keyboard.press('?');
    assert.equal(await page.locator('#help').isVisible(), true);
    await page.keyboard.press('Escape');
    await page.keyboard.press('1');
    await until(async () => ((await debug(page)).lastDrawnStream === 'synthetic-h264' ? true : undefined), 'back on H.264');
  });

  it('falls back to JPEG pictures made by the hub where WebCodecs is missing', async () => {
    const ctx = await browser.newContext({ viewport: { width: 800, height: 600 } });
    contexts.push(ctx);
    await ctx.addInitScript('delete window.VideoDecoder; delete window.EncodedVideoChunk;');
    const p = await ctx.newPage();
    p.on('pageerror', (e) => consoleErrors.push(`pageerror: ${e.message}`));
    await p.goto(server.url);
    const s = await until(async () => {
      const d = await debug(p);
      return d.drawn >= 5 ? d : undefined;
    }, 'JPEG fallback pictures');
    assert.equal(s.streamId, 'synthetic-h264');
    assert.equal(s.decoder, 'jpeg');
    assert.equal(s.notice, '');
    await until(async () => (/JPEG/.test((await p.textContent('#status')) ?? '') ? true : undefined), 'the bar says JPEG', 3000);
    await p.screenshot({ path: path.join(OUT_DIR, 'viewer-jpeg-fallback.png') });
    await ctx.close();
  });

  it('asks for JPEG pictures when this browser cannot decode the stream\'s H.264 profile', async () => {
    const ctx = await browser.newContext({ viewport: { width: 800, height: 600 } });
    contexts.push(ctx);
    await ctx.addInitScript("VideoDecoder.prototype.configure = function () { throw new DOMException('codec not supported', 'NotSupportedError'); };");
    const p = await ctx.newPage();
    await p.goto(server.url);
    const s = await until(async () => {
      const d = await debug(p);
      return d.drawn >= 3 ? d : undefined;
    }, 'JPEG pictures after H.264 was refused');
    assert.equal(s.decoder, 'jpeg');
    assert.match(s.decodeErrors[0] ?? '', /cannot decode avc1/);
    await ctx.close();
  });

  it('decodes the pictures of frames a live pipeline dropped but shows only pictures with their own outline', async () => {
    const pub = new TestPublisher(server, clip, { streamId: 'synthetic-drops', title: 'Synthetic, live with drops', dropEvery: 2 }).start();
    publishers.push(pub);
    const p = await openViewer(`${server.url}?stream=synthetic-drops`);
    const s = await until(async () => {
      const d = await debug(p);
      return d.drawn >= 10 ? d : undefined;
    }, 'frames of the stream with drops');
    assert.equal(s.lastDrawnStream, 'synthetic-drops');
    assert.deepEqual(s.decodeErrors, []);
    assert.ok(s.decoded >= 2 * s.drawn - 2, `decoded ${s.decoded} for ${s.drawn} shown`);
    assert.equal(s.lastDrawnIndex % 2, 0, 'only segmented (even) frames are shown');
    pub.stop();
    await p.context().close();
  });

  it('saves a screenshot for the README', async () => {
    const shotPage = await openViewer(server.url, { width: 1200, height: 760 });
    await shotPage.evaluate(() => localStorage.clear());
    await shotPage.reload();
    await until(async () => ((await debug(shotPage)).decoded >= 5 ? true : undefined), 'frames for the screenshot');
    await new Promise((r) => setTimeout(r, 1200)); // let the fps and latency figures settle
    const raw = path.join(OUT_DIR, 'viewer-full.png');
    await shotPage.screenshot({ path: raw });
    // A 64-colour palette keeps the README picture small (speckle compresses badly in true colour).
    const pal = spawnSync(FFMPEG, ['-hide_banner', '-loglevel', 'error', '-y', '-i', raw, '-vf', 'split[a][b];[a]palettegen=max_colors=64:stats_mode=full[p];[b][p]paletteuse=dither=none', path.join(OUT_DIR, 'viewer.png')]);
    assert.equal(pal.status, 0, String(pal.stderr));
    const size = statSync(path.join(OUT_DIR, 'viewer.png')).size;
    assert.ok(size > 10_000 && size < 300 * 1024, `screenshot ${size} bytes`);
    // The README's copy is refreshed only on request, so that running the tests leaves the tree clean.
    if (!existsSync(DOCS_SHOT) || process.env.SGUS_UPDATE_DOCS === '1') {
      mkdirSync(path.dirname(DOCS_SHOT), { recursive: true });
      copyFileSync(path.join(OUT_DIR, 'viewer.png'), DOCS_SHOT);
    }
    await shotPage.context().close();
  });

  it('has logged no console errors so far', () => {
    assert.deepEqual(consoleErrors, []);
  });

  it('answers malformed messages from a page with an error frame', async () => {
    const reply = await page.evaluate(async (port) => {
      return await new Promise<string>((resolve, reject) => {
        const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
        ws.onopen = () => ws.send('{"type": "subscribe", "streamId": 5');
        ws.onmessage = (ev) => {
          const m = JSON.parse(String(ev.data)) as { type: string; message?: string };
          if (m.type === 'error') {
            ws.close();
            resolve(m.message ?? '');
          }
        };
        ws.onerror = () => reject(new Error('socket error'));
      });
    }, server.port);
    assert.match(reply, /not valid JSON/);
  });

  it('refuses path traversal on the real viewer folder', async () => {
    for (const p of ['/../package.json', '/%2e%2e/package.json', '/dist/..%2f..%2fpackage.json']) {
      const r = await fetch(`http://127.0.0.1:${server.port}${p}`).catch(() => undefined);
      // fetch normalises '..' itself; the raw forms are covered by test/server. Either way: no package.json.
      if (r !== undefined) assert.doesNotMatch(await r.text(), /"sgus-live"/);
    }
  });

  it('shows the server\'s close reason while it is away, then reconnects after a restart on the same port', async () => {
    const port = server.port;
    for (const p of publishers.splice(0)) p.stop();
    await server.close();
    const notice = await until(async () => {
      const s = await debug(page);
      return s.connection === 'waiting' || s.connection === 'connecting' ? s.notice : undefined;
    }, 'reconnecting notice', 5000);
    // The server said why it closed: the viewer shows that, not a broken connection.
    assert.match(notice, /^The server closed the connection: server shutting down\. (Disconnected: reconnecting in \d+ s|Reconnecting \(attempt \d+\))…$/);
    assert.doesNotMatch(notice, /Connection lost/);
    await page.screenshot({ path: path.join(OUT_DIR, 'viewer-reconnecting.png') });
    const connectsBefore = (await debug(page)).connects;
    const drawnBefore = (await debug(page)).drawn;
    server = await ViewerServer.start({ port, token: '' });
    publishers.push(new TestPublisher(server, clip, { streamId: 'synthetic-h264', title: 'Synthetic H.264' }).start());
    await until(async () => {
      const s = await debug(page);
      return s.connects > connectsBefore && s.drawn > drawnBefore + 5 ? true : undefined;
    }, 'frames after reconnecting', 20000);
    assert.equal((await debug(page)).notice, '');
  });

  it('says the stream ended', async () => {
    publishers[0]!.stop('end of file');
    const notice = await until(async () => {
      const s = await debug(page);
      return /Stream ended/.test(s.notice) ? s.notice : undefined;
    }, 'stream ended notice', 5000);
    assert.match(notice, /end of file/);
  });

  it('with a token set, no token means no page and no stream (401 / 4401)', async () => {
    const guarded = await ViewerServer.start({ port: 0, token: 'tok-123' });
    try {
      const pub = new TestPublisher(guarded, clip, { streamId: 'guarded' }).start();
      publishers.push(pub);
      const bare = guarded.url.replace(/\?token=.*$/, '');
      const p = await (await browser.newContext()).newPage();
      contexts.push(p.context());
      const res = await p.goto(bare);
      assert.equal(res?.status(), 401);
      assert.match(await p.textContent('body') ?? '', /needs a valid token/);
      const closed = await p.evaluate(async (port) => {
        return await new Promise<{ code: number; reason: string; messages: number }>((resolve) => {
          let messages = 0;
          const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
          ws.onmessage = () => messages++;
          ws.onclose = (ev) => resolve({ code: ev.code, reason: ev.reason, messages });
        });
      }, guarded.port);
      assert.deepEqual(closed, { code: 4401, reason: 'token required', messages: 0 });
      // With the token, the same viewer plays.
      const ok = await p.goto(`${guarded.url}?token=tok-123`);
      assert.equal(ok?.status(), 200);
      await until(async () => ((await debug(p)).decoded >= 3 ? true : undefined), 'frames with the token');
      pub.stop();
      // The server comes back with another token: the open viewer says so and stops retrying.
      const port = guarded.port;
      await guarded.close();
      const changed = await ViewerServer.start({ port, token: 'another-token' });
      try {
        const refused = await until(async () => {
          const d = await debug(p);
          return d.connection === 'refused' ? d : undefined;
        }, 'the viewer refused with 4401', 10000);
        assert.match(refused.notice, /Access denied \(wrong token\)/);
        assert.match(await p.textContent('#status') ?? '', /Access denied/);
        await p.screenshot({ path: path.join(OUT_DIR, 'viewer-wrong-token.png') });
      } finally {
        await changed.close();
      }
    } finally {
      await guarded.close();
    }
  });
});
