/**
 * The viewer hub: one HTTP server (the web viewer's files, /metrics, /healthz: http-routes.ts) and a
 * WebSocket endpoint (/ws, protocol in web-viewer/PROTOCOL.md) that fans the pipeline's frames out
 * to many browsers. It implements the pipeline's `ViewerHubPort`; every call returns at once. Each
 * viewer is a `ViewerSession` with its own bounded queue: a slow viewer drops its own frames and, for
 * H.264, waits for the next key frame before it gets video again; nobody else notices. Per stream,
 * `VideoContinuity` keeps the H.264 pictures decodable and `FallbackPictures` serves viewers without
 * an H.264 decoder.
 *
 * Near 500 lines: the hub's `ViewerHubPort` methods and its setters (calibration, replay control,
 * recordings, PACS) are one object's surface; routes, sessions, continuity, fallback, recordings,
 * options and metrics live in their own files.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';
import { ErrorCode, SgusError, describeError } from '../errors.js';
import type { Frame, FrameResult, StreamInfo, StreamMetrics, StreamStateDetail, StreamStateKind, ViewerHubPort } from '../pipeline/frame.js';
import { CloseCode, PROTOCOL_VERSION } from '../shared/protocol.js';
import type { ControlMessage, ServerMessage, SubscribeMessage, WireCalibration, WirePlayback } from '../shared/protocol.js';
import { AreaSeries } from './area-series.js';
import type { ReplayControlHandler } from './replay-control.js';
import { controlRefusal } from './replay-control.js';
import type { PacsBrowser } from './pacs-routes.js';
import { TypedEmitter } from '../typed-emitter.js';
import { FrameRecords } from './frame-records.js';
import { healthReply } from './health.js';
import { HostAllowlist } from './host-allowlist.js';
import { HubMetrics } from './hub-metrics.js';
import { HttpRoutes, refuseUpgradeEarly, upgradeRefusal } from './http-routes.js';
import { FallbackPictures } from './jpeg-fallback.js';
import { Recordings } from './recordings.js';
import { StreamStates, placeholderStream } from './stream-states.js';
import { VideoContinuity } from './video-continuity.js';
import { listen, resolveViewerServerOptions } from './viewer-server-options.js';
import type { ResolvedViewerServerOptions, ViewerServerOptions } from './viewer-server-options.js';
import { ViewerSession } from './viewer-session.js';
import type { ViewerInfo } from './viewer-session.js';
import { frameHeader, toWireMetrics, toWireStream } from './wire-mapping.js';

export { VIEWER_SERVER_DEFAULTS } from './viewer-server-options.js';
export type { ViewerServerOptions } from './viewer-server-options.js';
export type { ViewerInfo } from './viewer-session.js';

export interface ViewerServerEvents {
  'viewer-connected': [viewer: ViewerInfo];
  'viewer-disconnected': [viewer: ViewerInfo, code: number, reason: string];
  /** Non-fatal problems (a viewer's socket failed, a file could not be read). */
  error: [error: SgusError];
}


interface StreamState {
  info: StreamInfo;
  live: boolean;
  endReason: string | undefined;
  metrics: StreamMetrics | undefined;
  framesPublished: number;
  video: VideoContinuity;
  /** JPEG pictures for its viewers without the stream's codec; made when first needed. */
  fallback: FallbackPictures | undefined;
  /** Replay controls: frames read before the last seek / play (an older epoch) are not shown. */
  epoch: number;
}

function streamState(info: StreamInfo, video: VideoContinuity, metrics: StreamMetrics | undefined): StreamState {
  return { info, live: true, endReason: undefined, metrics, framesPublished: 0, video, fallback: undefined, epoch: 0 };
}

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

  readonly #o: ResolvedViewerServerOptions;
  readonly #http: Server | HttpsServer;
  readonly #wss: WebSocketServer;
  readonly #hosts: HostAllowlist;
  readonly #streams = new Map<string, StreamState>();
  readonly #viewers = new Set<ViewerSession>();
  readonly #keepAlive: NodeJS.Timeout;
  readonly #states: StreamStates;
  readonly #records = new FrameRecords();
  readonly #calibrations = new Map<string, WireCalibration>();
  readonly #areas = new AreaSeries();
  #control: ReplayControlHandler | undefined;
  #pacs: PacsBrowser | undefined;
  readonly #metrics: HubMetrics;
  readonly #recordings: Recordings;
  #model: string;
  #engine: string;
  #device: string;
  #nextViewerId = 1;
  #closed: Promise<void> | undefined;

  private constructor(http: Server | HttpsServer, port: number, o: ResolvedViewerServerOptions) {
    super();
    this.#o = o;
    this.#http = http;
    this.host = o.host;
    this.port = port;
    this.#hosts = new HostAllowlist({ ...o.allowlist, port });
    this.#model = o.model;
    this.#engine = o.engine;
    this.#device = o.device;
    this.#states = new StreamStates({ stallAfterS: o.stallAfterS, onChange: (m) => this.#broadcast(m) });
    this.#metrics = new HubMetrics({
      viewers: () => this.#viewers.size,
      streams: () => [...this.#streams.values()].map((s) => ({ id: s.info.id, framesPublished: s.framesPublished, videoGaps: s.video.gaps })),
      pipeline: o.streamMetrics ?? (() => [...this.#streams.values()].flatMap((s) => (s.metrics !== undefined ? [s.metrics] : []))),
      pipelineText: o.metricsText,
    });
    const urlHost = o.host === '0.0.0.0' || o.host === '::' ? '127.0.0.1' : o.host.includes(':') ? `[${o.host}]` : o.host;
    this.url = `${o.tls !== undefined ? 'https' : 'http'}://${urlHost}:${port}/`;
    this.printableUrl = this.url + (o.token !== undefined ? '?token=<your token>' : '');
    // The hard cap only guards memory; anything above maxMessageBytes is answered with an error frame.
    this.#wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: Math.max(64 * 1024, o.maxMessageBytes * 4) });
    this.#recordings = new Recordings({
      ...(o.recordingsDir !== undefined ? { dir: o.recordingsDir } : {}),
      ...(o.recordingMaxSeconds !== undefined ? { maxSeconds: o.recordingMaxSeconds } : {}),
      ...(o.recordingMaxBytes !== undefined ? { maxBytes: o.recordingMaxBytes } : {}),
      onError: (message) => this.#reportError(new SgusError(ErrorCode.SinkFailure, message, { fatal: false, where: 'recordings' })),
    });
    const routes = new HttpRoutes({
      recordings: {
        recordings: this.#recordings,
        start: (streamId) => {
          const s = this.#streams.get(streamId);
          return s === undefined || !s.live ? undefined : this.#recordings.start(streamId, s.info.fps);
        },
      },
      hosts: this.#hosts,
      token: o.token,
      staticDir: o.staticDir,
      health: () => healthReply(this.#states.health(), this.#viewers.size),
      metrics: () => this.#metrics.render(),
      areas: (streamId) => this.#areas.get(streamId),
      frameRecord: (streamId, index) => this.#records.get(streamId, index, this.#calibrations.get(streamId)),
      pacs: () => this.#pacs,
      onError: (err) => this.#reportError(err),
    });
    http.on('request', (req, res) => {
      routes.handle(req, res).catch((err: unknown) => {
        this.#reportError(new SgusError(ErrorCode.SinkFailure, `HTTP request failed: ${describeError(err)}`, { fatal: false, where: req.url ?? '' }));
        if (!res.headersSent) res.writeHead(500).end();
        else res.destroy();
      });
    });
    http.on('upgrade', (req, socket, head) => this.#onUpgrade(req, socket, head));
    this.#keepAlive = setInterval(() => {
      for (const v of this.#viewers) v.heartbeat();
    }, o.keepAliveSeconds * 1000);
    this.#keepAlive.unref();
  }

  /** Starts listening; rejects with a fatal SgusError when the port is taken or an option is bad. */
  static async start(options: ViewerServerOptions = {}): Promise<ViewerServer> {
    const resolved = resolveViewerServerOptions(options);
    const { http, port } = await listen(resolved);
    return new ViewerServer(http, port, resolved);
  }

  // ---------------------------------------------------------------- ViewerHubPort

  addStream(info: StreamInfo): void {
    const prev = this.#streams.get(info.id);
    prev?.fallback?.close();
    this.#recordings.streamEnded(info.id);
    const state = streamState(info, new VideoContinuity(prev?.video.parameterSets), prev?.metrics);
    this.#streams.set(info.id, state);
    // A restarted stream (a looped replay) counts its frames from 0 again.
    this.#records.reset(info.id);
    this.#states.opened(info.id, info.kind, info.fps);
    if (this.#control !== undefined && info.kind === 'replay') this.#states.setPlayback(info.id, { paused: false, speed: 1, index: 0, pts: 0 }, true);
    for (const v of this.#viewers) if (v.streamId === info.id) v.rejoin();
    this.#broadcast({ type: 'stream-added', stream: this.#wireStream(state) });
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
    const state = streamState(info, new VideoContinuity(), undefined);
    this.#streams.set(info.id, state);
    this.#broadcast({ type: 'stream-added', stream: this.#wireStream(state) });
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
    this.#areas.add(frame.streamId, frame.index, frame.pts, result.area);
    this.#states.frame(frame.streamId);
    // Read before a viewer moved the replay: segmented (kept above), no longer to be shown.
    if ((frame.epoch ?? 0) < stream.epoch) return;
    // Pictures of frames dropped before this one go out first, in index order.
    if (frame.view?.codec === 'h264') for (const held of stream.video.takeHeld(frame.index)) this.#publish(stream, held, undefined);
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
    if (stream === undefined || frame.view?.codec !== 'h264' || (frame.epoch ?? 0) < stream.epoch) return;
    stream.video.hold(frame);
  }

  publishMetrics(metrics: StreamMetrics): void {
    const stream = this.#streams.get(metrics.streamId);
    if (stream !== undefined) stream.metrics = metrics;
    if (metrics.model !== '') this.#model = metrics.model;
    if (metrics.engine !== '') this.#engine = metrics.engine;
    if (metrics.device !== '') this.#device = metrics.device;
    const message = JSON.stringify({ type: 'metrics', metrics: toWireMetrics(metrics) } satisfies ServerMessage);
    for (const v of this.#viewers) v.sendIfRoom(message);
  }

  endStream(streamId: string, reason: string): void {
    const stream = this.#streams.get(streamId);
    if (stream !== undefined) {
      stream.live = false;
      stream.endReason = reason;
      stream.video.clear();
      stream.fallback?.close();
      stream.fallback = undefined;
      this.#recordings.streamEnded(streamId);
      this.#states.set(streamId, 'ended', { reason });
    }
    this.#broadcast({ type: 'stream-ended', streamId, reason });
  }

  /**
   * A replay's playback moved (a control, or by itself: held at the file's end): every viewer is
   * told. Only the wire's fields go out (a source's playback also carries its epoch).
   */
  setPlayback(streamId: string, playback: WirePlayback): void {
    if (this.#streams.get(streamId)?.live !== true) return;
    this.#states.setPlayback(streamId, { paused: playback.paused, speed: playback.speed, index: playback.index, pts: playback.pts });
  }

  /**
   * Beyond `ViewerHubPort`: the PACS the page may browse and open loops from (`sgus serve --pacs`,
   * /pacs routes). Without one, those routes answer 404.
   */
  setPacsBrowser(browser: PacsBrowser | undefined): void {
    this.#pacs = browser;
  }

  /**
   * Beyond `ViewerHubPort`: who carries out viewers' replay controls (the session: the pipeline's
   * source). Without one, controls are refused.
   */
  setReplayControl(handler: ReplayControlHandler | undefined): void {
    this.#control = handler;
    // Streams listed before (a probed file starts at once): now they say they can be controlled.
    if (handler === undefined) return;
    for (const st of this.#streams.values()) {
      if (st.info.kind === 'replay' && st.live && this.#states.status(st.info.id)?.playback === undefined) this.#states.setPlayback(st.info.id, { paused: false, speed: 1, index: 0, pts: 0 });
    }
  }

  // ---------------------------------------------------------------- inspection

  /** The connected viewers (copies). */
  viewers(): ViewerInfo[] {
    return [...this.#viewers].map((v) => v.info);
  }

  /** Closes every socket and the HTTP server; safe to call twice (the second call gets the same promise). */
  close(): Promise<void> {
    if (this.#closed !== undefined) return this.#closed;
    clearInterval(this.#keepAlive);
    this.#states.close();
    for (const s of this.#streams.values()) s.fallback?.close();
    for (const v of this.#viewers) v.close(CloseCode.GoingAway, 'server shutting down');
    const recordings = this.#recordings.close();
    this.#closed = new Promise<void>((resolve) => {
      // Give the close frames a moment, then cut whatever is left so close() cannot hang.
      setTimeout(() => {
        for (const v of this.#viewers) v.terminate();
        this.#wss.close();
        this.#http.close(() => void recordings.then(() => resolve()));
        this.#http.closeAllConnections();
      }, this.#viewers.size > 0 ? 50 : 0);
    });
    return this.#closed;
  }

  // ---------------------------------------------------------------- fan-out

  /** Sends one frame to the stream's viewers: `result` undefined for a picture without overlay. */
  #publish(stream: StreamState, frame: Frame, result: FrameResult | undefined): void {
    let view = frame.view;
    let video: Uint8Array | undefined;
    if (view !== undefined && view.codec === 'h264') {
      // A late (out-of-order) picture is useless to a decoder; after a lost one, the deltas that
      // follow cannot be decoded right, so every viewer of the stream waits for the next key frame.
      const admitted = stream.video.admit(frame.index, view.key, view.data);
      if (admitted.late) {
        view = undefined;
      } else {
        if (admitted.broken) {
          for (const v of this.#viewers) if (v.streamId === frame.streamId) v.lostPicture();
          // Its decoder lost a picture too: its next pictures would be wrong, or matched to the wrong frame.
          stream.fallback?.reset();
        }
        video = admitted.video;
      }
    } else if (view !== undefined) {
      video = view.data;
    }
    if (this.#recordings.recording(frame.streamId)) {
      if (view?.codec === 'h264' && video !== undefined) this.#recordings.video(frame.streamId, video, view.key, frame.sourceWidth, frame.sourceHeight, result);
      else if (result !== undefined) this.#recordings.frame(result);
    }
    const targets: ViewerSession[] = [];
    const fallbackTargets: ViewerSession[] = [];
    for (const v of this.#viewers) {
      if (!v.watches(frame.streamId)) continue;
      if (frame.view !== undefined && view === undefined) continue; // a late H.264 picture: nothing to show
      if (view === undefined || v.decodes(view.codec)) targets.push(v);
      else fallbackTargets.push(v);
    }
    // Nobody needs the fallback pictures any more: stop decoding them.
    if (fallbackTargets.length === 0 && stream.fallback?.transcoding === true) stream.fallback.reset();
    if (targets.length === 0 && fallbackTargets.length === 0) return;

    const header = frameHeader(frame, view, result, stream.info);
    const isH264 = view !== undefined && view.codec === 'h264';
    if (fallbackTargets.length > 0) {
      const fallback = this.#fallbackOf(stream);
      if (isH264 && video !== undefined) fallback.fromVideo(video, header.key, header, result !== undefined);
      else if (result !== undefined) fallback.fromPixels(result.frame.full ?? result.frame.pixels, header, fallbackTargets);
    }
    for (const v of targets) v.offerFrame(header, video, isH264);
  }

  #fallbackOf(stream: StreamState): FallbackPictures {
    const id = stream.info.id;
    stream.fallback ??= new FallbackPictures({
      fps: this.#o.fallbackJpegFps,
      quality: this.#o.fallbackJpegQuality,
      longSide: this.#o.fallbackJpegLongSide,
      viewers: () => [...this.#viewers].filter((v) => v.watches(id) && !v.decodes('h264')),
      onError: (message) => this.#reportError(new SgusError(ErrorCode.SinkFailure, message, { fatal: false, where: `stream ${id}` })),
    });
    return stream.fallback;
  }

  #wireStream(s: StreamState): ReturnType<typeof toWireStream> {
    return toWireStream(s.info, s.live, this.#states.status(s.info.id), this.#calibrations.get(s.info.id));
  }

  #broadcast(message: ServerMessage): void {
    const text = JSON.stringify(message);
    for (const v of this.#viewers) v.sendText(text);
  }

  #reportError(err: SgusError): void {
    // An 'error' event without a listener would throw; a hub must keep serving.
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }

  // ---------------------------------------------------------------- WebSocket

  #onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (refuseUpgradeEarly(req, socket, this.#hosts, this.#closed !== undefined)) return;
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      const refusal = upgradeRefusal(req, this.#hosts, this.#o.token);
      if (refusal !== undefined) ws.close(refusal.code, refusal.reason);
      else if (this.#viewers.size >= this.#o.maxViewers) ws.close(1013, 'too many viewers, try again later');
      else this.#addViewer(ws, req);
    });
  }

  #addViewer(ws: WebSocket, req: IncomingMessage): void {
    const viewer: ViewerSession = new ViewerSession(ws, {
      id: this.#nextViewerId++,
      remote: `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`,
      maxQueueBytes: this.#o.maxViewerQueueBytes,
      maxQueueFrames: this.#o.maxViewerQueueFrames,
      maxMessageBytes: this.#o.maxMessageBytes,
      onSubscribe: (m) => this.#subscribe(viewer, m),
      onControl: (m) => this.#onControl(viewer, m),
      onDropped: () => this.#metrics.frameDropped(),
      onBytesSent: (bytes) => this.#metrics.bytesSent(bytes),
      onError: (err) => this.#reportError(err),
      onClose: (code, reason) => {
        if (this.#viewers.delete(viewer)) this.emit('viewer-disconnected', viewer.info, code, reason);
      },
    });
    this.#viewers.add(viewer);
    viewer.send({
      type: 'hello',
      protocol: PROTOCOL_VERSION,
      server: 'sgus-live',
      streams: [...this.#streams.values()].map((s) => this.#wireStream(s)),
      model: this.#model,
      engine: this.#engine,
      device: this.#device,
      serverTs: Date.now(),
      limits: { maxMessageBytes: this.#o.maxMessageBytes },
    });
    this.emit('viewer-connected', viewer.info);
  }

  /** A viewer's replay control: refused with one error to that viewer, or done for all viewers of the stream. */
  #onControl(viewer: ViewerSession, m: ControlMessage): void {
    const stream = this.#streams.get(m.streamId);
    const refusal = controlRefusal(m, stream === undefined ? undefined : { kind: stream.info.kind, live: stream.live }, this.#control !== undefined);
    if (refusal !== undefined) {
      viewer.sendError(refusal.code, refusal.message);
      return;
    }
    const refused = this.#applyControl(stream!, { action: m.action, ...(m.t !== undefined ? { t: m.t } : {}), ...(m.speed !== undefined ? { speed: m.speed } : {}), ...(m.frames !== undefined ? { frames: m.frames } : {}) });
    if (refused !== undefined) viewer.sendError('control-refused', refused);
  }

  /** Has the stream's source carry out a control and tells every viewer the new playback; why not, if refused. */
  #applyControl(s: StreamState, command: Parameters<ReplayControlHandler>[1]): string | undefined {
    let state;
    try {
      state = this.#control!(s.info.id, command);
    } catch (err) {
      return describeError(err);
    }
    if (state.epoch > s.epoch) {
      // FFmpeg restarted elsewhere in the file: a new H.264 stream, every viewer waits for its key frame.
      s.epoch = state.epoch;
      s.video = new VideoContinuity(s.video.parameterSets);
      s.fallback?.reset();
      for (const v of this.#viewers) if (v.streamId === s.info.id) v.rejoin();
    }
    this.setPlayback(s.info.id, state);
    return undefined;
  }

  #subscribe(viewer: ViewerSession, message: SubscribeMessage): void {
    const stream = this.#streams.get(message.streamId);
    if (stream === undefined) {
      viewer.sendError('unknown-stream', `no stream ${JSON.stringify(message.streamId.slice(0, 60))}`);
      return;
    }
    viewer.subscribe(message.streamId, message.codecs);
    viewer.send({ type: 'subscribed', streamId: message.streamId });
    // A paused replay sends nothing a newcomer could decode: show its frame again, from a key frame, to everyone.
    const playback = this.#states.status(message.streamId)?.playback;
    if (playback?.paused === true && stream.live && this.#control !== undefined) this.#applyControl(stream, { action: 'seek', t: playback.pts });
    if (stream.metrics !== undefined) viewer.send({ type: 'metrics', metrics: toWireMetrics(stream.metrics) });
    if (!stream.live) viewer.send({ type: 'stream-ended', streamId: message.streamId, reason: stream.endReason ?? 'ended' });
  }
}
