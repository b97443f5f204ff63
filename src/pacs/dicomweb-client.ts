/**
 * A DICOMweb client on Node's own `fetch`: QIDO-RS search, WADO-RS retrieve, STOW-RS store.
 * Not the `dicomweb-client` package: it is built on the browser's XMLHttpRequest, which Node 20
 * does not have (`ReferenceError: XMLHttpRequest is not defined` on its first search), and what
 * SGUS Live needs of DICOMweb is three kinds of request and a multipart body (src/pacs/multipart.ts).
 */
import { describeError, ErrorCode, SgusError } from '../errors.js';
import { instanceSummary, items, seriesSummary, str, studySummary, Tag } from './dicom-json.js';
import type { DicomJson, InstanceSummary, SeriesSummary, StudySummary } from './dicom-json.js';
import { decodeMultipart, encodeMultipart } from './multipart.js';
import { DEFAULT_PACS_TIMEOUT_MS } from './pacs-options.js';
import type { PacsClientOptions } from './pacs-options.js';

export interface StudyQuery {
  /** Patient ID, exactly (wildcards * and ? as the PACS allows). */
  patientId?: string;
  /** YYYYMMDD or a range YYYYMMDD-YYYYMMDD. */
  date?: string;
  /** Modality the study must hold (ModalitiesInStudy), e.g. US. */
  modality?: string;
  /** Most results. Default: the PACS's. */
  limit?: number;
}

export interface StoreResult {
  /** SOP Instance UIDs the PACS stored. */
  stored: string[];
  /** Instances it refused, with its failure reason code. */
  failed: Array<{ sopInstanceUid: string; reason: number | undefined }>;
}

const DATE = /^\d{8}(-\d{8})?$/;

export class DicomWebClient {
  readonly url: string;
  readonly #auth: string | undefined;
  readonly #timeoutMs: number;
  #closed = false;

  constructor(options: PacsClientOptions) {
    if (typeof options?.url !== 'string' || !/^https?:\/\//.test(options.url)) throw new SgusError(ErrorCode.InvalidArgument, `PACS URL must be http(s)://..., got '${String(options?.url)}'`);
    this.url = options.url.replace(/\/+$/, '');
    this.#auth = options.user !== undefined ? `Basic ${Buffer.from(`${options.user}:${options.password ?? ''}`).toString('base64')}` : undefined;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_PACS_TIMEOUT_MS;
  }

  /** QIDO-RS studies. */
  async searchStudies(q: StudyQuery = {}): Promise<StudySummary[]> {
    const params = new URLSearchParams();
    if (q.patientId !== undefined) params.set('PatientID', q.patientId);
    if (q.date !== undefined) {
      if (!DATE.test(q.date)) throw new SgusError(ErrorCode.InvalidArgument, `date must be YYYYMMDD or YYYYMMDD-YYYYMMDD, got '${q.date}'`);
      params.set('StudyDate', q.date);
    }
    if (q.modality !== undefined) params.set('ModalitiesInStudy', q.modality);
    if (q.limit !== undefined) params.set('limit', String(q.limit));
    for (const t of [Tag.PatientName, Tag.PatientID, Tag.StudyDate, Tag.StudyDescription, Tag.ModalitiesInStudy, Tag.NumberOfStudyRelatedSeries, Tag.NumberOfStudyRelatedInstances]) params.append('includefield', t);
    return (await this.#searchJson(`/studies?${params}`)).map(studySummary);
  }

  /** QIDO-RS series of a study, optionally of one modality. */
  async searchSeries(studyInstanceUid: string, modality?: string): Promise<SeriesSummary[]> {
    const params = new URLSearchParams();
    if (modality !== undefined) params.set('Modality', modality);
    for (const t of [Tag.Modality, Tag.SeriesNumber, Tag.SeriesDescription, Tag.NumberOfSeriesRelatedInstances]) params.append('includefield', t);
    return (await this.#searchJson(`/studies/${uid(studyInstanceUid)}/series?${params}`)).map((d) => seriesSummary(d, studyInstanceUid));
  }

  /** QIDO-RS instances of a series. */
  async searchInstances(studyInstanceUid: string, seriesInstanceUid: string): Promise<InstanceSummary[]> {
    const params = new URLSearchParams();
    for (const t of [Tag.SOPClassUID, Tag.NumberOfFrames]) params.append('includefield', t);
    const list = await this.#searchJson(`/studies/${uid(studyInstanceUid)}/series/${uid(seriesInstanceUid)}/instances?${params}`);
    return list.map((d) => instanceSummary(d, studyInstanceUid, seriesInstanceUid));
  }

  /**
   * WADO-RS retrieve of one instance as a Part 10 file. `transferSyntax` '*' (the default) asks for
   * it as stored, so a JPEG cine loop is not inflated to raw pixels on the way.
   */
  async retrieveInstance(studyInstanceUid: string, seriesInstanceUid: string, sopInstanceUid: string, transferSyntax = '*'): Promise<Uint8Array> {
    const path = `/studies/${uid(studyInstanceUid)}/series/${uid(seriesInstanceUid)}/instances/${uid(sopInstanceUid)}`;
    const r = await this.#request(path, { headers: { accept: `multipart/related; type="application/dicom"; transfer-syntax=${transferSyntax}` } });
    const body = new Uint8Array(await this.#body(r, path));
    const parts = decodeMultipart(body, r.headers.get('content-type') ?? '', this.#where(path));
    const first = parts[0];
    if (first === undefined) throw new SgusError(ErrorCode.ProtocolError, 'the PACS answered with no instance', { where: this.#where(path), fatal: false });
    return first.body;
  }

  /**
   * STOW-RS: stores Part 10 files, into `studyInstanceUid` when given (the PACS then refuses objects
   * of another study). Throws when the PACS stored none; a partial store is in `failed`.
   */
  async store(objects: readonly Uint8Array[], studyInstanceUid?: string): Promise<StoreResult> {
    if (objects.length === 0) return { stored: [], failed: [] };
    const path = studyInstanceUid !== undefined ? `/studies/${uid(studyInstanceUid)}` : '/studies';
    const { contentType, body } = encodeMultipart(objects);
    const r = await this.#request(path, { method: 'POST', headers: { 'content-type': contentType, accept: 'application/dicom+json' }, body }, [409]);
    const text = await this.#text(r, path);
    let ds: DicomJson = {};
    if (text.trim() !== '') {
      try {
        const parsed = JSON.parse(text) as DicomJson | DicomJson[];
        ds = Array.isArray(parsed) ? (parsed[0] ?? {}) : parsed;
      } catch {
        throw new SgusError(ErrorCode.ProtocolError, `the PACS's STOW-RS answer (HTTP ${r.status}) is not DICOM JSON`, { where: this.#where(path), fatal: false });
      }
    }
    const result: StoreResult = {
      stored: items(ds, Tag.ReferencedSOPSequence).map((i) => str(i, Tag.ReferencedSOPInstanceUID)),
      failed: items(ds, Tag.FailedSOPSequence).map((i) => {
        const reason = i[Tag.FailureReason]?.Value?.[0];
        return { sopInstanceUid: str(i, Tag.ReferencedSOPInstanceUID), reason: typeof reason === 'number' ? reason : undefined };
      }),
    };
    if (r.status === 409 || (result.stored.length === 0 && result.failed.length > 0)) {
      const reasons = [...new Set(result.failed.map((f) => (f.reason !== undefined ? `0x${f.reason.toString(16).toUpperCase()}` : '?')))].join(', ');
      throw new SgusError(ErrorCode.SinkFailure, `the PACS stored none of ${objects.length} object${objects.length === 1 ? '' : 's'} (failure reason ${reasons || 'not given'})`, { where: this.#where(path), fatal: false });
    }
    return result;
  }

  /** Nothing to free (fetch keeps no connection we own); later calls fail. Safe to call twice. */
  close(): void {
    this.#closed = true;
  }

  async #searchJson(path: string): Promise<DicomJson[]> {
    const r = await this.#request(path, { headers: { accept: 'application/dicom+json' } });
    const text = await this.#text(r, path);
    // 204 No Content (or an empty body) is an empty result.
    if (r.status === 204 || text.trim() === '') return [];
    try {
      const list = JSON.parse(text) as unknown;
      if (!Array.isArray(list)) throw new Error('not an array');
      return list as DicomJson[];
    } catch (err) {
      throw new SgusError(ErrorCode.ProtocolError, `the PACS's QIDO-RS answer is not DICOM JSON (${describeError(err)})`, { where: this.#where(path), fatal: false });
    }
  }

  #where(path: string): string {
    return `PACS ${this.url}${path.split('?')[0]}`;
  }

  async #request(path: string, init: { method?: string; headers?: Record<string, string>; body?: Buffer }, okStatuses: number[] = []): Promise<Response> {
    if (this.#closed) throw new SgusError(ErrorCode.InvalidArgument, 'PACS client is closed', { where: this.url });
    const headers: Record<string, string> = { ...init.headers };
    if (this.#auth !== undefined) headers.authorization = this.#auth;
    const where = this.#where(path);
    let r: Response;
    try {
      r = await fetch(`${this.url}${path}`, { method: init.method ?? 'GET', headers, ...(init.body !== undefined ? { body: init.body } : {}), signal: AbortSignal.timeout(this.#timeoutMs) });
    } catch (err) {
      throw networkError(err, where, this.#timeoutMs);
    }
    if (r.ok || okStatuses.includes(r.status)) return r;
    await r.body?.cancel().catch(() => undefined);
    if (r.status === 401) throw new SgusError(ErrorCode.AccessDenied, 'the PACS refused the user name or password (HTTP 401); check SGUS_PACS_USER / SGUS_PACS_PASSWORD', { where: `PACS ${this.url}` });
    if (r.status === 403) throw new SgusError(ErrorCode.AccessDenied, 'the PACS denies this user access (HTTP 403)', { where });
    if (r.status === 404) throw new SgusError(ErrorCode.SourceFailure, 'not found on the PACS (HTTP 404): wrong DICOMweb root or UID?', { where, fatal: false });
    throw new SgusError(ErrorCode.SourceFailure, `the PACS answered HTTP ${r.status} ${r.statusText}`.trim(), { where, fatal: false });
  }

  async #body(r: Response, path: string): Promise<ArrayBuffer> {
    try {
      return await r.arrayBuffer();
    } catch (err) {
      throw networkError(err, this.#where(path), this.#timeoutMs);
    }
  }

  async #text(r: Response, path: string): Promise<string> {
    return Buffer.from(await this.#body(r, path)).toString('utf8');
  }
}

/** A UID as a path segment (UIDs are digits and dots; anything else is a caller's mistake). */
function uid(v: string): string {
  if (!/^[0-9.]{1,64}$/.test(v)) throw new SgusError(ErrorCode.InvalidArgument, `'${v}' is not a DICOM UID (digits and dots)`);
  return v;
}

function networkError(err: unknown, where: string, timeoutMs: number): SgusError {
  const e = err as { name?: string; cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return new SgusError(ErrorCode.SourceFailure, `no answer from the PACS within ${timeoutMs} ms`, { where, fatal: false, cause: err });
  const code = e.cause?.code;
  const text = code === 'ECONNREFUSED' ? 'connection refused (is the PACS running?)' : code === 'ENOTFOUND' ? 'host not found' : (e.cause?.message ?? describeError(err));
  return new SgusError(ErrorCode.SourceFailure, `cannot reach the PACS: ${text}`, { where, fatal: false, cause: err });
}
