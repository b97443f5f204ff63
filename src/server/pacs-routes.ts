/**
 * The PACS browser's HTTP routes (`sgus serve --pacs`), behind the page's token (http-routes.ts
 * checks it first). The server queries the PACS with its own credentials; the browser never sees
 * them, nor the PACS's address.
 *   GET  /pacs/studies?patient=ID&date=YYYYMMDD[-YYYYMMDD]   US studies (QIDO-RS), newest first
 *   GET  /pacs/studies/<study>/series                        its US series with their instances
 *   POST /pacs/open?study=S&series=E&instance=I              retrieve (WADO-RS) and play it as stream 'pacs'
 * UIDs are checked to be UIDs (digits and dots, at most 64) before anything reaches the PACS: no
 * part of a request becomes a URL of its own.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { describeError } from '../errors.js';
import type { PacsSeriesRow, PacsStudyRow } from '../shared/pacs-wire.js';
import type { HostAllowlist } from './host-allowlist.js';

export type { PacsSeriesRow, PacsStudyRow } from '../shared/pacs-wire.js';

/** The PACS side the routes use; `sgus serve --pacs` gives one on the DICOMweb client. */
export interface PacsBrowser {
  studies(q: { patientId?: string; date?: string; limit: number }): Promise<PacsStudyRow[]>;
  series(studyInstanceUid: string): Promise<PacsSeriesRow[]>;
  /** Starts playing an instance; resolves once it is retrieved and its stream is starting. */
  open(studyInstanceUid: string, seriesInstanceUid: string, sopInstanceUid: string): Promise<{ stream: string; title: string; frames: number }>;
}

export interface PacsRoutesOptions {
  browser: PacsBrowser;
  hosts: HostAllowlist;
}

/** Studies listed at most (a query with no filter on a large PACS). */
export const PACS_STUDY_LIMIT = 100;

const UID = /^[0-9]+(\.[0-9]+)*$/;
const isUid = (s: string | null | undefined): s is string => typeof s === 'string' && s.length <= 64 && UID.test(s);
const DATE = /^\d{8}(-\d{8})?$/;
const PATIENT = /^[^\\*?\u0000-\u001f]{1,64}$/;

export function isPacsPath(rawPath: string): boolean {
  return rawPath === '/pacs' || rawPath.startsWith('/pacs/');
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' }).end(JSON.stringify(body));
}

/** A PACS failure as the browser sees it: one line, the PACS's address and user left out. */
function pacsError(res: ServerResponse, err: unknown): void {
  const msg = describeError(err).replace(/https?:\/\/[^\s'")]+/g, 'the PACS');
  json(res, 502, { error: msg });
}

/** Answers one (authorised) request to a PACS route. */
export async function handlePacsRequest(req: IncomingMessage, res: ServerResponse, rawPath: string, url: URL, o: PacsRoutesOptions): Promise<void> {
  const method = req.method ?? 'GET';
  if (method === 'POST') {
    // A page of another origin must not make this server open exams, even with the token.
    if (req.headers.origin !== undefined && !o.hosts.allowsOrigin(req.headers.origin)) return json(res, 403, { error: 'origin not allowed' });
    if (rawPath !== '/pacs/open') return json(res, 404, { error: 'no such route' });
    const [study, series, instance] = ['study', 'series', 'instance'].map((k) => url.searchParams.get(k));
    if (!isUid(study) || !isUid(series) || !isUid(instance)) return json(res, 400, { error: 'study, series and instance must be DICOM UIDs (digits and dots, at most 64)' });
    try {
      return json(res, 200, await o.browser.open(study, series, instance));
    } catch (err) {
      return pacsError(res, err);
    }
  }
  if (method !== 'GET') {
    res.writeHead(405, { Allow: 'GET, POST', 'Content-Type': 'text/plain' }).end('method not allowed\n');
    return;
  }
  if (rawPath === '/pacs/studies') {
    const patient = url.searchParams.get('patient') ?? '';
    const date = url.searchParams.get('date') ?? '';
    if (patient !== '' && !PATIENT.test(patient)) return json(res, 400, { error: 'patient: at most 64 characters, no wildcards or control characters' });
    if (date !== '' && !DATE.test(date)) return json(res, 400, { error: 'date: YYYYMMDD or YYYYMMDD-YYYYMMDD' });
    try {
      const studies = await o.browser.studies({ ...(patient !== '' ? { patientId: patient } : {}), ...(date !== '' ? { date } : {}), limit: PACS_STUDY_LIMIT });
      return json(res, 200, { studies });
    } catch (err) {
      return pacsError(res, err);
    }
  }
  const m = /^\/pacs\/studies\/([^/]+)\/series$/.exec(rawPath);
  if (m !== null) {
    const study = decodeURIComponent(m[1]!);
    if (!isUid(study)) return json(res, 400, { error: 'study must be a DICOM UID' });
    try {
      return json(res, 200, { series: await o.browser.series(study) });
    } catch (err) {
      return pacsError(res, err);
    }
  }
  return json(res, 404, { error: 'no such route' });
}
