/**
 * The token check shared by the page, /metrics and the WebSocket: the token (query `token`, header
 * `Authorization: Bearer …` or `X-SGUS-Token`) compared in constant time. Which Host and Origin may
 * reach the server at all is `host-allowlist.ts`.
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
