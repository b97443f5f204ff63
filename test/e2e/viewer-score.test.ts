/**
 * The score badge in a real browser (Chromium through playwright-core): a test publisher's frames
 * carry a score, as the pipeline's score stage gives them; the badge shows the grades with their
 * probability beside the area, labelled a research aid, and one click shows the model's
 * leave-one-centre-out κ beside the clinicians' published κ.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { FrameResult, ViewerHubPort } from '../../src/pipeline/frame.js';
import { PACKAGE_ROOT } from '../../src/segmenter/model-registry.js';
import { ViewerServer } from '../../src/server/viewer-server.js';
import { CHROMIUM, launchChromium, until } from '../helpers/browser.js';
import { TestPublisher, hasFfmpeg, makeSyntheticClip } from '../helpers/synthetic-stream.js';

const skip = !existsSync(CHROMIUM) ? `no Chromium at ${CHROMIUM}` : !hasFfmpeg() ? 'no ffmpeg to encode the test clip' : false;

const SCORE: NonNullable<FrameResult['score']> = {
  omeract: { grade: 2, confidence: 0.61, probabilities: [0.1, 0.2, 0.61, 0.09] },
  deVita: { grade: 1, confidence: 0.55, probabilities: [0.2, 0.55, 0.2, 0.05] },
  label: 'research aid, not a diagnosis',
  validation: { method: 'leave-one-centre-out', omeractKappa: 0.6929, deVitaKappa: 0.6797, publishedModelKappa: 0.7, cliniciansKappa: 0.67, intraReaderKappa: 0.71 },
};

/** The hub, with every published frame scored. */
function scoring(server: ViewerServer): ViewerHubPort {
  return {
    addStream: (i) => server.addStream(i),
    publishFrame: (r) => server.publishFrame({ ...r, score: SCORE }),
    publishVideo: (f) => server.publishVideo(f),
    publishMetrics: (m) => server.publishMetrics(m),
    endStream: (id, reason) => server.endStream(id, reason),
  };
}

describe('viewer score badge in Chromium', { skip }, () => {
  let browser: Browser;
  let server: ViewerServer;
  let publisher: TestPublisher;
  let page: Page;

  before(async () => {
    const built = spawnSync(process.execPath, ['scripts/build-viewer.mjs'], { cwd: PACKAGE_ROOT, encoding: 'utf8' });
    assert.equal(built.status, 0, built.stderr);
    const clip = await makeSyntheticClip({ width: 320, height: 240, fps: 25, frames: 20, gop: 10 });
    server = await ViewerServer.start({ port: 0, token: '' });
    publisher = new TestPublisher(scoring(server), clip, { streamId: 'scored', title: 'Scored' }).start();
    browser = await launchChromium();
    const ctx = await browser.newContext({ viewport: { width: 1100, height: 700 } });
    page = await ctx.newPage();
    await page.goto(server.url);
  });

  after(async () => {
    publisher?.stop();
    await browser?.close();
    await server?.close();
  });

  it('shows the grades with their probability beside the area, labelled a research aid', async () => {
    const text = await until(async () => {
      const t = await page.textContent('#score-grade').catch(() => null);
      return t !== null && t !== '' && t !== '–' ? t : undefined;
    }, 'a grade on the badge');
    assert.equal(text, 'OMERACT 2 (61 %) · De Vita 1 (55 %)');
    assert.equal(await page.getAttribute('#score-badge', 'data-grade'), '2,1');
    assert.match((await page.textContent('#score-badge')) ?? '', /research aid, not a diagnosis/);
    // Beside the area: the next figure after it.
    assert.equal(await page.evaluate(() => (globalThis as unknown as { document: { getElementById(id: string): { closest(s: string): { nextElementSibling: { id: string } | null } | null } | null } }).document.getElementById('area')?.closest('.fig')?.nextElementSibling?.id), 'score-badge');
  });

  it('opens the validation figures, the model\'s κ beside the clinicians\', with one click', async () => {
    assert.equal(await page.isVisible('#score-popover'), false);
    await page.click('#score-button');
    assert.equal(await page.isVisible('#score-popover'), true);
    const t = (await page.textContent('#score-popover')) ?? '';
    assert.match(t, /leave one centre out\): OMERACT 0\.693, De Vita 0\.680/);
    assert.match(t, /clinicians 0\.67 on average/);
    assert.match(t, /research aid, not a diagnosis/);
    await page.click('#score-button');
    assert.equal(await page.isVisible('#score-popover'), false);
  });
});
