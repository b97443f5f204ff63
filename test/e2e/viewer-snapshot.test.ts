/**
 * `sgus replay CLIP --serve --out DIR --mm-per-px X,Y` watched in Chromium, on a clip the project
 * generates (no patient data): the figures are shown in cm² and mm with where the scale came from,
 * and equal the NDJSON's area times the given pixel size; key `s` downloads a PNG at the source's
 * size with the outline drawn, and a JSON whose contour equals the NDJSON record of that frame.
 * Skips without Chromium, FFmpeg or the demo model.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PNG } from 'pngjs';
import type { Browser, Download, Page } from 'playwright-core';
import { CHROMIUM, launchChromium, until as untilShort } from '../helpers/browser.js';
import { viewerUrlOf } from '../helpers/viewer-url.js';
import { writeSyntheticClip } from '../../src/pipeline/synthetic-clip.js';
import { PACKAGE_ROOT, resolveModel } from '../../src/segmenter/model-registry.js';
import { hasFfmpeg } from '../helpers/synthetic-stream.js';
import type { ViewerDebugState } from '../../web-viewer/src/debug-state.js';
import { stopProcess } from '../../src/helper-process.js';

declare const window: unknown;
declare const document: { getElementById(id: string): { textContent: string | null; dataset: Record<string, string | undefined> } | null };

const MODEL = 'unet-m-synth';
const MM_X = 0.1;
const MM_Y = 0.12;
const TOKEN = 'snapshot-e2e';
const modelOk = await resolveModel(MODEL).then(() => true, () => false);
const skip = !existsSync(CHROMIUM) ? `no Chromium at ${CHROMIUM}` : !hasFfmpeg() ? 'no ffmpeg' : !modelOk ? `no model ${MODEL}` : false;

interface NdjsonRecord {
  index: number;
  area: number;
  width: number;
  height: number;
  contours: { hole: boolean; parent: number; points: [number, number][] }[];
}

// A replay through the real model takes longer to show its figures: a minute, polled every 200 ms.
const until = <T>(what: () => Promise<T | undefined | false> | T | undefined | false, label: string, timeoutMs = 60000): Promise<T> => untilShort(what, label, timeoutMs, 200);

describe('viewer snapshot and calibrated figures (sgus replay --serve --mm-per-px, Chromium)', { skip }, () => {
  let dir = '';
  let child: ChildProcess | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let stderr = '';
  let ndjsonFile = '';

  /** The NDJSON record of frame `index` (the first, should the replay have looped). */
  function ndjsonRecord(index: number): NdjsonRecord | undefined {
    if (!existsSync(ndjsonFile)) return undefined;
    for (const line of readFileSync(ndjsonFile, 'utf8').split('\n')) {
      if (line === '' || !line.endsWith('}')) continue;
      const r = JSON.parse(line) as NdjsonRecord;
      if (r.index === index) return r;
    }
    return undefined;
  }

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'sgus-snapshot-'));
    const built = spawnSync(process.execPath, ['scripts/build-viewer.mjs'], { cwd: PACKAGE_ROOT, encoding: 'utf8' });
    assert.equal(built.status, 0, built.stderr);
    const clip = path.join(dir, 'clip.mp4');
    await writeSyntheticClip({ path: clip, width: 320, height: 240, fps: 25, seconds: 4, seed: 7 });
    const out = path.join(dir, 'out');
    ndjsonFile = path.join(out, 'clip.contours.ndjson');
    child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'replay', clip, '--serve', '--port', '0', '--loop', '--quiet', '--no-video', '--out', out, '--model', MODEL, '--mm-per-px', `${MM_X},${MM_Y}`], {
      cwd: PACKAGE_ROOT,
      env: { ...process.env, SGUS_TOKEN: TOKEN },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stderr!.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-2000)));
    // The printed URL ends in '?token=<your token>': the token goes there.
    const url = (await viewerUrlOf(child, 90000, () => stderr)).replace(/<your$/, TOKEN);
    browser = await launchChromium();
    const ctx = await browser.newContext({ viewport: { width: 1100, height: 800 }, acceptDownloads: true });
    page = await ctx.newPage();
    await page.goto(url);
    await until(async () => ((await page.evaluate(() => (window as { __sgus: ViewerDebugState }).__sgus)).drawn >= 5 ? true : undefined), `frames drawn (${stderr.slice(-300)})`);
  });

  after(async () => {
    await browser?.close();
    if (child !== undefined) await stopProcess(child, 'SIGINT', 10_000);
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  it('shows the area in cm² (perimeter, length, depth in mm) from the given scale, equal to the NDJSON area x pixel size', async () => {
    const shown = await until(async () => {
      const t = await page.evaluate(() => {
        const fig = document.getElementById('figures')!;
        return { index: Number(fig.dataset['index'] ?? ''), calibrated: fig.dataset['calibrated'], area: document.getElementById('area')!.textContent ?? '', perimeter: document.getElementById('perimeter')!.textContent ?? '', depth: document.getElementById('depth')!.textContent ?? '', scale: document.getElementById('scale')!.textContent ?? '' };
      });
      // A frame with a gland, whose NDJSON line is written.
      return /cm²$/.test(t.area) && !/^0\.00 /.test(t.area) && ndjsonRecord(t.index) !== undefined ? t : undefined;
    }, 'calibrated figures of a frame in the NDJSON');
    mkdirSync(path.join(PACKAGE_ROOT, 'test-output'), { recursive: true });
    await page.screenshot({ path: path.join(PACKAGE_ROOT, 'test-output', 'viewer-calibrated.png') });
    assert.equal(shown.calibrated, 'true');
    assert.match(shown.scale, /from --mm-per-px: 0\.1 × 0\.12 mm\/px/);
    assert.match(shown.perimeter, /^\d+\.\d mm$/);
    assert.match(shown.depth, /^\d+\.\d mm$/);
    const rec = ndjsonRecord(shown.index)!;
    const expected = (rec.area * MM_X * MM_Y) / 100;
    const got = Number(/^([\d.]+) cm²$/.exec(shown.area)![1]);
    assert.ok(Math.abs(got - expected) <= 0.01 * expected, `frame ${shown.index}: shown ${got} cm², NDJSON ${rec.area} px² x ${MM_X} x ${MM_Y} mm = ${expected.toFixed(4)} cm²`);
  });

  it('key s downloads a PNG at the source size with the outline and a JSON whose contour equals the NDJSON record of that frame', async () => {
    const downloads: Download[] = [];
    page.on('download', (d) => downloads.push(d));
    await page.keyboard.press('s');
    await until(() => (downloads.length >= 2 ? true : undefined), 'two downloads', 20000);
    const byExt = new Map(downloads.map((d) => [path.extname(d.suggestedFilename()), d]));
    const pngFile = path.join(dir, 'snap.png');
    const jsonFile = path.join(dir, 'snap.json');
    await byExt.get('.png')!.saveAs(pngFile);
    await byExt.get('.json')!.saveAs(jsonFile);
    const snap = JSON.parse(readFileSync(jsonFile, 'utf8')) as { frameIndex: number; time: number; width: number; height: number; contourSource: string; contours: NdjsonRecord['contours']; area: { value: number; unit: string }; measurements: { calibrated: boolean; areaCm2: { value: number; unit: string }; perimeter: { unit: string } }; calibration: { source: string; mmPerPxX: number; mmPerPxY: number } };
    assert.match(byExt.get('.json')!.suggestedFilename(), new RegExp(`^sgus-replay-f${snap.frameIndex}\\.json$`));
    const rec = await until(() => ndjsonRecord(snap.frameIndex), `NDJSON line of frame ${snap.frameIndex}`);
    assert.match(snap.contourSource, /hub record/);
    assert.ok(snap.contours.length > 0, 'a gland outline was saved');
    assert.deepEqual(snap.contours, rec.contours);
    assert.deepEqual(snap.area, { value: rec.area, unit: 'px2' });
    assert.equal(snap.measurements.calibrated, true);
    assert.equal(snap.measurements.areaCm2.unit, 'cm2');
    assert.ok(Math.abs(snap.measurements.areaCm2.value - (rec.area * MM_X * MM_Y) / 100) < 1e-4);
    assert.equal(snap.measurements.perimeter.unit, 'mm');
    assert.deepEqual(snap.calibration, { mmPerPxX: MM_X, mmPerPxY: MM_Y, source: 'from --mm-per-px' });
    assert.ok(snap.time >= 0);
    const png = PNG.sync.read(readFileSync(pngFile));
    assert.deepEqual([png.width, png.height], [320, 240]);
    assert.deepEqual([snap.width, snap.height], [rec.width, rec.height]);
    // The outline is drawn on it, in the outline colour (#00e5ff by default), along the contour.
    let onOutline = 0;
    let total = 0;
    for (const c of rec.contours) {
      for (const [x, y] of c.points) {
        const i = (Math.round(y) * png.width + Math.round(x)) * 4;
        total++;
        if (png.data[i]! < 90 && png.data[i + 1]! > 150 && png.data[i + 2]! > 170) onOutline++;
      }
    }
    assert.ok(onOutline / total > 0.8, `${onOutline} of ${total} contour points drawn in the outline colour`);
  });
});
