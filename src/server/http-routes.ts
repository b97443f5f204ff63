/**
 * The hub's HTTP side: /healthz, /metrics, /frames/… (a frame's outline), and the viewer's static
 * files with their Content-Security-Policy; every route checks the Host header (DNS rebinding) and,
 * except /healthz and the page's script and style sheet, the token. The WebSocket upgrade is checked
 * here too (Host, origin, token); the hub takes the sockets that pass.
 */
import { createReadStream } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { ErrorCode, SgusError, describeError } from '../errors.js';
import { CloseCode } from '../shared/protocol.js';
import { PROMETHEUS_CONTENT_TYPE } from '../pipeline/prometheus.js';
import { presentedToken, tokenMatches } from './access.js';
import type { FrameRecord } from './frame-records.js';
import { parseFramePath } from './frame-records.js';
import type { AreaSeriesBody } from './area-series.js';
import { parseAreasPath } from './area-series.js';
import type { HostAllowlist } from './host-allowlist.js';
import { handleRecordingRequest, isRecordingPath } from './recording-routes.js';
import type { RecordingRoutesOptions } from './recording-routes.js';
import { handlePacsRequest, isPacsPath } from './pacs-routes.js';
import type { PacsBrowser } from './pacs-routes.js';
import { lookupStatic } from './static-files.js';

/** The answer to a Host this server was not configured for (DNS rebinding, or a missing --allowed-host). */
export const HOST_REFUSED = 'host not allowed: this server answers only to the names it was started for (add one with --allowed-host NAME)';

const UNAUTHORIZED_PAGE = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>SGUS Live: token required</title>
<style>body{font:24px system-ui,sans-serif;background:#111;color:#eee;margin:3em}</style></head>
<body><h1>Access denied</h1><p>This viewer needs a valid token: add it to the address printed by <code>sgus</code>
(<code>?token=</code> followed by the token), or ask whoever runs the server for it.</p></body></html>`;

export interface HttpRoutesOptions {
  /** Host and origin names the server answers to. Required. */
  hosts: HostAllowlist;
  /** Token for the page, /metrics and frames; undefined: none. Required (may be undefined). */
  token: string | undefined;
  /** Folder served at '/' (resolved). Required. */
  staticDir: string;
  /** The /healthz reply now. Required. */
  health: () => { status: number; body: string };
  /** The /metrics text now. Required. */
  metrics: () => Promise<string>;
  /** A stream's gland area per frame so far (the viewer's timeline). Default: none (404). */
  areas?: (streamId: string) => AreaSeriesBody | undefined;
  /** A held frame's record, undefined when no longer held. Required. */
  frameRecord: (streamId: string, index: number) => FrameRecord | undefined;
  /** The recordings' routes (/recordings…, behind the token). Default none (404). */
  recordings?: Omit<RecordingRoutesOptions, 'hosts'>;
  /** The PACS browser's routes (/pacs…, behind the token), read per request. Default none (404). */
  pacs?: () => PacsBrowser | undefined;
  /** A file could not be read (the request is cut). Default none. */
  onError?: (error: SgusError) => void;
}

export class HttpRoutes {
  readonly #o: HttpRoutesOptions;

  constructor(options: HttpRoutesOptions) {
    this.#o = options;
  }

  /** Answers one request; rejects only on a failure of the server itself. */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const o = this.#o;
    const raw = req.url ?? '/';
    const rawPath = raw.split('?')[0] ?? '/';
    const url = new URL(raw.startsWith('/') ? raw : '/', 'http://localhost');
    const head = req.method === 'HEAD';
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    if (!o.hosts.allowsHost(req.headers.host)) {
      res.writeHead(421, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' }).end(`${HOST_REFUSED}\n`);
      return;
    }
    const authorized = o.token === undefined || tokenMatches(o.token, presentedToken(req, url));
    const tokenRequired = (): void => {
      res.writeHead(401, { 'Content-Type': 'text/plain', 'WWW-Authenticate': 'Bearer' }).end('token required\n');
    };
    // Before the GET-only rule: starting and stopping a recording are POSTs.
    if (o.recordings !== undefined && isRecordingPath(rawPath)) {
      if (!authorized) return tokenRequired();
      return handleRecordingRequest(req, res, rawPath, url, { ...o.recordings, hosts: o.hosts });
    }
    if (rawPath === '/pacs/status') {
      // Asked by every page (whether to show its PACS panel): answered, not a 404 in the console.
      if (!authorized) return tokenRequired();
      res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' }).end(JSON.stringify({ enabled: o.pacs?.() !== undefined }));
      return;
    }
    const pacs = isPacsPath(rawPath) ? o.pacs?.() : undefined;
    if (pacs !== undefined) {
      // Exam lists and exams: behind the token like the page.
      if (!authorized) return tokenRequired();
      return handlePacsRequest(req, res, rawPath, url, { browser: pacs, hosts: o.hosts });
    }
    if (req.method !== 'GET' && !head) {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    if (rawPath === '/healthz') {
      const { status, body } = o.health();
      res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' }).end(head ? undefined : body);
      return;
    }
    if (rawPath === '/metrics') {
      if (!authorized) return tokenRequired();
      const body = await o.metrics();
      res.writeHead(200, { 'Content-Type': PROMETHEUS_CONTENT_TYPE, 'Cache-Control': 'no-store' }).end(head ? undefined : body);
      return;
    }
    const areasOf = parseAreasPath(rawPath);
    if (areasOf !== undefined) {
      // The area curve is exam data too.
      if (!authorized) return tokenRequired();
      const body = o.areas?.(areasOf);
      if (body === undefined) {
        res.writeHead(404, { 'Content-Type': 'text/plain', 'Cache-Control': 'no-store' }).end('no frame of that stream segmented yet\n');
        return;
      }
      res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' }).end(head ? undefined : JSON.stringify(body));
      return;
    }
    const framePath = parseFramePath(rawPath);
    if (framePath !== undefined) {
      // A frame's outline is exam data: behind the token like the page.
      if (!authorized) return tokenRequired();
      const rec = o.frameRecord(framePath.streamId, framePath.index);
      if (rec === undefined) {
        res.writeHead(404, { 'Content-Type': 'text/plain', 'Cache-Control': 'no-store' }).end('frame not held (only the most recent frames are)\n');
        return;
      }
      res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' }).end(head ? undefined : JSON.stringify(rec));
      return;
    }
    const found = await lookupStatic(o.staticDir, rawPath);
    if (!found.ok) {
      res.writeHead(found.status, { 'Content-Type': 'text/plain' }).end(`${found.reason}\n`);
      return;
    }
    const isPage = found.contentType.startsWith('text/html');
    // The page needs the token; the script and style sheet hold no exam data and are loaded by the
    // page without it.
    if (isPage && !authorized) {
      res.writeHead(401, { 'Content-Type': 'text/html; charset=utf-8', 'WWW-Authenticate': 'Bearer', 'Cache-Control': 'no-store' }).end(UNAUTHORIZED_PAGE);
      return;
    }
    const headers: Record<string, string | number> = { 'Content-Type': found.contentType, 'Content-Length': found.size, 'Cache-Control': 'no-cache' };
    if (isPage) {
      headers['Content-Security-Policy'] = contentSecurityPolicy(o.hosts);
      headers['Cache-Control'] = 'no-store';
    }
    res.writeHead(200, headers);
    if (head) {
      res.end();
      return;
    }
    const stream = createReadStream(found.file);
    stream.on('error', (err) => {
      o.onError?.(new SgusError(ErrorCode.FileUnreadable, `cannot read: ${describeError(err)}`, { fatal: false, where: found.file }));
      res.destroy();
    });
    stream.pipe(res);
  }
}

/**
 * The viewer page's policy. connect-src names the allowed hosts' ws:/wss: explicitly (older browsers
 * do not let 'self' cover WebSockets), from the configuration: a request's Host header never reaches it.
 * frame-ancestors 'self': the grid layout shows each stream in a frame of this same page; no other
 * site may frame it (clickjacking).
 */
export function contentSecurityPolicy(hosts: HostAllowlist): string {
  return `default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self' ${hosts.webSocketSources().join(' ')}; object-src 'none'; base-uri 'none'; frame-ancestors 'self'`;
}

/**
 * Refuses a WebSocket upgrade before the handshake: another path than /ws (or `closing`: 404), or a
 * Host not allowed (421: a rebound page must not get as far as an open socket). True when refused.
 */
export function refuseUpgradeEarly(req: IncomingMessage, socket: Duplex, hosts: HostAllowlist, closing: boolean): boolean {
  if (((req.url ?? '/').split('?')[0] ?? '') !== '/ws' || closing) {
    socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    return true;
  }
  socket.on('error', () => socket.destroy());
  if (!hosts.allowsHost(req.headers.host)) {
    const body = `${HOST_REFUSED}\n`;
    socket.end(`HTTP/1.1 421 Misdirected Request\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    return true;
  }
  return false;
}

/**
 * Why an upgraded socket is refused (origin, token), or undefined. Such refusals complete the
 * handshake first, so that the browser can read the close code and reason.
 */
export function upgradeRefusal(req: IncomingMessage, hosts: HostAllowlist, token: string | undefined): { code: number; reason: string } | undefined {
  if (!hosts.allowsOrigin(req.headers.origin)) return { code: CloseCode.Forbidden, reason: 'origin not allowed' };
  if (token === undefined) return undefined;
  const presented = presentedToken(req, new URL(req.url ?? '/', 'http://localhost'));
  if (tokenMatches(token, presented)) return undefined;
  return { code: CloseCode.Unauthorized, reason: presented === undefined ? 'token required' : 'wrong token' };
}
