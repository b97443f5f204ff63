/**
 * The viewer hub: one HTTP server (the web viewer's files, /metrics, /healthz) and a WebSocket
 * endpoint (/ws, protocol in web-viewer/PROTOCOL.md) that fans the pipeline's frames out to many
 * browsers. It implements the pipeline's `ViewerHubPort`; every call returns at once. Each viewer has
 * its own bounded queue (ws bufferedAmount + frames in flight): a slow viewer drops its own frames
 * and, for H.264, waits for the next key frame before it gets video again; nobody else notices.
 */
import { createReadStream } from 'node:fs';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import type { RawData } from 'ws';
import { encodeJpegRgb } from '../core/image-io.js';
import type { RgbImage } from '../core/image.js';
import { ErrorCode, SgusError, describeError } from '../errors.js';
import type { Frame, FrameResult, StreamInfo, StreamMetrics, StreamStateDetail, StreamStateKind, ViewerHubPort } from '../pipeline/frame.js';
import { PACKAGE_ROOT } from '../segmenter/model-registry.js';
import { TypedEmitter } from '../typed-emitter.js';
import { presentedToken, tokenMatches } from './access.js';
import { HostAllowlist, exposureProblem } from './host-allowlist.js';
import { ParameterSetCache } from '../shared/h264-annexb.js';
import { CloseCode, PROTOCOL_VERSION, encodeFrameMessage, parseClientMessage, simplifyCollinear } from '../shared/protocol.js';
import type { FrameHeader, ServerMessage, VideoCodec, WireCalibration, WireContour, WireMetrics, WireStream, WireStreamStatus } from '../shared/protocol.js';
import { FrameRecords, parseFramePath } from './frame-records.js';
import { JPEG_FALLBACK_DEFAULTS, JpegFallback, fallbackSize } from './jpeg-fallback.js';
import { lookupStatic } from './static-files.js';
import { healthReply } from './health.js';
import { StreamStates, placeholderStream } from './stream-states.js';

/** The defaults the CLI's --help shows; `ViewerServer.start` applies them. */
export const VIEWER_SERVER_DEFAULTS = {
  host: '127.0.0.1',
  port: 8080,
  maxViewers: 64,
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
  /** Renders the Prometheus text for GET /metrics (the pipeline's renderPrometheus). Default: the hub renders its own from publishMetrics data. */
  metricsText?: (() => string) | undefined;
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
}

/** What the hub knows about one connected viewer. */
export interface ViewerInfo {
  id: number;
  remote: string;
  /** Stream it is subscribed to, if any. */
  streamId: string | undefined;
  framesSent: number;
  framesDropped: number;
  bytesSent: number;
}

export interface ViewerServerEvents {
  'viewer-connected': [viewer: ViewerInfo];
  'viewer-disconnected': [viewer: ViewerInfo, code: number, reason: string];
  /** Non-fatal problems (a viewer's socket failed, a file could not be read). */
  error: [error: SgusError];
}

interface ViewerState {
  info: ViewerInfo;
  ws: WebSocket;
  /** Frames handed to ws.send whose callback has not run yet. */
  inFlight: number;
  /** What it can decode (subscribe's `codecs`). */
  codecs: ReadonlySet<VideoCodec>;
  /** H.264: the viewer lost frames (or just subscribed) and must start again at a key frame. */
  needKey: boolean;
  /** Just subscribed, nothing sent yet: frames skipped until the first key frame are not "dropped". */
  joining: boolean;
  messages: number;
  messagesWindowStart: number;
}

interface StreamState {
  info: StreamInfo;
  live: boolean;
  endReason: string | undefined;
  parameterSets: ParameterSetCache;
  metrics: StreamMetrics | undefined;
  framesPublished: number;
  /** When the last fallback JPEG was made (performance.now()). */
  lastFallbackMs: number;
  /** Index of the last H.264 picture published (-1: none yet). */
  lastVideoIndex: number;
  /** Decodes the H.264 into JPEG pictures while the stream has viewers without an H.264 decoder. */
  fallback: JpegFallback<FallbackTag> | undefined;
  /** Pictures of dropped frames (publishVideo) waiting for the next published frame. */
  held: Map<number, Frame>;
  /** H.264 pictures missing from (or out of order in) what the pipeline published. */
  videoGaps: number;
}

/** What a fallback picture is sent with: its frame's header; `overlay` false for pictures shown only for decoding. */
interface FallbackTag {
  header: Omit<FrameHeader, 'dropped' | 'sentTs'>;
  overlay: boolean;
}

const MAX_MESSAGES_PER_SECOND = 50;
/** Pictures of dropped frames held per stream (about 2.5 s at 25 fps); older ones are forgotten. */
const MAX_HELD_PICTURES = 64;
const ALL_CODECS: ReadonlySet<VideoCodec> = new Set<VideoCodec>(['h264', 'jpeg']);

function toWireStream(s: StreamState, status: WireStreamStatus | undefined, calibration: WireCalibration | undefined): WireStream {
  const w: WireStream = {
    id: s.info.id,
    title: s.info.title,
    kind: s.info.kind,
    width: s.info.width,
    height: s.info.height,
    fps: s.info.fps,
    codec: s.info.codec,
    live: s.live,
  };
  if (s.info.codecString !== undefined) w.codecString = s.info.codecString;
  if (status !== undefined) w.status = status;
  if (calibration !== undefined) w.calibration = calibration;
  return w;
}

function toWireMetrics(m: StreamMetrics): WireMetrics {
  return {
    streamId: m.streamId,
    framesIn: m.framesIn,
    framesOut: m.framesOut,
    dropped: m.dropped,
    fpsIn: m.fpsIn,
    fpsOut: m.fpsOut,
    e2eP50: m.latency.e2e.p50,
    e2eP95: m.latency.e2e.p95,
    model: m.model,
    engine: m.engine,
    device: m.device,
  };
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

/** The answer to a Host this server was not configured for (DNS rebinding, or a missing --allowed-host). */
const HOST_REFUSED = 'host not allowed: this server answers only to the names it was started for (add one with --allowed-host NAME)';

const UNAUTHORIZED_PAGE = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>SGUS Live: token required</title>
<style>body{font:24px system-ui,sans-serif;background:#111;color:#eee;margin:3em}</style></head>
<body><h1>Access denied</h1><p>This viewer needs a valid token: add it to the address printed by <code>sgus</code>
(<code>?token=</code> followed by the token), or ask whoever runs the server for it.</p></body></html>`;

export class ViewerServer extends TypedEmitter<ViewerServerEvents> implements ViewerHubPort {
  /** The viewer page's address, never with the token (append `?token=` to open a guarded server). */
  readonly url: string;
  /**
   * The address to print for people: `url`, plus `?token=<your token>` when a token is required,
   * which says where the token goes without writing it to a terminal or log.
   */
  readonly printableUrl: string;
  /** The port actually listened on. */
  readonly port: number;
  readonly host: string;

  readonly #http: Server | HttpsServer;
  readonly #wss: WebSocketServer;
  readonly #token: string | undefined;
  readonly #hosts: HostAllowlist;
  readonly #maxMessageBytes: number;
  readonly #maxQueueBytes: number;
  readonly #maxQueueFrames: number;
  readonly #maxViewers: number;
  readonly #staticDir: string;
  readonly #metricsText: (() => string) | undefined;
  readonly #fallbackJpegFps: number;
  readonly #fallbackJpegQuality: number;
  readonly #fallbackJpegLongSide: number;
  readonly #streams = new Map<string, StreamState>();
  readonly #viewers = new Set<ViewerState>();
  readonly #keepAlive: NodeJS.Timeout;
  readonly #alive = new WeakMap<WebSocket, boolean>();
  readonly #states: StreamStates;
  readonly #records = new FrameRecords();
  readonly #calibrations = new Map<string, WireCalibration>();
  #model: string;
  #engine: string;
  #device: string;
  #nextViewerId = 1;
  #closed: Promise<void> | undefined;
  #totalDropped = 0;
  #totalBytes = 0;

  private constructor(http: Server | HttpsServer, hosts: HostAllowlist, host: string, port: number, options: Required<Pick<ViewerServerOptions, 'maxMessageBytes' | 'maxViewerQueueBytes' | 'maxViewerQueueFrames' | 'maxViewers' | 'staticDir' | 'keepAliveSeconds' | 'model' | 'engine' | 'device'>> & ViewerServerOptions) {
    super();
    this.#http = http;
    this.host = host;
    this.port = port;
    this.#token = options.token;
    this.#hosts = hosts;
    this.#maxMessageBytes = options.maxMessageBytes;
    this.#maxQueueBytes = options.maxViewerQueueBytes;
    this.#maxQueueFrames = options.maxViewerQueueFrames;
    this.#maxViewers = options.maxViewers;
    this.#staticDir = path.resolve(options.staticDir);
    this.#metricsText = options.metricsText;
    this.#fallbackJpegFps = options.fallbackJpegFps ?? 10;
    this.#fallbackJpegQuality = options.fallbackJpegQuality ?? JPEG_FALLBACK_DEFAULTS.quality;
    this.#fallbackJpegLongSide = options.fallbackJpegLongSide ?? JPEG_FALLBACK_DEFAULTS.longSide;
    this.#model = options.model;
    this.#engine = options.engine;
    this.#device = options.device;
    this.#states = new StreamStates({ stallAfterS: options.stallAfterS, onChange: (m) => this.#broadcast(m) });
    const urlHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
    this.url = `${options.tls !== undefined ? 'https' : 'http'}://${urlHost}:${port}/`;
    this.printableUrl = this.url + (this.#token !== undefined ? '?token=<your token>' : '');
    // The hard cap only guards memory; anything above maxMessageBytes is answered with an error frame.
    this.#wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: Math.max(64 * 1024, options.maxMessageBytes * 4) });
    http.on('request', (req, res) => {
      this.#onRequest(req, res).catch((err: unknown) => {
        this.#reportError(new SgusError(ErrorCode.SinkFailure, `HTTP request failed: ${describeError(err)}`, { fatal: false, where: req.url ?? '' }));
        if (!res.headersSent) res.writeHead(500).end();
        else res.destroy();
      });
    });
    http.on('upgrade', (req, socket, head) => this.#onUpgrade(req, socket, head));
    this.#keepAlive = setInterval(() => this.#pingAll(), options.keepAliveSeconds * 1000);
    this.#keepAlive.unref();
  }

  /** Starts listening; rejects with a fatal SgusError when the port is taken or an option is bad. */
  static async start(options: ViewerServerOptions = {}): Promise<ViewerServer> {
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
    const resolved = {
      ...options,
      token: noToken ? undefined : token,
      maxMessageBytes: positive('maxMessageBytes', options.maxMessageBytes, 4096),
      maxViewerQueueBytes: positive('maxViewerQueueBytes', options.maxViewerQueueBytes, 4 * 1024 * 1024),
      maxViewerQueueFrames: positive('maxViewerQueueFrames', options.maxViewerQueueFrames, 8),
      maxViewers: positive('maxViewers', options.maxViewers, VIEWER_SERVER_DEFAULTS.maxViewers),
      keepAliveSeconds: positive('keepAliveSeconds', options.keepAliveSeconds, 15),
      fallbackJpegFps: options.fallbackJpegFps ?? 10,
      fallbackJpegQuality: options.fallbackJpegQuality ?? JPEG_FALLBACK_DEFAULTS.quality,
      staticDir: options.staticDir ?? path.join(PACKAGE_ROOT, 'web-viewer'),
      model: options.model ?? '',
      engine: options.engine ?? '',
      device: options.device ?? '',
    };
    let http: Server | HttpsServer;
    if (options.tls !== undefined) {
      try {
        http = createHttpsServer({ cert: options.tls.cert, key: options.tls.key });
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
      http.listen(port, host, () => {
        http.off('error', onError);
        resolve();
      });
    });
    const actualPort = (http.address() as AddressInfo).port;
    return new ViewerServer(http, new HostAllowlist({ ...allowlistOptions, port: actualPort }), host, actualPort, resolved);
  }

  // ---------------------------------------------------------------- ViewerHubPort

  addStream(info: StreamInfo): void {
    const prev = this.#streams.get(info.id);
    const state: StreamState = {
      info,
      live: true,
      endReason: undefined,
      parameterSets: prev?.parameterSets ?? new ParameterSetCache(),
      metrics: prev?.metrics,
      framesPublished: 0,
      lastFallbackMs: -Infinity,
      lastVideoIndex: -1,
      fallback: undefined,
      videoGaps: 0,
      held: new Map(),
    };
    prev?.fallback?.close();
    this.#streams.set(info.id, state);
    // A restarted stream (a looped replay) counts its frames from 0 again.
    this.#records.reset(info.id);
    this.#states.opened(info.id, info.kind, info.fps);
    for (const v of this.#viewers) {
      if (v.info.streamId !== info.id) continue;
      v.needKey = true;
      v.joining = true;
    }
    this.#broadcast({ type: 'stream-added', stream: toWireStream(state, this.#states.status(info.id), this.#calibrations.get(info.id)) });
  }

  /**
   * Beyond `ViewerHubPort`: a configured stream whose source has not opened yet (`sgus serve`), so
   * that viewers and /healthz list it as down ('starting') instead of not at all.
   */
  expectStream(id: string, title: string, kind: 'replay' | 'live'): void {
    if (this.#streams.has(id)) return;
    this.#states.expect(id, kind);
    this.#listPlaceholder(placeholderStream(id, title, kind));
  }

  /**
   * Beyond `ViewerHubPort`: the pixel size of a stream's source as the user gave it (`--mm-per-px`, a
   * preset's `mmPerPx`), sent to viewers with the stream so they show mm and cm². Call it before the
   * stream is listed; undefined forgets it (figures in pixels).
   */
  setCalibration(streamId: string, calibration: WireCalibration | undefined): void {
    if (calibration === undefined) {
      this.#calibrations.delete(streamId);
      return;
    }
    if (!(calibration.mmPerPxX > 0 && calibration.mmPerPxY > 0 && Number.isFinite(calibration.mmPerPxX) && Number.isFinite(calibration.mmPerPxY))) {
      throw new SgusError(ErrorCode.InvalidArgument, `calibration must be > 0 mm per pixel, got ${calibration.mmPerPxX} x ${calibration.mmPerPxY}`, { where: `stream ${streamId}` });
    }
    this.#calibrations.set(streamId, { ...calibration });
  }

  setStreamState(streamId: string, state: StreamStateKind, detail: StreamStateDetail): void {
    // A source that never opened (lost before its first frame) is still listed, as down.
    if (!this.#streams.has(streamId)) this.#listPlaceholder(placeholderStream(streamId, streamId, state === 'replay' ? 'replay' : 'live'));
    this.#states.set(streamId, state, detail);
  }

  #listPlaceholder(info: StreamInfo): void {
    this.#streams.set(info.id, {
      info, live: true, endReason: undefined, parameterSets: new ParameterSetCache(), metrics: undefined, framesPublished: 0,
      lastFallbackMs: -Infinity, lastVideoIndex: -1, fallback: undefined, videoGaps: 0, held: new Map(),
    });
    this.#broadcast({ type: 'stream-added', stream: toWireStream(this.#streams.get(info.id)!, this.#states.status(info.id), this.#calibrations.get(info.id)) });
  }

  publishFrame(result: FrameResult): void {
    const frame = result.frame;
    let stream = this.#streams.get(frame.streamId);
    if (stream === undefined) {
      // The pipeline should call addStream first; be forgiving rather than lose the stream.
      this.addStream({
        id: frame.streamId,
        title: frame.streamId,
        kind: 'live',
        width: frame.sourceWidth,
        height: frame.sourceHeight,
        fps: 0,
        codec: frame.view?.codec ?? 'jpeg',
        ...(frame.view?.codecString !== undefined ? { codecString: frame.view.codecString } : {}),
      });
      stream = this.#streams.get(frame.streamId)!;
    }
    stream.framesPublished++;
    this.#records.add(result);
    this.#states.frame(frame.streamId);
    // Pictures of frames dropped before this one go out first, in index order.
    if (frame.view?.codec === 'h264' && stream.held.size > 0) this.#flushHeld(stream, frame.index);
    this.#publish(stream, frame, result);
  }

  /**
   * Beyond `ViewerHubPort`: the picture of a frame the pipeline dropped before segmenting it (live
   * mode, stale or superseded). H.264 pictures reference the previous one, so viewers need every
   * picture to decode the next; such pictures are held until the next published frame and sent just
   * before it, in index order, marked `noOverlay` (viewers decode them but show only pictures with
   * their own outline). JPEG pictures stand alone and are ignored. Never blocks.
   */
  publishVideo(frame: Frame): void {
    const stream = this.#streams.get(frame.streamId);
    const view = frame.view;
    if (stream === undefined || view === undefined || view.codec !== 'h264') return;
    if (frame.index <= stream.lastVideoIndex) {
      stream.videoGaps++; // too late: the pictures after it went out already
      return;
    }
    stream.held.set(frame.index, frame);
    if (stream.held.size > MAX_HELD_PICTURES) {
      const oldest = Math.min(...stream.held.keys());
      stream.held.delete(oldest);
    }
  }

  #flushHeld(stream: StreamState, before: number): void {
    const due = [...stream.held.keys()].filter((k) => k < before).sort((a, b) => a - b);
    for (const k of due) {
      const f = stream.held.get(k)!;
      stream.held.delete(k);
      this.#publish(stream, f, undefined);
    }
  }

  /** Sends one frame to the stream's viewers: `result` undefined for a picture without overlay. */
  #publish(stream: StreamState, frame: Frame, result: FrameResult | undefined): void {
    let view = frame.view;
    let video: Uint8Array | undefined;
    if (view !== undefined && view.codec === 'h264') {
      // Each H.264 picture references the previous one: after a frame the pipeline dropped (live
      // mode, corrupt input), the deltas that follow cannot be decoded right, so every viewer of the
      // stream waits for the next key frame. A late (out-of-order) picture is useless to a decoder.
      const last = stream.lastVideoIndex;
      if (last >= 0 && frame.index <= last) {
        stream.videoGaps++;
        view = undefined;
      } else {
        if (last >= 0 && frame.index !== last + 1 && !view.key) {
          stream.videoGaps++;
          for (const v of this.#viewers) if (v.info.streamId === frame.streamId) v.needKey = true;
          // Its decoder lost a picture too: its next pictures would be wrong, or matched to the wrong frame.
          stream.fallback?.reset();
        }
        stream.lastVideoIndex = frame.index;
        video = stream.parameterSets.prepare(view.data, view.key);
      }
    } else if (view !== undefined) {
      video = view.data;
    }
    const targets: ViewerState[] = [];
    const fallbackTargets: ViewerState[] = [];
    for (const v of this.#viewers) {
      if (v.info.streamId !== frame.streamId || v.ws.readyState !== WebSocket.OPEN) continue;
      if (frame.view !== undefined && view === undefined) continue; // a late H.264 picture: nothing to show
      if (view === undefined || v.codecs.has(view.codec)) targets.push(v);
      else fallbackTargets.push(v);
    }
    // Nobody needs the fallback pictures any more: stop decoding them.
    if (fallbackTargets.length === 0 && stream.fallback?.running === true) stream.fallback.reset();
    if (targets.length === 0 && fallbackTargets.length === 0) return;

    const contours: WireContour[] = (result?.contours ?? []).map((c) => {
      const flat: number[] = new Array<number>(c.points.length * 2);
      for (let i = 0; i < c.points.length; i++) {
        flat[2 * i] = c.points[i]![0];
        flat[2 * i + 1] = c.points[i]![1];
      }
      return { points: simplifyCollinear(flat), hole: c.hole };
    });
    const header: Omit<FrameHeader, 'dropped' | 'sentTs'> = {
      streamId: frame.streamId,
      index: frame.index,
      pts: frame.pts,
      captureTs: frame.captureTs,
      doneTs: result?.doneTs ?? frame.captureTs,
      codec: view?.codec ?? stream.info.codec,
      width: view?.width ?? frame.sourceWidth,
      height: view?.height ?? frame.sourceHeight,
      key: view?.key ?? false,
      sourceWidth: frame.sourceWidth,
      sourceHeight: frame.sourceHeight,
      contours,
      area: result?.area ?? 0,
    };
    if (result === undefined) header.noOverlay = true;
    const codecString = view?.codecString ?? stream.info.codecString;
    if (codecString !== undefined) header.codecString = codecString;
    const isH264 = view !== undefined && view.codec === 'h264';
    const isKey = view?.key ?? false;
    if (fallbackTargets.length > 0) {
      if (isH264 && video !== undefined) this.#transcodeFallback(stream, video, isKey, header, result !== undefined);
      else if (result !== undefined) this.#sendFallback(stream, result, header, fallbackTargets);
    }

    for (const v of targets) {
      const congested = v.ws.bufferedAmount > this.#maxQueueBytes || v.inFlight >= this.#maxQueueFrames;
      const waitingForKey = isH264 && v.needKey && !isKey;
      if (congested || waitingForKey) {
        if (!(v.joining && !congested)) {
          v.info.framesDropped++;
          this.#totalDropped++;
        }
        if (isH264) v.needKey = true;
        continue;
      }
      if (isH264) v.needKey = false;
      v.joining = false;
      this.#sendFrame(v, encodeFrameMessage({ ...header, dropped: v.info.framesDropped, sentTs: Date.now() }, video));
    }
  }

  /** Feeds the stream's H.264 picture to its JPEG fallback decoder; its pictures go out in #sendFallbackPicture. */
  #transcodeFallback(stream: StreamState, video: Uint8Array, key: boolean, header: Omit<FrameHeader, 'dropped' | 'sentTs'>, overlay: boolean): void {
    if (this.#fallbackJpegFps <= 0) return;
    stream.fallback ??= new JpegFallback<FallbackTag>({
      longSide: this.#fallbackJpegLongSide,
      quality: this.#fallbackJpegQuality,
      onPicture: (jpeg, tag) => this.#sendFallbackPicture(stream, jpeg, tag),
      onError: (message) => this.#reportError(new SgusError(ErrorCode.SinkFailure, message, { fatal: false, where: `stream ${stream.info.id}` })),
    });
    stream.fallback.push(video, key, header.width, header.height, { header, overlay });
  }

  #sendFallbackPicture(stream: StreamState, jpeg: Buffer, tag: FallbackTag): void {
    if (!tag.overlay || this.#streams.get(stream.info.id) !== stream) return;
    const now = performance.now();
    const viewers = [...this.#viewers].filter((v) => v.info.streamId === stream.info.id && v.ws.readyState === WebSocket.OPEN && !v.codecs.has('h264'));
    if (viewers.length === 0) return;
    if (now - stream.lastFallbackMs < 1000 / this.#fallbackJpegFps - 1) {
      for (const v of viewers) v.info.framesDropped++;
      return;
    }
    stream.lastFallbackMs = now;
    const size = fallbackSize(tag.header.width, tag.header.height, this.#fallbackJpegLongSide);
    const base = { ...tag.header, codec: 'jpeg' as const, width: size.width, height: size.height, key: true };
    delete (base as { codecString?: string }).codecString;
    for (const v of viewers) {
      if (v.ws.bufferedAmount > this.#maxQueueBytes || v.inFlight >= this.#maxQueueFrames) {
        v.info.framesDropped++;
        this.#totalDropped++;
        continue;
      }
      this.#sendFrame(v, encodeFrameMessage({ ...base, dropped: v.info.framesDropped, sentTs: Date.now() }, jpeg));
    }
  }

  /** JPEG pictures made here for viewers that cannot decode the stream's codec, at most fallbackJpegFps. */
  #sendFallback(stream: StreamState, result: FrameResult, header: Omit<FrameHeader, 'dropped' | 'sentTs'>, viewers: ViewerState[]): void {
    const now = performance.now();
    const picture: RgbImage | undefined = result.frame.full ?? result.frame.pixels;
    const usable = picture !== undefined && picture.width > 1 && picture.height > 1 && picture.data.length === picture.width * picture.height * 3;
    if (this.#fallbackJpegFps <= 0 || !usable || now - stream.lastFallbackMs < 1000 / this.#fallbackJpegFps - 1) {
      for (const v of viewers) v.info.framesDropped++;
      return;
    }
    const ready = viewers.filter((v) => {
      if (v.ws.bufferedAmount > this.#maxQueueBytes || v.inFlight >= this.#maxQueueFrames) {
        v.info.framesDropped++;
        this.#totalDropped++;
        return false;
      }
      return true;
    });
    if (ready.length === 0) return;
    stream.lastFallbackMs = now;
    let jpeg: Uint8Array;
    try {
      jpeg = encodeJpegRgb(picture, this.#fallbackJpegQuality);
    } catch (err) {
      this.#reportError(new SgusError(ErrorCode.SinkFailure, `fallback JPEG failed: ${describeError(err)}`, { fatal: false, where: `stream ${stream.info.id}` }));
      return;
    }
    const base = { ...header, codec: 'jpeg' as const, width: picture.width, height: picture.height, key: true };
    delete (base as { codecString?: string }).codecString;
    for (const v of ready) this.#sendFrame(v, encodeFrameMessage({ ...base, dropped: v.info.framesDropped, sentTs: Date.now() }, jpeg));
  }

  #sendFrame(v: ViewerState, message: Uint8Array): void {
    v.inFlight++;
    v.info.framesSent++;
    v.info.bytesSent += message.byteLength;
    this.#totalBytes += message.byteLength;
    v.ws.send(message, { binary: true }, (err) => {
      v.inFlight--;
      if (err !== undefined && err !== null) this.#viewerFailed(v, err);
    });
  }

  publishMetrics(metrics: StreamMetrics): void {
    const stream = this.#streams.get(metrics.streamId);
    if (stream !== undefined) stream.metrics = metrics;
    if (metrics.model !== '') this.#model = metrics.model;
    if (metrics.engine !== '') this.#engine = metrics.engine;
    if (metrics.device !== '') this.#device = metrics.device;
    const message = JSON.stringify({ type: 'metrics', metrics: toWireMetrics(metrics) } satisfies ServerMessage);
    for (const v of this.#viewers) {
      // Metrics are small and periodic: a congested viewer simply skips one.
      if (v.ws.readyState === WebSocket.OPEN && v.ws.bufferedAmount <= this.#maxQueueBytes) v.ws.send(message);
    }
  }

  endStream(streamId: string, reason: string): void {
    const stream = this.#streams.get(streamId);
    if (stream !== undefined) {
      stream.live = false;
      stream.endReason = reason;
      stream.held.clear();
      stream.fallback?.close();
      stream.fallback = undefined;
      this.#states.set(streamId, 'ended', { reason });
    }
    this.#broadcast({ type: 'stream-ended', streamId, reason });
  }

  // ---------------------------------------------------------------- inspection

  /** The connected viewers (copies). */
  viewers(): ViewerInfo[] {
    return [...this.#viewers].map((v) => ({ ...v.info }));
  }

  /** Closes every socket and the HTTP server; safe to call twice (the second call gets the same promise). */
  close(): Promise<void> {
    if (this.#closed !== undefined) return this.#closed;
    clearInterval(this.#keepAlive);
    this.#states.close();
    for (const s of this.#streams.values()) s.fallback?.close();
    for (const v of this.#viewers) v.ws.close(CloseCode.GoingAway, 'server shutting down');
    this.#closed = new Promise<void>((resolve) => {
      // Give the close frames a moment, then cut whatever is left so close() cannot hang.
      setTimeout(() => {
        for (const v of this.#viewers) v.ws.terminate();
        this.#wss.close();
        this.#http.close(() => resolve());
        this.#http.closeAllConnections();
      }, this.#viewers.size > 0 ? 50 : 0);
    });
    return this.#closed;
  }

  // ---------------------------------------------------------------- HTTP

  async #onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = req.url ?? '/';
    const rawPath = raw.split('?')[0] ?? '/';
    const url = new URL(raw.startsWith('/') ? raw : '/', 'http://localhost');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    if (!this.#hosts.allowsHost(req.headers.host)) {
      res.writeHead(421, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' }).end(`${HOST_REFUSED}\n`);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    if (rawPath === '/healthz') {
      const { status, body } = healthReply(this.#states.health(), this.#viewers.size);
      res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' }).end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    const authorized = this.#token === undefined || tokenMatches(this.#token, presentedToken(req, url));
    if (rawPath === '/metrics') {
      if (!authorized) {
        res.writeHead(401, { 'Content-Type': 'text/plain', 'WWW-Authenticate': 'Bearer' }).end('token required\n');
        return;
      }
      const body = this.#renderMetrics();
      res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8', 'Cache-Control': 'no-store' }).end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    const framePath = parseFramePath(rawPath);
    if (framePath !== undefined) {
      // A frame's outline is exam data: behind the token like the page.
      if (!authorized) {
        res.writeHead(401, { 'Content-Type': 'text/plain', 'WWW-Authenticate': 'Bearer' }).end('token required\n');
        return;
      }
      const rec = this.#records.get(framePath.streamId, framePath.index, this.#calibrations.get(framePath.streamId));
      if (rec === undefined) {
        res.writeHead(404, { 'Content-Type': 'text/plain', 'Cache-Control': 'no-store' }).end('frame not held (only the most recent frames are)\n');
        return;
      }
      res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' }).end(req.method === 'HEAD' ? undefined : JSON.stringify(rec));
      return;
    }
    const found = await lookupStatic(this.#staticDir, rawPath);
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
      // connect-src names the allowed hosts' ws:/wss: explicitly (older browsers do not let 'self'
      // cover WebSockets), from the configuration: a request's Host header never reaches the policy.
      headers['Content-Security-Policy'] =
        `default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self' ${this.#hosts.webSocketSources().join(' ')}; object-src 'none'; base-uri 'none'; frame-ancestors 'none'`;
      headers['Cache-Control'] = 'no-store';
    }
    res.writeHead(200, headers);
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    const stream = createReadStream(found.file);
    stream.on('error', (err) => {
      this.#reportError(new SgusError(ErrorCode.FileUnreadable, `cannot read: ${describeError(err)}`, { fatal: false, where: found.file }));
      res.destroy();
    });
    stream.pipe(res);
  }

  #renderMetrics(): string {
    const lines: string[] = [];
    if (this.#metricsText !== undefined) {
      lines.push(this.#metricsText().trimEnd());
    } else {
      const gauge = (name: string, help: string, type: 'gauge' | 'counter', values: [string, number][]): void => {
        lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
        for (const [id, v] of values) lines.push(`${name}{stream="${escapeLabel(id)}"} ${Number.isFinite(v) ? v : 0}`);
      };
      const ms = [...this.#streams.values()].filter((s) => s.metrics !== undefined).map((s) => s.metrics!);
      gauge('sgus_frames_in_total', 'Frames read from the source.', 'counter', ms.map((m) => [m.streamId, m.framesIn]));
      gauge('sgus_frames_out_total', 'Frames segmented and published.', 'counter', ms.map((m) => [m.streamId, m.framesOut]));
      gauge('sgus_frames_dropped_total', 'Frames dropped by the pipeline.', 'counter', ms.map((m) => [m.streamId, m.dropped]));
      gauge('sgus_fps_out', 'Frames per second out of the pipeline.', 'gauge', ms.map((m) => [m.streamId, m.fpsOut]));
      gauge('sgus_e2e_latency_p50_ms', 'End-to-end latency, median, ms.', 'gauge', ms.map((m) => [m.streamId, m.latency.e2e.p50]));
      gauge('sgus_e2e_latency_p95_ms', 'End-to-end latency, 95th percentile, ms.', 'gauge', ms.map((m) => [m.streamId, m.latency.e2e.p95]));
    }
    // The hub's own figures, under names the pipeline does not use.
    const streams = [...this.#streams.values()];
    lines.push(
      '# HELP sgus_viewer_hub_viewers Connected viewers.',
      '# TYPE sgus_viewer_hub_viewers gauge',
      `sgus_viewer_hub_viewers ${this.#viewers.size}`,
      '# HELP sgus_viewer_hub_frames_dropped_total Frames not sent to slow viewers (all viewers together).',
      '# TYPE sgus_viewer_hub_frames_dropped_total counter',
      `sgus_viewer_hub_frames_dropped_total ${this.#totalDropped}`,
      '# HELP sgus_viewer_hub_bytes_sent_total Bytes of frame messages queued to viewers.',
      '# TYPE sgus_viewer_hub_bytes_sent_total counter',
      `sgus_viewer_hub_bytes_sent_total ${this.#totalBytes}`,
      '# HELP sgus_viewer_hub_video_gaps_total H.264 pictures missing or out of order in what the pipeline published (viewers wait for a key frame).',
      '# TYPE sgus_viewer_hub_video_gaps_total counter',
      ...streams.map((s) => `sgus_viewer_hub_video_gaps_total{stream="${escapeLabel(s.info.id)}"} ${s.videoGaps}`),
      '# HELP sgus_viewer_hub_frames_published_total Frames the pipeline published to the hub.',
      '# TYPE sgus_viewer_hub_frames_published_total counter',
      ...streams.map((s) => `sgus_viewer_hub_frames_published_total{stream="${escapeLabel(s.info.id)}"} ${s.framesPublished}`),
    );
    return lines.join('\n') + '\n';
  }

  // ---------------------------------------------------------------- WebSocket

  #onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const raw = req.url ?? '/';
    if ((raw.split('?')[0] ?? '') !== '/ws' || this.#closed !== undefined) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    socket.on('error', () => socket.destroy());
    if (!this.#hosts.allowsHost(req.headers.host)) {
      // Refused before the handshake: a rebound page must not get as far as an open socket.
      const body = `${HOST_REFUSED}\n`;
      socket.end(`HTTP/1.1 421 Misdirected Request\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
      return;
    }
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      const url = new URL(raw, 'http://localhost');
      // Refusals complete the handshake first so the browser can read the close code and reason.
      if (!this.#hosts.allowsOrigin(req.headers.origin)) {
        ws.close(CloseCode.Forbidden, 'origin not allowed');
        return;
      }
      if (this.#token !== undefined && !tokenMatches(this.#token, presentedToken(req, url))) {
        ws.close(CloseCode.Unauthorized, presentedToken(req, url) === undefined ? 'token required' : 'wrong token');
        return;
      }
      if (this.#viewers.size >= this.#maxViewers) {
        ws.close(1013, 'too many viewers, try again later');
        return;
      }
      this.#addViewer(ws, req);
    });
  }

  #addViewer(ws: WebSocket, req: IncomingMessage): void {
    const viewer: ViewerState = {
      info: {
        id: this.#nextViewerId++,
        remote: `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`,
        streamId: undefined,
        framesSent: 0,
        framesDropped: 0,
        bytesSent: 0,
      },
      ws,
      inFlight: 0,
      codecs: ALL_CODECS,
      needKey: true,
      joining: true,
      messages: 0,
      messagesWindowStart: Date.now(),
    };
    this.#viewers.add(viewer);
    this.#alive.set(ws, true);
    ws.on('pong', () => this.#alive.set(ws, true));
    ws.on('message', (data, isBinary) => this.#onMessage(viewer, data, isBinary));
    ws.on('error', (err) => this.#viewerFailed(viewer, err));
    ws.on('close', (code, reason) => {
      if (!this.#viewers.delete(viewer)) return;
      this.emit('viewer-disconnected', { ...viewer.info }, code, reason.toString());
    });
    this.#send(viewer, {
      type: 'hello',
      protocol: PROTOCOL_VERSION,
      server: 'sgus-live',
      streams: [...this.#streams.values()].map((st) => toWireStream(st, this.#states.status(st.info.id), this.#calibrations.get(st.info.id))),
      model: this.#model,
      engine: this.#engine,
      device: this.#device,
      serverTs: Date.now(),
      limits: { maxMessageBytes: this.#maxMessageBytes },
    });
    this.emit('viewer-connected', { ...viewer.info });
  }

  #onMessage(viewer: ViewerState, data: RawData, isBinary: boolean): void {
    const size = Array.isArray(data) ? data.reduce((n, b) => n + b.length, 0) : data instanceof ArrayBuffer ? data.byteLength : data.length;
    const now = Date.now();
    if (now - viewer.messagesWindowStart >= 1000) {
      viewer.messagesWindowStart = now;
      viewer.messages = 0;
    }
    if (++viewer.messages > MAX_MESSAGES_PER_SECOND) {
      if (viewer.messages === MAX_MESSAGES_PER_SECOND + 1) this.#sendError(viewer, 'rate-limited', `more than ${MAX_MESSAGES_PER_SECOND} messages a second; ignoring the rest of this second`);
      return;
    }
    if (size > this.#maxMessageBytes) {
      this.#sendError(viewer, ErrorCode.ProtocolError, `message of ${size} bytes is over the ${this.#maxMessageBytes}-byte limit`);
      return;
    }
    if (isBinary) {
      this.#sendError(viewer, ErrorCode.ProtocolError, 'viewers send JSON text messages only');
      return;
    }
    const text = Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data as ArrayBuffer).toString('utf8');
    const message = parseClientMessage(text);
    if (typeof message === 'string') {
      this.#sendError(viewer, ErrorCode.ProtocolError, message);
      return;
    }
    switch (message.type) {
      case 'ping':
        this.#send(viewer, { type: 'pong', id: message.id, clientTs: message.clientTs, serverTs: Date.now() });
        break;
      case 'subscribe': {
        const stream = this.#streams.get(message.streamId);
        if (stream === undefined) {
          this.#sendError(viewer, 'unknown-stream', `no stream ${JSON.stringify(message.streamId.slice(0, 60))}`);
          break;
        }
        viewer.info.streamId = message.streamId;
        viewer.codecs = message.codecs !== undefined ? new Set(message.codecs) : ALL_CODECS;
        viewer.needKey = true;
        viewer.joining = true;
        this.#send(viewer, { type: 'subscribed', streamId: message.streamId });
        if (stream.metrics !== undefined) this.#send(viewer, { type: 'metrics', metrics: toWireMetrics(stream.metrics) });
        if (!stream.live) this.#send(viewer, { type: 'stream-ended', streamId: message.streamId, reason: stream.endReason ?? 'ended' });
        break;
      }
    }
  }

  #send(viewer: ViewerState, message: ServerMessage): void {
    if (viewer.ws.readyState === WebSocket.OPEN) viewer.ws.send(JSON.stringify(message));
  }

  #sendError(viewer: ViewerState, code: string, message: string): void {
    this.#send(viewer, { type: 'error', code, message });
  }

  #broadcast(message: ServerMessage): void {
    const text = JSON.stringify(message);
    for (const v of this.#viewers) if (v.ws.readyState === WebSocket.OPEN) v.ws.send(text);
  }

  #viewerFailed(viewer: ViewerState, err: Error): void {
    this.#reportError(new SgusError(ErrorCode.SinkFailure, `viewer socket failed: ${describeError(err)}`, { fatal: false, where: `viewer ${viewer.info.id} (${viewer.info.remote})` }));
    viewer.ws.terminate();
  }

  #reportError(err: SgusError): void {
    // An 'error' event without a listener would throw; a hub must keep serving.
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }

  #pingAll(): void {
    for (const v of this.#viewers) {
      if (this.#alive.get(v.ws) === false) {
        v.ws.terminate();
        continue;
      }
      this.#alive.set(v.ws, false);
      v.ws.ping();
    }
  }
}
