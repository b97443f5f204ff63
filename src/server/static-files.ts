/**
 * Serving the viewer's files (web-viewer/) without path traversal: the request path is decoded once,
 * refused if any segment is '..' or it holds a backslash / NUL / dot-file segment, resolved under the
 * root, re-checked to be inside the root (symlinks included), and only known file types are served.
 */
import { realpath, stat } from 'node:fs/promises';
import path from 'node:path';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
};

export type StaticLookup =
  | { ok: true; file: string; contentType: string; size: number }
  | { ok: false; status: 400 | 403 | 404; reason: string };

/**
 * Maps the raw path of a request (before any URL normalisation, which would silently resolve '..')
 * to a file under `root`. `/` maps to index.html.
 */
export async function lookupStatic(root: string, rawPath: string): Promise<StaticLookup> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(rawPath);
  } catch {
    return { ok: false, status: 400, reason: 'bad percent-encoding' };
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return { ok: false, status: 400, reason: 'bad character in path' };
  const segments = decoded.split('/').filter((s) => s.length > 0);
  if (segments.some((s) => s === '..' || s === '.')) return { ok: false, status: 403, reason: 'path traversal refused' };
  if (segments.some((s) => s.startsWith('.'))) return { ok: false, status: 404, reason: 'not found' };
  if (segments.length === 0) segments.push('index.html');
  const contentType = CONTENT_TYPES[path.extname(segments[segments.length - 1]!).toLowerCase()];
  if (contentType === undefined) return { ok: false, status: 404, reason: 'not found' };
  const rootReal = await realpath(root).catch(() => path.resolve(root));
  const candidate = path.resolve(rootReal, ...segments);
  if (!candidate.startsWith(rootReal + path.sep)) return { ok: false, status: 403, reason: 'path traversal refused' };
  const real = await realpath(candidate).catch(() => undefined);
  if (real === undefined) return { ok: false, status: 404, reason: 'not found' };
  if (!real.startsWith(rootReal + path.sep)) return { ok: false, status: 403, reason: 'path traversal refused' };
  const info = await stat(real).catch(() => undefined);
  if (info === undefined || !info.isFile()) return { ok: false, status: 404, reason: 'not found' };
  return { ok: true, file: real, contentType, size: info.size };
}
