/**
 * `sgus serve --pacs`: the viewer as a PACS workstation against a real Orthanc of its own — find
 * the patient's study, open its cine loop, see it played with its outline and the cm² of the loop's
 * own calibration; the PACS routes refuse what they must (runs dist/ and web-viewer/dist/: `npm run
 * build` first).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { Browser, Route } from 'playwright-core';
import { newUid } from '../../src/dicom/dicom-write.js';
import { writeUltrasoundDicom } from '../../src/dicom/us-writer.js';
import { launchChromium, until, viewerState } from '../helpers/browser.js';
import { CLI } from '../helpers/cli.js';
import { syntheticFrames, tempDir, writeTemp } from '../helpers/dicom.js';
import { orthancSkip, storescu, TestOrthanc } from '../helpers/orthanc.js';
import { viewerUrlOf } from '../helpers/viewer-url.js';
import { stopProcess } from '../../src/helper-process.js';

const skip = orthancSkip();
const TOKEN = 'pacs-view-token-1';
let orthanc: TestOrthanc;
let child: ChildProcess | undefined;
let stderr = '';
let url = '';
let browser: Browser | undefined;
const study = newUid();
const series = newUid();
const sop = newUid();

before(async () => {
  if (skip !== false) return;
  orthanc = await TestOrthanc.start();
  const dir = tempDir('sgus-pacs-view-');
  const file = writeTemp(dir, 'loop.dcm', writeUltrasoundDicom(syntheticFrames(20, 320, 240), { encoding: 'jpeg-baseline', calibration: { mmPerPxX: 0.1, mmPerPxY: 0.1 }, frameTimeMs: 40, identity: { patientId: 'PACS-VIEW-1', patientName: 'View^Test', studyInstanceUid: study, seriesInstanceUid: series, sopInstanceUid: sop } }));
  const r = await storescu([file], '127.0.0.1', orthanc.dicomPort);
  assert.equal(r.code, 0, r.output);
  child = spawn(process.execPath, [CLI, 'serve', '--pacs', orthanc.dicomWebUrl, '--port', '0', '--token', TOKEN, '--model', 'unet-m-synth'], { env: { ...process.env, ...orthanc.env, SGUS_PACS_URL: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  // The printed URL says '?token=<your token>': the base is what is opened.
  url = (await viewerUrlOf(child, 90_000, () => stderr)).split('?')[0]!;
});

after(async () => {
  await browser?.close();
  if (child !== undefined) await stopProcess(child, 'SIGTERM');
  await orthanc?.close();
});

const api = (p: string, init: RequestInit = {}): Promise<Response> => fetch(new URL(p, url), { ...init, headers: { Authorization: `Bearer ${TOKEN}`, ...(init.headers ?? {}) } });

test('the PACS routes list the patient\'s US study and its loop, behind the token, without the PACS\'s address or password', { skip, timeout: 60_000 }, async () => {
  const studies = await api('/pacs/studies?patient=PACS-VIEW-1');
  assert.equal(studies.status, 200);
  const text = await studies.text();
  const body = JSON.parse(text) as { studies: Array<{ studyInstanceUid: string; patientId: string }> };
  assert.deepEqual(body.studies.map((s) => s.studyInstanceUid), [study]);
  assert.ok(!text.includes(orthanc.password) && !text.includes(String(orthanc.httpPort)), 'no credentials or PACS address reach the browser');
  const s = (await (await api(`/pacs/studies/${study}/series`)).json()) as { series: Array<{ seriesInstanceUid: string; instances: Array<{ sopInstanceUid: string; frames: number }> }> };
  assert.deepEqual(s.series.map((x) => x.seriesInstanceUid), [series]);
  assert.deepEqual(s.series[0]!.instances.map((i) => [i.sopInstanceUid, i.frames]), [[sop, 20]]);
  assert.equal((await fetch(new URL('/pacs/studies', url))).status, 401, 'no token: refused');
  assert.equal((await api('/pacs/open?study=1.2&series=../x&instance=3', { method: 'POST' })).status, 400, 'a UID that is not one is refused before the PACS is asked');
  assert.equal((await api(`/pacs/open?study=${study}&series=${series}&instance=${sop}`, { method: 'POST', headers: { Origin: 'https://evil.example' } })).status, 403, 'another origin cannot open exams');
  const missing = await api(`/pacs/open?study=${study}&series=${series}&instance=1.2.3.4`, { method: 'POST' });
  assert.equal(missing.status, 502);
  assert.match(((await missing.json()) as { error: string }).error, /PACS|404|not found/i);
  assert.ok(!stderr.includes(orthanc.password));
});

test('a clinician finds the study in the PACS panel, opens the loop and sees it played with its outline in cm²', { skip, timeout: 120_000 }, async () => {
  browser = await launchChromium();
  const page = await browser.newPage();
  // The PACS answers late, as a busy one does: the rows the panel listed on opening must not be
  // clickable while the search runs (a loop listed from one would load into a row the search's answer
  // then replaces, and never show).
  const late = (ms: number) => async (route: Route): Promise<void> => {
    await new Promise((r) => setTimeout(r, ms));
    await route.continue();
  };
  await page.route('**/pacs/studies?patient=PACS-VIEW-1*', late(1500));
  await page.route(`**/pacs/studies/${study}/series`, late(3000));
  await page.goto(`${url}?token=${TOKEN}`);
  await page.click('.pacs-button');
  await page.fill('.pacs-search input[name=patient]', 'PACS-VIEW-1');
  await page.click('.pacs-search button[type=submit]');
  await page.click(`.pacs-study-head[data-study="${study}"]`);
  await page.click(`.pacs-open[data-instance="${sop}"]`);
  const state = await until(async () => {
    const s = await viewerState(page);
    return s.streamId === 'pacs' && s.drawn >= 3 ? s : undefined;
  }, 'frames of the PACS loop drawn', 60_000);
  assert.equal(state.lastDrawnStream, 'pacs');
  const area = await until(async () => {
    const a = await page.textContent('#area');
    return a !== null && /cm²/.test(a) ? a : undefined;
  }, 'the area in cm²', 30_000);
  assert.match(area, /cm²/);
  assert.match((await page.textContent('#scale')) ?? '', /DICOM/);
  assert.match(stderr, /pacs: playing instance/);
});
