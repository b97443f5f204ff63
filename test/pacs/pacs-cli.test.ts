/**
 * `sgus pacs find` and `sgus pacs segment` against a real Orthanc (runs dist/: `npx tsc -p
 * tsconfig.build.json` first). Exams go in as a scanner sends them (dcmtk's storescu); what SGUS
 * Live stores is checked through Orthanc's own REST API and by dciodvfy.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { newUid } from '../../src/dicom/dicom-write.js';
import { writeUltrasoundDicom } from '../../src/dicom/us-writer.js';
import { runCli } from '../helpers/cli.js';
import { dciodvfyErrors, hasTool, syntheticFrames, tempDir, writeTemp } from '../helpers/dicom.js';
import { orthancSkip, storescu, TestOrthanc } from '../helpers/orthanc.js';

const skip = orthancSkip();
const MODEL = ['--model', 'unet-m-synth'];
const CAL = { mmPerPxX: 0.1, mmPerPxY: 0.125 };
let orthanc: TestOrthanc;
const study = newUid();
const loopSeries = newUid();
const stillSeries = newUid();
const loopSop = newUid();
const stillSop = newUid();

type Tags = Record<string, any>;
interface Found {
  ID: string;
  MainDicomTags: Record<string, string>;
  ParentSeries: string;
}

before(async () => {
  if (skip !== false) return;
  orthanc = await TestOrthanc.start();
  const dir = tempDir('sgus-pacs-cli-');
  const identity = { patientId: 'PACS-CLI-1', studyInstanceUid: study };
  const loop = writeTemp(dir, 'loop.dcm', writeUltrasoundDicom(syntheticFrames(3, 160, 120), { encoding: 'jpeg-baseline', calibration: CAL, identity: { ...identity, seriesInstanceUid: loopSeries, sopInstanceUid: loopSop } }));
  const still = writeTemp(dir, 'still.dcm', writeUltrasoundDicom(syntheticFrames(1, 160, 120, 2), { singleFrame: true, calibration: CAL, identity: { ...identity, seriesInstanceUid: stillSeries, sopInstanceUid: stillSop } }));
  const r = await storescu([loop, still], '127.0.0.1', orthanc.dicomPort);
  assert.equal(r.code, 0, r.output);
});

after(async () => {
  await orthanc?.close();
});

/** Orthanc's instances of the study, with their main tags (its /tools/find). */
async function studyInstances(): Promise<Found[]> {
  const r = await orthanc.rest('/tools/find', { method: 'POST', body: JSON.stringify({ Level: 'Instance', Query: { StudyInstanceUID: study }, Expand: true }) });
  assert.ok(r.ok, `tools/find HTTP ${r.status}`);
  return (await r.json()) as Found[];
}

async function modalityOf(seriesId: string): Promise<string> {
  return (await orthanc.json<{ MainDicomTags: { Modality: string } }>(`/series/${seriesId}`)).MainDicomTags.Modality;
}

test('pacs find lists the study by patient id with its two US series, as JSON and as lines', { skip }, async () => {
  const r = await runCli(['pacs', 'find', '--patient', 'PACS-CLI-1', '--json'], { env: orthanc.env });
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout) as { studies: Array<{ studyInstanceUid: string; seriesList: Array<{ seriesInstanceUid: string; modality: string }> }> };
  assert.deepEqual(doc.studies.map((s) => s.studyInstanceUid), [study]);
  assert.deepEqual(doc.studies[0]!.seriesList.map((s) => s.seriesInstanceUid).sort(), [loopSeries, stillSeries].sort());
  const text = await runCli(['pacs', 'find', '--patient', 'PACS-CLI-1', '--modality', 'US'], { env: orthanc.env });
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, new RegExp(`^study ${study.replace(/\./g, '\\.')}  \\d{8}  patient PACS-CLI-1  US`, 'm'));
  assert.equal(text.stdout.split('\n').filter((l) => l.startsWith('  series ')).length, 2);
  const none = await runCli(['pacs', 'find', '--patient', 'NOBODY'], { env: orthanc.env });
  assert.equal(none.code, 0);
  assert.equal(none.stdout, '');
});

test('pacs segment stores a Segmentation and a report per US instance into the same study, referencing it, valid for dciodvfy', { skip, timeout: 180_000 }, async () => {
  const keep = tempDir('sgus-pacs-out-');
  const r = await runCli(['pacs', 'segment', '--study', study, '--dicom-out', keep, ...MODEL], { env: orthanc.env });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`^${loopSop.replace(/\./g, '\\.')}: 3 frames segmented`, 'm'));
  assert.match(r.stdout, new RegExp(`^${stillSop.replace(/\./g, '\\.')}: 1 frame segmented`, 'm'));

  const all = await studyInstances();
  assert.equal(all.length, 6, 'two sources, two SEG, two SR, all in the one study');
  const byModality = new Map<string, Found[]>();
  for (const i of all) {
    const m = await modalityOf(i.ParentSeries);
    byModality.set(m, [...(byModality.get(m) ?? []), i]);
  }
  assert.equal(byModality.get('US')?.length, 2);
  assert.equal(byModality.get('SEG')?.length, 2);
  assert.equal(byModality.get('SR')?.length, 2);

  const segSources = new Map<string, string>();
  for (const seg of byModality.get('SEG')!) {
    const tags = await orthanc.json<Tags>(`/instances/${seg.ID}/simplified-tags`);
    assert.equal(tags.StudyInstanceUID, study);
    assert.equal(tags.PatientID, 'PACS-CLI-1');
    const refs = tags.ReferencedSeriesSequence as Tags[];
    const source = refs[0]!.ReferencedInstanceSequence[0].ReferencedSOPInstanceUID as string;
    assert.ok([loopSop, stillSop].includes(source), `SEG references a source instance (${source})`);
    const frames = tags.PerFrameFunctionalGroupsSequence as Tags[];
    assert.equal(frames.length, source === loopSop ? 3 : 1, 'one SEG frame per source frame');
    for (const f of frames) assert.equal(f.DerivationImageSequence[0].SourceImageSequence[0].ReferencedSOPInstanceUID, source);
    segSources.set(tags.SOPInstanceUID as string, source);
  }
  assert.deepEqual([...segSources.values()].sort(), [loopSop, stillSop].sort(), 'one SEG per source');

  for (const sr of byModality.get('SR')!) {
    const tags = await orthanc.json<Tags>(`/instances/${sr.ID}/simplified-tags`);
    assert.equal(tags.StudyInstanceUID, study);
    const evidence = (tags.CurrentRequestedProcedureEvidenceSequence as Tags[])[0]!.ReferencedSeriesSequence as Tags[];
    const refs = evidence.map((s) => s.ReferencedSOPSequence[0].ReferencedSOPInstanceUID as string);
    const seg = refs.find((u) => segSources.has(u));
    assert.ok(seg !== undefined, 'the report references a stored Segmentation');
    assert.ok(refs.includes(segSources.get(seg)!), "and that Segmentation's source image");
  }

  if (hasTool('dciodvfy')) {
    const dir = tempDir('sgus-pacs-back-');
    for (const i of [...byModality.get('SEG')!, ...byModality.get('SR')!]) {
      const file = path.join(dir, `${i.ID}.dcm`);
      const res = await orthanc.rest(`/instances/${i.ID}/file`);
      await writeFile(file, Buffer.from(await res.arrayBuffer()));
      assert.deepEqual(dciodvfyErrors(file), [], `${i.ID} as Orthanc gives it back`);
    }
  }
});

test('a wrong PACS password is one clear line and exit 1, before any model is loaded', { skip }, async () => {
  const env = { ...orthanc.env, SGUS_PACS_PASSWORD: 'wrong' };
  for (const args of [['pacs', 'find'], ['pacs', 'segment', '--study', study, ...MODEL]]) {
    const r = await runCli(args, { env });
    assert.equal(r.code, 1, args.join(' '));
    assert.equal(r.stderr, `sgus: PACS ${orthanc.dicomWebUrl}: the PACS refused the user name or password (HTTP 401); check SGUS_PACS_USER / SGUS_PACS_PASSWORD\n`);
  }
});

test('credentials in --pacs are refused (they would show in ps), and no PACS at all names the ways to give one', { skip }, async () => {
  const r = await runCli(['pacs', 'find', '--pacs', `http://u:secret@127.0.0.1:${orthanc.httpPort}/dicom-web`], { env: { SGUS_PACS_URL: '' } });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^sgus: PACS URL must not hold credentials .*SGUS_PACS_USER \/ SGUS_PACS_PASSWORD/);
  assert.doesNotMatch(r.stderr, /secret/);
  const none = await runCli(['pacs', 'find'], { env: { SGUS_PACS_URL: '', HOME: tempDir() } });
  assert.equal(none.code, 2);
  assert.match(none.stderr, /^sgus: no PACS given: use --pacs URL/);
});
