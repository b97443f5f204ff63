/**
 * `sgus listen` as a DICOM node between a scanner (dcmtk's storescu) and a real Orthanc (runs
 * dist/: `npx tsc -p tsconfig.build.json` first).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { newUid } from '../../src/dicom/dicom-write.js';
import { writeUltrasoundDicom } from '../../src/dicom/us-writer.js';
import { CLI } from '../helpers/cli.js';
import { syntheticFrames, tempDir, writeTemp } from '../helpers/dicom.js';
import { freePort, orthancSkip, storescu, TestOrthanc } from '../helpers/orthanc.js';

const skip = orthancSkip();
let orthanc: TestOrthanc;
const CAL = { mmPerPxX: 0.1, mmPerPxY: 0.125 };

type Tags = Record<string, any>;

/** A running `sgus listen`, its log, and a way to wait for a line in it. */
class Listener {
  readonly child: ChildProcess;
  log = '';
  constructor(args: string[], env: Record<string, string>) {
    this.child = spawn(process.execPath, [CLI, 'listen', '--model', 'unet-m-synth', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    this.child.stderr!.on('data', (d: Buffer) => (this.log += d.toString()));
  }

  async waitFor(re: RegExp, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!re.test(this.log)) {
      if (this.child.exitCode !== null) throw new Error(`sgus listen exited (${this.child.exitCode}) before ${re}: ${this.log}`);
      if (Date.now() > deadline) throw new Error(`no ${re} within ${timeoutMs} ms: ${this.log}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** SIGTERM and wait for the exit; resolves to the exit code. Safe to call twice. */
  async stop(): Promise<number | null> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.child.exitCode;
    const exited = new Promise<number | null>((resolve) => this.child.once('exit', (code) => resolve(code)));
    this.child.kill('SIGTERM');
    return exited;
  }
}

const listeners: Listener[] = [];
async function listen(port: number, queue: string, extra: string[] = []): Promise<Listener> {
  const l = new Listener(['--aet', 'SGUS', '--port', String(port), '--host', '127.0.0.1', '--allow', 'SCANNER1,SCANNER2', '--queue', queue, '--retry', '0.3', ...extra], orthanc.env);
  listeners.push(l);
  await l.waitFor(/listening as SGUS on 127\.0\.0\.1:\d+/);
  return l;
}

before(async () => {
  if (skip === false) orthanc = await TestOrthanc.start();
});

after(async () => {
  for (const l of listeners) await l.stop();
  await orthanc?.close();
});

/** `n` US instances of one new study (single frames, the second a 3-frame cine loop). */
function exam(n: number, patientId: string): { study: string; sops: string[]; files: string[] } {
  const dir = tempDir('sgus-listen-');
  const study = newUid();
  const series = newUid();
  const sops: string[] = [];
  const files: string[] = [];
  for (let i = 0; i < n; i++) {
    const sop = newUid();
    const loop = i === 1;
    const bytes = writeUltrasoundDicom(syntheticFrames(loop ? 3 : 1, 160, 120, i + 1), { ...(loop ? { encoding: 'jpeg-baseline' as const } : { singleFrame: true }), calibration: CAL, identity: { patientId, studyInstanceUid: study, seriesInstanceUid: series, sopInstanceUid: sop } });
    sops.push(sop);
    files.push(writeTemp(dir, `i${i}.dcm`, bytes));
  }
  return { study, sops, files };
}

/** The sources the Segmentations in Orthanc for `study` reference, one entry per Segmentation. */
async function segSources(study: string): Promise<{ seg: string[]; sr: number }> {
  const r = await orthanc.rest('/tools/find', { method: 'POST', body: JSON.stringify({ Level: 'Instance', Query: { StudyInstanceUID: study }, Expand: true }) });
  const found = (await r.json()) as Array<{ ID: string }>;
  const seg: string[] = [];
  let sr = 0;
  for (const f of found) {
    const t = await orthanc.json<Tags>(`/instances/${f.ID}/simplified-tags`);
    if (t.Modality === 'SEG') seg.push(t.ReferencedSeriesSequence[0].ReferencedInstanceSequence[0].ReferencedSOPInstanceUID);
    if (t.Modality === 'SR') sr++;
  }
  return { seg: seg.sort(), sr };
}

async function waitForResults(study: string, n: number, timeoutMs = 120_000): Promise<{ seg: string[]; sr: number }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = orthanc.running ? await segSources(study) : { seg: [], sr: 0 };
    if ((s.seg.length >= n && s.sr >= n) || Date.now() > deadline) return s;
    await new Promise((r) => setTimeout(r, 250));
  }
}

test('images pushed by storescu are segmented and their Segmentation and report arrive in Orthanc, in the study, one each', { skip, timeout: 180_000 }, async () => {
  const port = await freePort();
  const l = await listen(port, path.join(tempDir(), 'queue'));
  const e = exam(3, 'LISTEN-1');
  const r = await storescu(e.files, '127.0.0.1', port, { callingAet: 'SCANNER1', calledAet: 'SGUS' });
  assert.equal(r.code, 0, r.output);
  const got = await waitForResults(e.study, 3);
  assert.deepEqual(got.seg, [...e.sops].sort(), `one Segmentation per pushed image, each referencing it: ${l.log}`);
  assert.equal(got.sr, 3);
  for (const sop of e.sops) assert.match(l.log, new RegExp(`received ${sop.replace(/\./g, '\\.')} from SCANNER1@127\\.0\\.0\\.1`));
  await new Promise((res) => setTimeout(res, 500));
  assert.equal((await segSources(e.study)).seg.length, 3, 'and nothing more afterwards');
});

test('a calling AE title not on the allow-list is refused at association, and nothing of it is queued', { skip, timeout: 60_000 }, async () => {
  const port = await freePort();
  const queue = path.join(tempDir(), 'queue');
  const l = await listen(port, queue);
  const e = exam(1, 'LISTEN-2');
  const r = await storescu(e.files, '127.0.0.1', port, { callingAet: 'INTRUDER', calledAet: 'SGUS' });
  assert.notEqual(r.code, 0);
  assert.match(r.output, /Association Rejected/i);
  await l.waitFor(/association from INTRUDER@127\.0\.0\.1 refused: calling AE title not on the allow-list/);
  const wrongCalled = await storescu(e.files, '127.0.0.1', port, { callingAet: 'SCANNER1', calledAet: 'NOTSGUS' });
  assert.notEqual(wrongCalled.code, 0);
  await l.waitFor(/it called 'NOTSGUS', this node is 'SGUS'/);
  assert.deepEqual(await readdir(path.join(queue, 'received')), []);
  assert.deepEqual(await readdir(path.join(queue, 'outbox')), []);
});

test('a host not on --allow-host is cut off before association', { skip, timeout: 60_000 }, async () => {
  const port = await freePort();
  const l = await listen(port, path.join(tempDir(), 'queue'), ['--allow-host', '10.1.2.3']);
  const r = await storescu(exam(1, 'LISTEN-3').files, '127.0.0.1', port, { callingAet: 'SCANNER1', calledAet: 'SGUS' });
  assert.notEqual(r.code, 0);
  await l.waitFor(/connection from 127\.0\.0\.1 refused: host not on the allow-list/);
});

test('with Orthanc stopped mid-series and SGUS Live restarted meanwhile, every result arrives once Orthanc is back, none twice', { skip, timeout: 240_000 }, async () => {
  const port = await freePort();
  const queue = path.join(tempDir(), 'queue');
  let l = await listen(port, queue);
  const e = exam(5, 'LISTEN-4');
  const first = await storescu(e.files.slice(0, 2), '127.0.0.1', port, { callingAet: 'SCANNER2', calledAet: 'SGUS' });
  assert.equal(first.code, 0, first.output);
  assert.equal((await waitForResults(e.study, 2)).seg.length, 2, l.log);

  await orthanc.stop();
  const second = await storescu(e.files.slice(2, 4), '127.0.0.1', port, { callingAet: 'SCANNER2', calledAet: 'SGUS' });
  assert.equal(second.code, 0, `the scanner's push succeeds while the PACS is down: ${second.output}`);
  await l.waitFor(/cannot store on the PACS: .*cannot reach the PACS: connection refused/);
  // SGUS Live stops too, with results waiting on disk; a new run takes them up.
  assert.equal(await l.stop(), 0);
  l = await listen(port, queue);
  await l.waitFor(/result\(s\) to store, left by an earlier run/);
  const third = await storescu(e.files.slice(4), '127.0.0.1', port, { callingAet: 'SCANNER2', calledAet: 'SGUS' });
  assert.equal(third.code, 0, third.output);

  await orthanc.resume();
  const got = await waitForResults(e.study, 5);
  assert.deepEqual(got.seg, [...e.sops].sort(), `each of the 5 images has exactly one Segmentation: ${l.log}`);
  assert.equal(got.sr, 5, 'and one report');
  await l.waitFor(/is back; sending what waited/);
  assert.deepEqual(await readdir(path.join(queue, 'outbox')), [], 'the outbox is empty');
  assert.deepEqual(await readdir(path.join(queue, 'failed')), []);
});
