/** The DICOMweb client against a real Orthanc (started by the test, on 127.0.0.1). */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readDicom } from '../../src/dicom/dicom-file.js';
import { newUid } from '../../src/dicom/dicom-write.js';
import { writeUltrasoundDicom } from '../../src/dicom/us-writer.js';
import { isSgusError } from '../../src/errors.js';
import { DicomWebClient } from '../../src/pacs/dicomweb-client.js';
import { syntheticFrames, tempDir, writeTemp } from '../helpers/dicom.js';
import { freePort, orthancSkip, storescu, TestOrthanc } from '../helpers/orthanc.js';

const skip = orthancSkip();
let orthanc: TestOrthanc;
const study = newUid();
const series = newUid();
const sop = newUid();

before(async () => {
  if (skip !== false) return;
  orthanc = await TestOrthanc.start();
  const dir = tempDir('sgus-pacs-');
  const loop = writeTemp(dir, 'loop.dcm', writeUltrasoundDicom(syntheticFrames(3), { encoding: 'jpeg-baseline', identity: { patientId: 'PAT-1', studyInstanceUid: study, seriesInstanceUid: series, sopInstanceUid: sop } }));
  const other = writeTemp(dir, 'other.dcm', writeUltrasoundDicom(syntheticFrames(1), { singleFrame: true, identity: { patientId: 'PAT-2' } }));
  const r = await storescu([loop, other], '127.0.0.1', orthanc.dicomPort);
  assert.equal(r.code, 0, r.output);
});

after(async () => {
  await orthanc?.close();
  await orthanc?.close();
});

function client(password?: string): DicomWebClient {
  return new DicomWebClient({ url: orthanc.dicomWebUrl, user: orthanc.user, password: password ?? orthanc.password, timeoutMs: 10_000 });
}

test('QIDO-RS finds a study by patient id and modality, and its US series and instances', { skip }, async () => {
  const c = client();
  const studies = await c.searchStudies({ patientId: 'PAT-1', modality: 'US' });
  assert.deepEqual(studies.map((s) => s.studyInstanceUid), [study]);
  assert.equal(studies[0]!.patientId, 'PAT-1');
  assert.match(studies[0]!.studyDate, /^\d{8}$/);
  assert.deepEqual(await c.searchStudies({ patientId: 'NOBODY' }), []);
  const all = await c.searchStudies({ modality: 'US' });
  assert.equal(all.length, 2, 'both uploaded studies are US');
  const sers = await c.searchSeries(study, 'US');
  assert.deepEqual(sers.map((s) => s.seriesInstanceUid), [series]);
  const inst = await c.searchInstances(study, series);
  assert.deepEqual(inst.map((i) => i.sopInstanceUid), [sop]);
  assert.equal(inst[0]!.frames, 3);
});

test('QIDO-RS filters studies by a date range that holds today and not by one that does not', { skip }, async () => {
  const c = client();
  const today = (await c.searchStudies({ patientId: 'PAT-1' }))[0]!.studyDate;
  assert.equal((await c.searchStudies({ patientId: 'PAT-1', date: `19000101-${today}` })).length, 1);
  assert.equal((await c.searchStudies({ patientId: 'PAT-1', date: '19000101-19000102' })).length, 0);
  await assert.rejects(c.searchStudies({ date: '2024-01-01' }), /date must be YYYYMMDD/);
});

test('WADO-RS retrieves the instance as stored: a JPEG cine loop with its 3 frames, readable by the DICOM reader', { skip }, async () => {
  const bytes = await client().retrieveInstance(study, series, sop);
  const inst = readDicom(bytes, 'retrieved');
  assert.equal(inst.sopInstanceUid, sop);
  assert.equal(inst.frames, 3);
  assert.equal(inst.transferSyntaxUid, '1.2.840.10008.1.2.4.50');
});

test('STOW-RS stores a new instance into an existing study and QIDO-RS then lists its series there', { skip }, async () => {
  const c = client();
  const newSeries = newUid();
  const newSop = newUid();
  const obj = writeUltrasoundDicom(syntheticFrames(1), { singleFrame: true, identity: { patientId: 'PAT-1', studyInstanceUid: study, seriesInstanceUid: newSeries, sopInstanceUid: newSop } });
  const r = await c.store([obj], study);
  assert.deepEqual(r.stored, [newSop]);
  assert.deepEqual(r.failed, []);
  const sers = (await c.searchSeries(study)).map((s) => s.seriesInstanceUid).sort();
  assert.deepEqual(sers, [series, newSeries].sort());
});

test('a wrong PACS password is one AccessDenied line naming the PACS and the variables to check', { skip }, async () => {
  const err = await client('wrong').searchStudies().then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(isSgusError(err, 'access-denied'), String(err));
  assert.equal((err as Error).message, `PACS ${orthanc.dicomWebUrl}: the PACS refused the user name or password (HTTP 401); check SGUS_PACS_USER / SGUS_PACS_PASSWORD`);
});

test('a PACS that is not running is a one-line "connection refused"', { skip }, async () => {
  const c = new DicomWebClient({ url: `http://127.0.0.1:${await freePort()}/dicom-web`, timeoutMs: 5000 });
  await assert.rejects(c.searchStudies(), (e: unknown) => isSgusError(e, 'source-failure') && /cannot reach the PACS: connection refused/.test((e as Error).message));
});
