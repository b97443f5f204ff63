/**
 * Access checks shared by the page, /metrics and the WebSocket: the token (query `token`, header
 * `Authorization: Bearer …` or `X-SGUS-Token`) compared in constant time, and the Origin check of
 * WebSocket upgrades (browsers always send Origin; a page on another site must not read the exam).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** The token a request presents, if any. */
export function presentedToken(req: IncomingMessage, url: URL): string | undefined {
  const q = url.searchParams.get('token');
  if (q !== null) return q;
  const auth = req.headers.authorization;
  if (typeof auth === 'string' && /^bearer\s+/i.test(auth)) return auth.replace(/^bearer\s+/i, '').trim();
  const header = req.headers['x-sgus-token'];
  if (typeof header === 'string') return header;
  return undefined;
}

/** Constant-time comparison (hashing first makes the lengths equal). */
export function tokenMatches(expected: string, given: string | undefined): boolean {
  if (given === undefined) return false;
  const a = createHash('sha256').update(expected).digest();
  const b = createHash('sha256').update(given).digest();
  return timingSafeEqual(a, b);
}

/**
 * Whether a WebSocket upgrade's Origin may connect. No Origin: a non-browser client (the token, if
 * set, still applies). `allowed` undefined: same origin only (Origin's host equals the Host header).
 * '*' in `allowed` lets any origin in.
 */
export function originAllowed(req: IncomingMessage, allowed: readonly string[] | undefined): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  if (allowed !== undefined) {
    if (allowed.includes('*')) return true;
    const norm = origin.toLowerCase().replace(/\/$/, '');
    if (allowed.some((a) => a.toLowerCase().replace(/\/$/, '') === norm)) return true;
  }
  let host: string;
  try {
    host = new URL(origin).host.toLowerCase();
  } catch {
    return false;
  }
  return typeof req.headers.host === 'string' && req.headers.host.toLowerCase() === host;
}
