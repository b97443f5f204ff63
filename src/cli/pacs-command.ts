/** `sgus pacs find` and `sgus pacs segment`: exams from a PACS over DICOMweb, results back into their study. */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { formatMeasurements } from '../core/gland-measurements.js';
import { readDicom, ULTRASOUND_SOP_CLASSES } from '../dicom/dicom-file.js';
import { describeError, ErrorCode, SgusError } from '../errors.js';
import type { InstanceSummary } from '../pacs/dicom-json.js';
import { DicomWebClient } from '../pacs/dicomweb-client.js';
import { resolvePacsOptions } from '../pacs/pacs-options.js';
import { segmentInstance } from '../pacs/segment-instance.js';
import { createSegmenter } from '../segmenter/segmenter.js';
import { engineOptions, intOption, MODEL_OPTIONS, MODEL_OPTIONS_HELP, parse } from './args.js';
import type { CliCommand } from './command.js';

const PACS_HELP = `PACS:
      --pacs URL          the PACS's DICOMweb root, http or https (default: $SGUS_PACS_URL, else 'url'
                          in the config file), e.g. https://pacs.example.org/dicom-web
  Credentials (HTTP Basic) come from SGUS_PACS_USER / SGUS_PACS_PASSWORD, else 'user' / 'password' in
  the config file ($SGUS_PACS_CONFIG, default ~/.config/sgus/pacs.json, chmod 600), never from the
  command line (every user of the machine sees it in ps). SGUS_PACS_TIMEOUT_MS: time per request
  (default 60000).`;

const help = `Usage: sgus pacs find [--patient ID] [--date YYYYMMDD[-YYYYMMDD]] [--modality US] [--json]
       sgus pacs segment --study UID [--series UID] [--dicom-out DIR]

find      lists the studies on the PACS (QIDO-RS) that match, each with its series of the modality:
          study UID, date, patient id, modalities, then one line per series (UID, modality, instances).
            --patient ID        Patient ID (the PACS's wildcards * ? allowed)
            --date D[-D]        study date or range, YYYYMMDD or YYYYMMDD-YYYYMMDD
            --modality M        studies holding this modality, series of it (default: US)
            --json              one JSON document: studies with their series
segment   retrieves (WADO-RS) every ultrasound instance of the study (or of one series), segments
          each frame and stores (STOW-RS) a DICOM Segmentation and a TID 1500 measurement report per
          instance into the same study (new series, the source's patient and study modules).
          Prints one line per instance; an instance that fails is one line, the others are done.
            --study UID         the Study Instance UID (required; see 'sgus pacs find')
            --series UID        only this series (default: every US series of the study)
            --dicom-out DIR     also keep the objects stored, as <SOP UID>.seg.dcm / .sr.dcm
            -b, --batch N       frames per inference call (default: 4)

${PACS_HELP}
${MODEL_OPTIONS_HELP}

Exit codes: 0 done, 1 some instance failed or the PACS refused or could not be reached, 2 bad usage.

Examples:
  SGUS_PACS_USER=sgus SGUS_PACS_PASSWORD=... sgus pacs find --pacs https://pacs/dicom-web --patient 12345
  sgus pacs segment --study 1.2.840.113619.2.55.3.604688119 --pacs http://127.0.0.1:8042/dicom-web`;

function client(pacs: unknown): DicomWebClient {
  return new DicomWebClient(resolvePacsOptions(typeof pacs === 'string' ? { url: pacs } : {}));
}

async function find(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { pacs: { type: 'string' }, patient: { type: 'string' }, date: { type: 'string' }, modality: { type: 'string' }, json: { type: 'boolean' } }, false);
  void positionals;
  const modality = (values.modality as string | undefined) ?? 'US';
  const c = client(values.pacs);
  const studies = await c.searchStudies({
    ...(typeof values.patient === 'string' ? { patientId: values.patient } : {}),
    ...(typeof values.date === 'string' ? { date: values.date } : {}),
    modality,
  });
  const withSeries = [];
  for (const s of studies) withSeries.push({ ...s, seriesList: await c.searchSeries(s.studyInstanceUid, modality) });
  if (values.json === true) {
    process.stdout.write(`${JSON.stringify({ pacs: c.url, studies: withSeries }, null, 2)}\n`);
    return 0;
  }
  for (const s of withSeries) {
    process.stdout.write(`study ${s.studyInstanceUid}  ${s.studyDate || '-'}  patient ${s.patientId || '-'}  ${s.modalities.join('\\') || '-'}${s.studyDescription ? `  ${s.studyDescription}` : ''}\n`);
    for (const se of s.seriesList) process.stdout.write(`  series ${se.seriesInstanceUid}  ${se.modality}  #${se.seriesNumber ?? '-'}  ${se.instances ?? '?'} instance${se.instances === 1 ? '' : 's'}${se.seriesDescription ? `  ${se.seriesDescription}` : ''}\n`);
  }
  process.stderr.write(`${studies.length} stud${studies.length === 1 ? 'y' : 'ies'} on ${c.url}\n`);
  return 0;
}

async function segment(args: string[]): Promise<number> {
  const { values } = parse(args, { ...MODEL_OPTIONS, pacs: { type: 'string' }, study: { type: 'string' }, series: { type: 'string' }, 'dicom-out': { type: 'string' }, batch: { type: 'string', short: 'b' } }, false);
  const study = values.study;
  if (typeof study !== 'string') throw new SgusError(ErrorCode.InvalidArgument, "sgus pacs segment needs --study UID (see 'sgus pacs find')");
  const batchSize = intOption(values.batch, 'batch', 1, 4);
  const c = client(values.pacs);
  // The series first: a wrong study, URL or password fails here, before a model is loaded.
  const seriesUids = typeof values.series === 'string' ? [values.series] : (await c.searchSeries(study, 'US')).map((s) => s.seriesInstanceUid);
  const instances: InstanceSummary[] = [];
  for (const se of seriesUids) instances.push(...(await c.searchInstances(study, se)));
  const todo = instances.filter((i) => i.sopClassUid === '' || ULTRASOUND_SOP_CLASSES.has(i.sopClassUid));
  if (todo.length === 0) {
    process.stderr.write(`sgus pacs segment: no ultrasound instance in study ${study}${typeof values.series === 'string' ? ` series ${values.series}` : ''} on ${c.url}\n`);
    return 1;
  }
  const keep = typeof values['dicom-out'] === 'string' ? values['dicom-out'] : undefined;
  const dir = keep ?? (await mkdtemp(path.join(tmpdir(), 'sgus-pacs-')));
  const segmenter = await createSegmenter({ ...engineOptions(values), threshold: 0.5, minComponentFraction: 0.002, maxHoleFraction: 0.002 });
  process.stderr.write(`model ${segmenter.card.name} (${segmenter.card.architecture}), ${segmenter.engineInfo.reason}; ${todo.length} instance${todo.length === 1 ? '' : 's'} in ${seriesUids.length} series\n`);
  let failed = 0;
  let stored = 0;
  try {
    for (const i of todo) {
      const where = `instance ${i.sopInstanceUid}`;
      try {
        const inst = readDicom(await c.retrieveInstance(study, i.seriesInstanceUid, i.sopInstanceUid), where);
        const r = await segmentInstance(segmenter, inst, { dir, batchSize });
        const objects = await Promise.all(r.files.map((f) => readFile(f)));
        const s = await c.store(objects, study);
        if (s.failed.length > 0) throw new SgusError(ErrorCode.SinkFailure, `the PACS refused ${s.failed.length} of the 2 results`, { where });
        stored += s.stored.length;
        const areas = r.measurements.map((m) => formatMeasurements(m));
        process.stdout.write(`${i.sopInstanceUid}: ${inst.frames} frame${inst.frames === 1 ? '' : 's'} segmented, Segmentation and report stored in study ${study}${areas.length === 1 ? `; ${areas[0]}` : ''}\n`);
      } catch (err) {
        failed++;
        const msg = describeError(err);
        process.stderr.write(`sgus pacs segment: ${msg.startsWith(where) || msg.startsWith('PACS ') ? msg : `${where}: ${msg}`}\n`);
        // Credentials refused mid-run will be refused for every other instance too.
        if ((err as SgusError).code === 'access-denied') break;
      }
    }
  } finally {
    await segmenter.close();
    if (keep === undefined) await rm(dir, { recursive: true, force: true });
  }
  process.stderr.write(`stored ${stored} object${stored === 1 ? '' : 's'} for ${todo.length - failed} of ${todo.length} instances on ${c.url}${failed > 0 ? `; ${failed} failed` : ''}\n`);
  return failed > 0 ? 1 : 0;
}

const command: CliCommand = {
  help,
  async run(args) {
    const [sub, ...rest] = args;
    if (sub === 'find') return find(rest);
    if (sub === 'segment') return segment(rest);
    process.stderr.write(`sgus pacs: ${sub === undefined ? 'give find or segment' : `unknown sub-command '${sub}'`} (see 'sgus pacs --help')\n`);
    return 2;
  },
};

export default command;
