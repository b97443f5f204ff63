/**
 * `sgus replay EXAM --serve` end to end in Chromium on the real exam video: the pipeline's own server,
 * encoder and overlays, watched by the real viewer. Skips without the real data, a model or Chromium.
 * Its screenshot goes to test-output/ only (pictures of real data never enter the repository).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { CHROMIUM, launchChromium } from '../helpers/browser.js';
import { viewerUrlOf } from '../helpers/viewer-url.js';
import { PACKAGE_ROOT, resolveModel } from '../../src/segmenter/model-registry.js';
import { REAL_DATA_DIR } from '../helpers/data.js';
import { testModelSpec } from '../helpers/test-model.js';
import type { ViewerDebugState } from '../../web-viewer/src/debug-state.js';
import { stopProcess } from '../../src/helper-process.js';

declare const window: unknown;
declare const document: { getElementById(id: string): { textContent: string | null } | null };

const EXAM = path.join(REAL_DATA_DIR, 'video', 'parotid-exam-1280x720-25fps.mp4');
const modelOk = await resolveModel(testModelSpec()).then(() => true, () => false);
const skip = !existsSync(CHROMIUM) ? `no Chromium at ${CHROMIUM}` : !existsSync(EXAM) ? `real exam not found at ${EXAM}` : !modelOk ? 'no model (models/ default or $SGUS_TEST_MODEL)' : false;

type DebugState = ViewerDebugState;

describe('sgus replay --serve in Chromium (real exam)', { skip }, () => {
  let child: ChildProcess | undefined;
  let browser: Browser | undefined;
  let url = '';
  let stderr = '';

  before(async () => {
    const built = spawnSync(process.execPath, ['scripts/build-viewer.mjs'], { cwd: PACKAGE_ROOT, encoding: 'utf8' });
    assert.equal(built.status, 0, built.stderr);
    const spec = testModelSpec();
    child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'replay', EXAM, '--serve', '--port', '0', '--quiet', ...(spec !== undefined ? ['--model', spec] : [])], {
      cwd: PACKAGE_ROOT,
      env: { ...process.env, SGUS_TOKEN: 'replay-e2e' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stderr!.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-2000)));
    url = await viewerUrlOf(child, 60000, () => stderr);
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    if (child !== undefined) await stopProcess(child, 'SIGINT', 10_000);
  });

  it('shows the exam with its outline and figures, without console errors', async () => {
    // The token is never printed: the URL says where it goes.
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/\?token=<your$/);
    url = url.replace(/<your$/, 'replay-e2e');
    const page = await browser!.newPage({ viewport: { width: 1280, height: 860 } });
    const errors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(url);
    const t0 = Date.now();
    let s: DebugState;
    for (;;) {
      s = await page.evaluate(() => (window as { __sgus: DebugState }).__sgus);
      if (s.decoded >= 10) break;
      assert.ok(Date.now() - t0 < 60000, `10 decoded frames within 60 s (got ${s.decoded}; ${stderr.slice(-300)})`);
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.equal(s.decoder, 'h264');
    assert.deepEqual(s.decodeErrors, []);
    await new Promise((r) => setTimeout(r, 2500)); // the bar's once-a-second figures
    const bar = await page.evaluate(() => Object.fromEntries(['fps', 'latency', 'area', 'model', 'engine', 'device'].map((id) => [id, document.getElementById(id)?.textContent ?? ''])));
    for (const [k, v] of Object.entries(bar)) assert.notEqual(v, '–', `${k} shown`);
    mkdirSync(path.join(PACKAGE_ROOT, 'test-output'), { recursive: true });
    await page.screenshot({ path: path.join(PACKAGE_ROOT, 'test-output', 'viewer-replay-real-exam.png') });
    assert.deepEqual(errors, []);
  });
});
