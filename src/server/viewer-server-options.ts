/**
 * The viewer hub's options: their defaults, the checks `ViewerServer.start` makes before it listens,
 * and the listening HTTP(S) server.
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { ErrorCode, SgusError, describeError } from '../errors.js';
import type { StreamMetrics } from '../pipeline/frame.js';
import { PACKAGE_ROOT } from '../segmenter/model-registry.js';
import { HostAllowlist, exposureProblem } from './host-allowlist.js';
import { JPEG_FALLBACK_DEFAULTS } from './jpeg-fallback.js';
import { RECORDINGS_DEFAULTS } from './recordings.js';

/** The defaults the CLI's --help shows; `ViewerServer.start` applies them. */
export const VIEWER_SERVER_DEFAULTS = {
  host: '127.0.0.1',
  port: 8080,
  maxViewers: 64,
  /** Long side of the JPEG fallback pictures, px; 0 = the source's size. */
  fallbackLongSide: JPEG_FALLBACK_DEFAULTS.longSide,
  /** Most JPEG fallback pictures a second (each viewer's rate adapts below it). */
  fallbackFps: 10,
  /** Folder of the viewers' recordings (relative to the working directory). */
  recordingsDir: RECORDINGS_DEFAULTS.dir,
  recordingMaxSeconds: RECORDINGS_DEFAULTS.maxSeconds,
  recordingMaxBytes: RECORDINGS_DEFAULTS.maxBytes,
} as const;

export interface ViewerServerOptions {
  /** Interface to listen on. Default '127.0.0.1' (this machine only); '0.0.0.0' opens it to the network. */
  host?: string;
  /** TCP port. Default 8080; 0 picks a free port (read it back from `port` / `url`). */
  port?: number;
  /**
   * Token required for the page, /metrics and the WebSocket (query `?token=`, `Authorization: Bearer`
   * or `X-SGUS-Token`). Default `process.env.SGUS_TOKEN`; undefined or '' means no token.
   */
  token?: string | undefined;
  /**
   * Listen beyond loopback (`host` not 127.x / ::1 / localhost) without a token. Default false: such
   * a start is refused, as anyone on the network could watch the exams.
   */
  insecure?: boolean;
  /**
   * Host names (`name` for any port, or `name:port`) that requests may name in their Host header
   * besides the loopback names and `host` (on 0.0.0.0 / ::, this machine's addresses): e.g. the name
   * a reverse proxy or the ward's DNS gives the server. Any other Host is answered 421 (DNS
   * rebinding). Default none.
   */
  allowedHosts?: readonly string[] | undefined;
  /**
   * Origins (e.g. 'https://ward.example') whose pages may open the WebSocket besides the allowed
   * hosts' own. Default none. '*' allows any origin (rely on the token then).
   */
  allowedOrigins?: readonly string[] | undefined;
  /**
   * Serve HTTPS and WSS with this PEM certificate (chain) and key. Default: plain HTTP (loopback, or
   * behind a TLS reverse proxy).
   */
  tls?: { cert: string | Buffer; key: string | Buffer } | undefined;
  /** Largest message a viewer may send, bytes; bigger ones get an error frame. Default 4096. */
  maxMessageBytes?: number;
  /** A viewer whose socket holds more than this many unsent bytes drops frames. Default 4 MiB. */
  maxViewerQueueBytes?: number;
  /** A viewer with this many frames not yet written to its socket drops frames. Default 8. */
  maxViewerQueueFrames?: number;
  /** Most viewers at once; more are closed with 1013. Default 64. */
  maxViewers?: number;
  /** Folder served at '/': index.html, style.css, dist/viewer.js. Default web-viewer/ in the package root. */
  staticDir?: string;
  /**
   * The pipeline's figures for GET /metrics, read at every scrape (e.g. `() => pipeline.metrics()`).
   * Default: the last figures `publishMetrics` gave for each stream.
   */
  streamMetrics?: (() => readonly StreamMetrics[]) | undefined;
  /**
   * Deprecated (use `streamMetrics`): Prometheus text that stands in for the pipeline's families in
   * GET /metrics. Default none.
   */
  metricsText?: (() => string | Promise<string>) | undefined;
  /** Model, engine and device named in `hello` before the first metrics arrive. Default '' (unknown). */
  model?: string;
  engine?: string;
  device?: string;
  /** Seconds between WebSocket pings that find dead viewers. Default 15. */
  keepAliveSeconds?: number;
  /**
   * Most JPEG pictures a second the hub sends viewers that cannot decode the stream's H.264 (no
   * WebCodecs). For an H.264 stream the hub's own FFmpeg decodes the stream and encodes the pictures
   * at the source size (src/server/jpeg-fallback.ts); for a stream without video, from the frame's
   * pixels. Default 10; 0 disables.
   */
  fallbackJpegFps?: number;
  /** Quality 1–100 of those JPEG pictures. Default 85 (`JPEG_FALLBACK_DEFAULTS.quality`): the scanner's text stays legible. */
  fallbackJpegQuality?: number;
  /** Long side of those pictures, px; 0 = the source's size. Default 0 (`JPEG_FALLBACK_DEFAULTS.longSide`). */
  fallbackJpegLongSide?: number;
  /**
   * Seconds without a frame before a flowing stream is announced 'stalled' (at least 3 frame
   * periods). Default `STALL_WATCHDOG_DEFAULTS.stallAfterS` (2, src/server/stall-watchdog.ts).
   */
  stallAfterS?: number;
  /**
   * Folder the viewers' recordings (key r) are written to; the server names the files. Default
   * `RECORDINGS_DEFAULTS.dir` ('sgus-recordings' in the working directory).
   */
  recordingsDir?: string;
  /** Longest recording, s; it stops there. Default `RECORDINGS_DEFAULTS.maxSeconds` (600). */
  recordingMaxSeconds?: number;
  /** Largest recording, bytes; it stops there. Default `RECORDINGS_DEFAULTS.maxBytes` (1 GiB). */
  recordingMaxBytes?: number;
}

/** The options with every default applied, checked. */
export type ResolvedViewerServerOptions = ViewerServerOptions &
  Required<Pick<ViewerServerOptions, 'host' | 'port' | 'maxMessageBytes' | 'maxViewerQueueBytes' | 'maxViewerQueueFrames' | 'maxViewers' | 'staticDir' | 'keepAliveSeconds' | 'fallbackJpegFps' | 'fallbackJpegQuality' | 'fallbackJpegLongSide' | 'model' | 'engine' | 'device'>> & {
    /** What the host allowlist is built from (with the port actually listened on). */
    allowlist: { listenHost: string; tls: boolean; extraHosts: readonly string[]; extraOrigins: readonly string[] };
  };

/** Applies the defaults and checks every option; throws a fatal SgusError saying which is wrong. */
export function resolveViewerServerOptions(options: ViewerServerOptions): ResolvedViewerServerOptions {
  const host = options.host ?? VIEWER_SERVER_DEFAULTS.host;
  const port = options.port ?? VIEWER_SERVER_DEFAULTS.port;
  const where = `viewer server ${host}:${port}`;
  if (options.fallbackJpegFps !== undefined && !(options.fallbackJpegFps >= 0)) {
    throw new SgusError(ErrorCode.InvalidArgument, `fallbackJpegFps must be >= 0, got ${options.fallbackJpegFps}`, { where });
  }
  if (options.fallbackJpegQuality !== undefined && !(options.fallbackJpegQuality >= 1 && options.fallbackJpegQuality <= 100)) {
    throw new SgusError(ErrorCode.InvalidArgument, `fallbackJpegQuality must be 1–100, got ${options.fallbackJpegQuality}`, { where });
  }
  if (options.fallbackJpegLongSide !== undefined && !(Number.isInteger(options.fallbackJpegLongSide) && options.fallbackJpegLongSide >= 0)) {
    throw new SgusError(ErrorCode.InvalidArgument, `fallbackJpegLongSide must be an integer >= 0 (0: source size), got ${options.fallbackJpegLongSide}`, { where });
  }
  if (options.stallAfterS !== undefined && !(options.stallAfterS > 0 && Number.isFinite(options.stallAfterS))) {
    throw new SgusError(ErrorCode.InvalidArgument, `stallAfterS must be > 0 seconds, got ${options.stallAfterS}`, { where });
  }
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new SgusError(ErrorCode.InvalidArgument, `port must be an integer 0–65535, got ${port}`, { where });
  }
  const positive = (name: string, v: number | undefined, d: number): number => {
    const x = v ?? d;
    if (!Number.isFinite(x) || x <= 0) throw new SgusError(ErrorCode.InvalidArgument, `${name} must be > 0, got ${x}`, { where });
    return x;
  };
  const token = options.token !== undefined ? options.token : process.env['SGUS_TOKEN'];
  const noToken = token === undefined || token === '';
  const exposure = exposureProblem(host, !noToken, options.insecure === true);
  if (exposure !== undefined) throw new SgusError(ErrorCode.InvalidArgument, exposure, { where });
  // Checked before listening, so that a bad --allowed-host / --allowed-origin never opens a port.
  const allowlistOptions = { listenHost: host, tls: options.tls !== undefined, extraHosts: options.allowedHosts ?? [], extraOrigins: options.allowedOrigins ?? [] };
  new HostAllowlist({ ...allowlistOptions, port });
  return {
    ...options,
    host,
    port,
    token: noToken ? undefined : token,
    maxMessageBytes: positive('maxMessageBytes', options.maxMessageBytes, 4096),
    maxViewerQueueBytes: positive('maxViewerQueueBytes', options.maxViewerQueueBytes, 4 * 1024 * 1024),
    maxViewerQueueFrames: positive('maxViewerQueueFrames', options.maxViewerQueueFrames, 8),
    maxViewers: positive('maxViewers', options.maxViewers, VIEWER_SERVER_DEFAULTS.maxViewers),
    keepAliveSeconds: positive('keepAliveSeconds', options.keepAliveSeconds, 15),
    fallbackJpegFps: options.fallbackJpegFps ?? VIEWER_SERVER_DEFAULTS.fallbackFps,
    fallbackJpegQuality: options.fallbackJpegQuality ?? JPEG_FALLBACK_DEFAULTS.quality,
    fallbackJpegLongSide: options.fallbackJpegLongSide ?? VIEWER_SERVER_DEFAULTS.fallbackLongSide,
    staticDir: path.resolve(options.staticDir ?? path.join(PACKAGE_ROOT, 'web-viewer')),
    model: options.model ?? '',
    engine: options.engine ?? '',
    device: options.device ?? '',
    allowlist: allowlistOptions,
  };
}

/** Creates the HTTP (or, with `tls`, HTTPS) server and listens; rejects with a fatal SgusError. */
export async function listen(o: ResolvedViewerServerOptions): Promise<{ http: Server | HttpsServer; port: number }> {
  const where = `viewer server ${o.host}:${o.port}`;
  let http: Server | HttpsServer;
  if (o.tls !== undefined) {
    try {
      http = createHttpsServer({ cert: o.tls.cert, key: o.tls.key });
    } catch (err) {
      // OpenSSL's own words ("error:1E08010C:DECODER routines::unsupported") help nobody.
      const why = /mismatch/i.test(describeError(err)) ? 'the key does not belong to the certificate' : 'not a PEM certificate and private key';
      throw new SgusError(ErrorCode.InvalidArgument, `cannot serve HTTPS: ${why}`, { where, cause: err });
    }
  } else {
    http = createServer();
  }
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => {
      reject(new SgusError(ErrorCode.SinkFailure, `cannot listen: ${describeError(err)}`, { where, cause: err }));
    };
    http.once('error', onError);
    http.listen(o.port, o.host, () => {
      http.off('error', onError);
      resolve();
    });
  });
  return { http, port: (http.address() as AddressInfo).port };
}
