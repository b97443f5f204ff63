/**
 * `sgus serve --pacs`: the web viewer as a PACS workstation. The page lists the PACS's ultrasound
 * studies (QIDO-RS, through this server and its credentials), and a cine loop opened there is
 * retrieved (WADO-RS) into a private cache folder and replayed in real time, looping, as the stream
 * 'pacs' through the same pipeline as any file: outline, figures in mm from the file's calibration,
 * replay controls, snapshot and recording. Opening another loop replaces it.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ULTRASOUND_SOP_CLASSES } from '../dicom/dicom-file.js';
import { describeError, ErrorCode, SgusError } from '../errors.js';
import { Pipeline } from '../pipeline/compose.js';
import type { StreamConfig } from '../pipeline/compose.js';
import { openDicomSource } from '../pipeline/dicom-source.js';
import { DicomWebClient } from '../pacs/dicomweb-client.js';
import { resolvePacsOptions } from '../pacs/pacs-options.js';
import type { StreamMetrics } from '../pipeline/frame.js';
import type { Segmenter } from '../segmenter/segmenter.js';
import type { PacsBrowser, PacsSeriesRow, PacsStudyRow } from '../server/pacs-routes.js';
import { ViewerServer } from '../server/viewer-server.js';
import { pipelineOptions, pipelineReplayControl } from './session.js';
import { loadSegmenter, STREAM_COMMAND_DEFAULTS } from './stream-options.js';
import type { PipelineSettings, ServerSettings } from './stream-options.js';

/** The stream id a PACS loop plays as. */
export const PACS_STREAM_ID = 'pacs';

export interface PacsViewerOptions {
  client: DicomWebClient;
  segmenter: Segmenter;
  server: ViewerServer;
  settings: PipelineSettings;
  /** --max-delay when not given, ms. */
  defaultMaxDelayMs: number;
  /** One line per loop opened, closed or failed. Default: stderr. */
  log?: (line: string) => void;
}

export class PacsViewer implements PacsBrowser {
  readonly #o: PacsViewerOptions;
  readonly #log: (line: string) => void;
  #cache: string | undefined;
  #pipeline: Pipeline | undefined;
  #opening: Promise<unknown> = Promise.resolve();
  #closed = false;

  constructor(o: PacsViewerOptions) {
    if (o?.client === undefined || o.segmenter === undefined || o.server === undefined) throw new SgusError(ErrorCode.InvalidArgument, 'the PACS viewer needs a client, a segmenter and a server', { where: 'pacs viewer' });
    this.#o = o;
    this.#log = o.log ?? ((l) => process.stderr.write(`sgus: ${l}\n`));
    o.server.setReplayControl(pipelineReplayControl(() => this.#pipeline));
  }

  async studies(q: { patientId?: string; date?: string; limit: number }): Promise<PacsStudyRow[]> {
    const found = await this.#o.client.searchStudies({ ...(q.patientId !== undefined ? { patientId: q.patientId } : {}), ...(q.date !== undefined ? { date: q.date } : {}), modality: 'US', limit: q.limit });
    return found
      .sort((a, b) => b.studyDate.localeCompare(a.studyDate))
      .slice(0, q.limit)
      .map((s) => ({ studyInstanceUid: s.studyInstanceUid, studyDate: s.studyDate, patientId: s.patientId, patientName: s.patientName, description: s.studyDescription, modalities: s.modalities }));
  }

  async series(studyInstanceUid: string): Promise<PacsSeriesRow[]> {
    const out: PacsSeriesRow[] = [];
    for (const se of await this.#o.client.searchSeries(studyInstanceUid, 'US')) {
      const instances = (await this.#o.client.searchInstances(studyInstanceUid, se.seriesInstanceUid)).filter((i) => i.sopClassUid === '' || ULTRASOUND_SOP_CLASSES.has(i.sopClassUid));
      out.push({ seriesInstanceUid: se.seriesInstanceUid, modality: se.modality, description: se.seriesDescription, seriesNumber: se.seriesNumber, instances: instances.map((i) => ({ sopInstanceUid: i.sopInstanceUid, frames: i.frames, instanceNumber: undefined })) });
    }
    return out.sort((a, b) => (a.seriesNumber ?? 0) - (b.seriesNumber ?? 0));
  }

  /** Retrieves the instance and plays it (one open at a time: a second waits for the first). */
  open(study: string, series: string, instance: string): Promise<{ stream: string; title: string; frames: number }> {
    const run = this.#opening.then(() => this.#open(study, series, instance));
    this.#opening = run.catch(() => undefined);
    return run;
  }

  async #open(study: string, series: string, instance: string): Promise<{ stream: string; title: string; frames: number }> {
    if (this.#closed) throw new SgusError(ErrorCode.InvalidArgument, 'the PACS viewer is closed', { where: 'pacs viewer' });
    const where = `instance ${instance}`;
    const bytes = await this.#o.client.retrieveInstance(study, series, instance);
    this.#cache ??= await mkdtemp(path.join(tmpdir(), 'sgus-pacs-view-'));
    // Named by the server (a counter), never by anything the request said.
    const file = path.join(this.#cache, `loop-${Date.now()}.dcm`);
    await writeFile(file, bytes, { mode: 0o600 });
    const opened = await openDicomSource(file).catch((err: unknown) => {
      throw new SgusError(ErrorCode.UnsupportedFormat, describeError(err).replace(file, where), { where, fatal: false });
    });
    await this.#stopCurrent();
    const inst = opened.instance;
    const title = `${inst.dataSet.string('x00100020') ?? ''} ${inst.dataSet.string('x00080020') ?? ''} ${inst.frames} frame${inst.frames === 1 ? '' : 's'}`.trim();
    const cfg: StreamConfig = { id: PACS_STREAM_ID, title, source: opened.spec, mode: 'replay', realtime: true, loop: true, probe: opened.probe };
    const cal = opened.calibration !== undefined ? { mmPerPxX: opened.calibration.mmPerPxX, mmPerPxY: opened.calibration.mmPerPxY, source: `DICOM ${opened.calibration.source}` } : undefined;
    if (cal !== undefined) cfg.calibration = cal;
    this.#o.server.setCalibration(PACS_STREAM_ID, cal);
    const p = new Pipeline(pipelineOptions(this.#o.settings, this.#o.segmenter, [cfg], { defaultMaxDelayMs: this.#o.defaultMaxDelayMs, hub: this.#o.server, isolateFailures: true }));
    p.on('log', (l) => this.#log(l));
    this.#pipeline = p;
    p.done.then(
      () => undefined,
      (err: unknown) => this.#log(`${PACS_STREAM_ID}: ${describeError(err)}`),
    );
    this.#log(`${PACS_STREAM_ID}: playing ${where} of study ${study} (${inst.image.columns}x${inst.image.rows}, ${inst.frames} frames${cal !== undefined ? `, ${cal.mmPerPxX.toFixed(4)} mm/pixel ${cal.source}` : ', uncalibrated'})`);
    return { stream: PACS_STREAM_ID, title, frames: inst.frames };
  }

  async #stopCurrent(): Promise<void> {
    const p = this.#pipeline;
    this.#pipeline = undefined;
    if (p === undefined) return;
    await p.stop().catch(() => undefined);
    p.close();
  }

  /** The figures of the loop playing (for /metrics). */
  metrics(): StreamMetrics[] {
    return this.#pipeline?.metrics() ?? [];
  }

  /** Stops the loop playing and deletes the cache. Safe to call twice. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#opening.catch(() => undefined);
    await this.#stopCurrent();
    if (this.#cache !== undefined) await rm(this.#cache, { recursive: true, force: true });
  }
}

/** `sgus serve --pacs URL|config`: the viewer with the PACS panel, until Ctrl-C. */
export async function runPacsServe(values: Record<string, unknown>, settings: PipelineSettings, viewer: ServerSettings): Promise<number> {
  const pacsArg = values['pacs'] as string;
  const client = new DicomWebClient(resolvePacsOptions(pacsArg === 'config' ? {} : { url: pacsArg }));
  // A wrong URL or password is one line now, before the model loads.
  await client.searchStudies({ modality: 'US', limit: 1 });
  const seg = await loadSegmenter(values);
  let pv: PacsViewer | undefined;
  const server = await ViewerServer.start({ ...viewer, streamMetrics: () => pv?.metrics() ?? [], model: seg.card.name, engine: seg.engineInfo.engine, device: seg.engineInfo.device });
  try {
    pv = new PacsViewer({ client, segmenter: seg, server, settings, defaultMaxDelayMs: STREAM_COMMAND_DEFAULTS.realtimeMaxDelayMs });
    server.setPacsBrowser(pv);
    if (!settings.quiet) process.stderr.write(`sgus: ${seg.engineInfo.reason}; model ${seg.card.name}; PACS ${client.url}: open a study from the viewer's PACS panel\n`);
    process.stdout.write(`viewer: ${server.printableUrl}\n`);
    await new Promise<void>((resolve) => {
      const stop = (sig: NodeJS.Signals): void => {
        process.stderr.write(`\nsgus: ${sig}: stopping\n`);
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        resolve();
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
    return 0;
  } finally {
    await pv?.close();
    await server.close();
    await seg.close();
    client.close?.();
  }
}
