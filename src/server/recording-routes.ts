/**
 * The recordings' HTTP routes, behind the page's token (http-routes.ts checks it first):
 *   GET  /recordings                 the list (JSON)
 *   POST /recordings/start?stream=S  starts recording stream S (or returns its running recording)
 *   POST /recordings/<id>/stop       stops one, answers once its file is closed
 *   GET  /recordings/<id>.mp4        downloads a finished one
 * An id is matched against the recordings made by this server: no part of a request ever becomes a
 * path, so there is nothing to traverse.
 */
import { createReadStream } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HostAllowlist } from './host-allowlist.js';
import type { RecordingInfo, Recordings } from './recordings.js';

export interface RecordingRoutesOptions {
  recordings: Recordings;
  hosts: HostAllowlist;
  /** Starts recording a stream the hub knows; undefined for an unknown stream. */
  start: (streamId: string) => RecordingInfo | undefined;
}

/** True when `rawPath` is one of the recordings' routes. */
export function isRecordingPath(rawPath: string): boolean {
  return rawPath === '/recordings' || rawPath.startsWith('/recordings/');
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' }).end(JSON.stringify(body));
}

/** Answers one (authorised) request to a recordings route. */
export async function handleRecordingRequest(req: IncomingMessage, res: ServerResponse, rawPath: string, url: URL, o: RecordingRoutesOptions): Promise<void> {
  const method = req.method ?? 'GET';
  if (method === 'POST') {
    // A page of another origin must not start or stop recordings, even with the token.
    if (req.headers.origin !== undefined && !o.hosts.allowsOrigin(req.headers.origin)) return json(res, 403, { error: 'origin not allowed' });
    if (rawPath === '/recordings/start') {
      const streamId = url.searchParams.get('stream') ?? '';
      const info = o.start(streamId);
      return info === undefined ? json(res, 404, { error: 'no such stream' }) : json(res, 200, info);
    }
    const stop = /^\/recordings\/([^/]{1,80})\/stop$/.exec(rawPath);
    if (stop !== null) {
      const info = await o.recordings.stop(stop[1]!);
      return info === undefined ? json(res, 404, { error: 'no such recording' }) : json(res, 200, info);
    }
    return json(res, 404, { error: 'no such route' });
  }
  if (method !== 'GET' && method !== 'HEAD') {
    res.writeHead(405, { Allow: 'GET, HEAD, POST', 'Content-Type': 'text/plain' }).end('method not allowed\n');
    return;
  }
  if (rawPath === '/recordings') return json(res, 200, { recordings: o.recordings.list() });
  const m = /^\/recordings\/([^/]{1,80})\.mp4$/.exec(rawPath);
  const found = m !== null ? o.recordings.fileOf(m[1]!) : undefined;
  if (found === undefined) {
    res.writeHead(404, { 'Content-Type': 'text/plain', 'Cache-Control': 'no-store' }).end('no such recording\n');
    return;
  }
  res.writeHead(200, {
    'Content-Type': 'video/mp4',
    'Content-Length': found.bytes,
    'Content-Disposition': `attachment; filename="${m![1]!}.mp4"`,
    'Cache-Control': 'no-store',
  });
  if (method === 'HEAD') {
    res.end();
    return;
  }
  const stream = createReadStream(found.file);
  stream.on('error', () => res.destroy());
  stream.pipe(res);
}
