/**
 * `sgus serve` with two presets, seen in Debian's Chromium: the viewer opens on the grid of both
 * streams, each tile drawing its own pictures under its state badge (the replay "Replay", the live
 * source "Live").
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { Frame } from 'playwright-core';
import { PACKAGE_ROOT } from '../../src/segmenter/model-registry.js';
import type { LayoutDebugState } from '../../web-viewer/src/clinic-debug-state.js';
import type { ViewerDebugState } from '../../web-viewer/src/debug-state.js';
import { CHROMIUM, launchChromium, until } from '../helpers/browser.js';
import { clip, modelArgs, TMP } from '../helpers/pipeline.js';
import { hasFfmpeg } from '../helpers/synthetic-stream.js';

declare const document: { getElementById(id: string): { textContent: string | null } | null };
declare const window: unknown;

const skip = !existsSync(CHROMIUM) ? `no Chromium at ${CHROMIUM}` : !hasFfmpeg() ? 'no ffmpeg' : false;

describe('sgus serve in the browser', { skip }, () => {
  it('shows both presets side by side, each tile with its pictures and its state badge', async () => {
    const built = spawnSync(process.execPath, ['scripts/build-viewer.mjs'], { cwd: PACKAGE_ROOT, encoding: 'utf8' });
    assert.equal(built.status, 0, built.stderr);
    const file = await clip({ seconds: 2 });
    const replay = path.join(TMP, 'grid-replay.json');
    const live = path.join(TMP, 'grid-live.json');
    await writeFile(replay, JSON.stringify({ name: 'clip', source: { type: 'file', path: file }, mode: 'replay', loop: true, realtime: true }));
    await writeFile(live, JSON.stringify({ name: 'pattern', source: { type: 'lavfi', graph: 'testsrc2=size=160x120:rate=25' }, mode: 'live' }));
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve', '--stream', replay, '--stream', live, '--port', '0', '--token', 'g1d', '-q',
      // The tiles are under test, not live latency: on a CI machine busy with another test file, the
      // live pattern's frames can arrive over the default second old and would all be dropped as stale.
      '--max-age', '10000', '--recordings', path.join(TMP, 'grid-recordings'), ...modelArgs()], { cwd: PACKAGE_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const killer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    const browser = await launchChromium();
    try {
      const base = await until(() => /viewer: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(stdout)?.[1], 'the viewer URL', 60_000);
      const page = await (await browser.newContext({ viewport: { width: 1280, height: 720 } })).newPage();
      await page.goto(`${base}?token=g1d`);
      const tiles = await until(async () => {
        const l = await page.evaluate(() => (window as { __sgusLayout: LayoutDebugState }).__sgusLayout);
        return l.grid && l.tiles.length === 2 ? l.tiles : undefined;
      }, 'a grid of two tiles', 30_000);
      assert.deepEqual([...tiles].sort(), ['clip', 'pattern']);
      const frameOf = (id: string): Frame | undefined => page.frames().find((f) => f.url().includes(`stream=${id}`));
      for (const [id, badge] of [['clip', 'Replay'], ['pattern', 'Live']] as const) {
        let seen = '';
        await until(async () => {
          const f = frameOf(id);
          if (f === undefined) return undefined;
          const drawn = await f.evaluate(() => (window as { __sgus?: ViewerDebugState }).__sgus?.drawn ?? 0).catch(() => 0);
          const status = await f.evaluate(() => document.getElementById('status')?.textContent ?? '').catch(() => '');
          seen = `${drawn} drawn, badge "${status}" ${await f.evaluate(() => JSON.stringify((window as { __sgus?: ViewerDebugState }).__sgus)).catch(() => '')}`;
          return drawn >= 3 && status === badge ? true : undefined;
        }, `tile ${id} drawing under "${badge}"`, 60_000).catch((err: Error) => {
          throw new Error(`${err.message} (${seen})`);
        });
      }
    } finally {
      clearTimeout(killer);
      await browser.close();
      child.kill('SIGINT');
      await new Promise((r) => child.once('close', r));
    }
  });
});
