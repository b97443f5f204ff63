/**
 * SGUS Live viewer: connects to the hub, picks a stream, decodes its video (WebCodecs H.264, or
 * JPEG), draws each picture with the outline of that same frame, and keeps the status bar current.
 * Protocol: web-viewer/PROTOCOL.md.
 *
 * Over 400 lines: the page's one controller (connection, stream choice, decoder, drawing, status
 * bar, keys); every panel (replay controls, timeline, snapshot, recorder, layouts, score badge, PACS)
 * is its own file and only constructed here.
 */
import { CloseCode } from '../../src/shared/protocol.js';
import type { DecodedFrame, ServerMessage, WireMetrics, WireStream } from '../../src/shared/protocol.js';
import { Connection } from './connection.js';
import type { CloseCause, ConnectionState } from './connection.js';
import { H264Decoder, JpegDecoder, hasWebCodecs } from './decoders.js';
import type { FrameDecoder, Picture, PictureSink } from './decoders.js';
import { Renderer } from './renderer.js';
import type { OverlayStyle } from './renderer.js';
import { RollingStats } from './stats.js';
import { describeStream, streamState } from './stream-status.js';
import { figuresOf, showFigures } from './figures.js';
import type { ShownFigures } from './figures.js';
import { saveSnapshot } from './snapshot.js';
import { ScoreBadge } from './score-badge.js';
import type { ViewerDebugState } from './debug-state.js';
import './clinic-extras.js';
import { PacsPanel } from './pacs-browser.js';
import { ReplayControls } from './replay-controls.js';

declare global {
  interface Window {
    __sgus: ViewerDebugState;
  }
}

function $<T extends HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (el === null) throw new Error(`viewer page lacks #${id}`);
  return el as T;
}

const SETTINGS_KEY = 'sgus-viewer-settings';

function loadStyle(): OverlayStyle {
  const style: OverlayStyle = { visible: true, color: '#00e5ff', thickness: 2.5, fillOpacity: 0.15 };
  try {
    const saved = JSON.parse(localStorage.getItem(SETTINGS_KEY) ?? '{}') as Partial<OverlayStyle>;
    if (typeof saved.visible === 'boolean') style.visible = saved.visible;
    if (typeof saved.color === 'string' && /^#[0-9a-f]{6}$/i.test(saved.color)) style.color = saved.color;
    if (typeof saved.thickness === 'number') style.thickness = saved.thickness;
    if (typeof saved.fillOpacity === 'number') style.fillOpacity = saved.fillOpacity;
  } catch {
    // Private mode or a corrupt entry: the defaults do.
  }
  return style;
}

function saveStyle(style: OverlayStyle): void {
  try {
    localStorage.setItem(SETTINGS_KEY, JSON.stringify(style));
  } catch {
    // Not fatal: settings just do not persist.
  }
}

/** The server's own close reason when it gave one ("server shutting down"), else that the link broke. */
function closedBecause(c: CloseCause): string {
  return c.byServer ? `The server closed the connection: ${c.reason}` : c.reason === 'connection lost' ? 'Connection lost' : `Connection ${c.reason}`;
}

function fmtMs(v: number | undefined): string {
  return v === undefined ? '–' : `${Math.round(v)}`;
}

class Viewer implements PictureSink {
  readonly #debug: ViewerDebugState = {
    connection: 'connecting',
    connects: 0,
    streamId: undefined,
    decoder: 'none',
    received: 0,
    decoded: 0,
    drawn: 0,
    dropped: 0,
    lastDrawnIndex: -1,
    lastDrawnStream: undefined,
    serverErrors: [],
    decodeErrors: [],
    notice: '',
    streamState: '',
    stale: false,
    snapshots: [],
    snapshotError: '',
  };
  readonly #renderer: Renderer;
  readonly #connection: Connection;
  readonly #stats = new RollingStats();
  readonly #picker = $<HTMLSelectElement>('stream-picker');
  readonly #notice = $<HTMLDivElement>('notice');
  readonly #status = $<HTMLSpanElement>('status');
  readonly #overlayToggle = $<HTMLButtonElement>('overlay-toggle');
  readonly #help = $<HTMLDivElement>('help');
  #streams: WireStream[] = [];
  #streamId: string | undefined;
  #wanted: string | undefined;
  #decoder: FrameDecoder | undefined;
  #lastIndex = -1;
  #gapDropped = 0;
  #decoderDroppedBase = 0;
  #metrics: WireMetrics | undefined;
  #model = '';
  #engine = '';
  #device = '';
  #lastFigures: ShownFigures | undefined;
  readonly #scoreBadge = new ScoreBadge();
  readonly #token: string | null;
  #connState: ConnectionState = { kind: 'connecting', attempt: 0 };
  #countdown: number | undefined;
  #h264Unsupported = false;
  #replay!: ReplayControls;

  constructor() {
    window.__sgus = this.#debug;
    // Read when asked: the curve also fills in while no picture comes (a paused or held replay).
    Object.defineProperty(this.#debug, 'timelinePoints', { enumerable: true, get: () => this.#replay?.timelinePoints });
    const params = new URLSearchParams(location.search);
    this.#wanted = params.get('stream') ?? undefined;
    const token = params.get('token');
    this.#token = token;
    const wsUrl = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws${token !== null ? `?token=${encodeURIComponent(token)}` : ''}`;
    this.#renderer = new Renderer($<HTMLCanvasElement>('video'), $<HTMLElement>('stage'), loadStyle());
    this.#bindControls();
    this.#connection = new Connection(wsUrl, {
      onState: (s) => this.#onState(s),
      onMessage: (m) => this.#onMessage(m),
      onFrame: (f) => this.#onFrame(f),
      onProtocolError: (e) => this.#debug.decodeErrors.push(`protocol: ${e}`),
    });
    this.#replay = new ReplayControls({ send: (m) => this.#connection.send(m), token, before: $<HTMLElement>('controls') });
    // `sgus serve --pacs`: a panel to open loops from the PACS (absent when the server has none).
    void PacsPanel.attach({ token, bar: $<HTMLElement>('bar'), onOpened: (id) => this.#select(id) });
    this.#connection.start();
    window.setInterval(() => this.#updateBar(), 500);
    this.#updateNotice();
  }

  // ---------------------------------------------------------------- connection

  #onState(state: ConnectionState): void {
    this.#connState = state;
    this.#debug.connection = state.kind;
    window.clearInterval(this.#countdown);
    const s = this.#status;
    s.className = 'status';
    switch (state.kind) {
      case 'connecting':
        s.textContent = state.attempt === 0 ? 'Connecting…' : `Reconnecting (attempt ${state.attempt})…`;
        s.classList.add('warn');
        break;
      case 'open':
        this.#debug.connects++;
        // The stream's own state decides the pill (#showStreamState): a connection is not "Live".
        s.textContent = 'Connected';
        break;
      case 'waiting': {
        const until = performance.now() + state.retryInMs;
        const tick = (): void => {
          const left = Math.max(0, Math.ceil((until - performance.now()) / 1000));
          s.textContent = `Disconnected: reconnecting in ${left} s`;
          this.#updateNotice();
        };
        s.classList.add('warn');
        tick();
        this.#countdown = window.setInterval(tick, 250);
        break;
      }
      case 'refused':
        // No longer authorised: do not leave the exam on screen.
        this.#renderer.clear();
        s.textContent = state.code === CloseCode.Unauthorized ? 'Access denied' : 'Refused';
        s.classList.add('bad');
        break;
    }
    this.#updateNotice();
  }

  #onMessage(m: ServerMessage): void {
    switch (m.type) {
      case 'hello':
        this.#model = m.model;
        this.#engine = m.engine;
        this.#device = m.device;
        this.#streams = m.streams;
        // The server forgot our subscription with the old socket: subscribe afresh.
        this.#streamId = undefined;
        this.#renderStreams();
        this.#chooseStream();
        break;
      case 'stream-added': {
        const i = this.#streams.findIndex((s) => s.id === m.stream.id);
        if (i >= 0) this.#streams[i] = m.stream;
        else this.#streams.push(m.stream);
        this.#renderStreams();
        if (this.#streamId === m.stream.id) {
          // The same stream started again (e.g. a replay looped): start over at its next key frame.
          this.#decoder?.reset();
          this.#lastIndex = -1;
        } else if (this.#streamId === undefined) {
          this.#chooseStream();
        }
        break;
      }
      case 'stream-ended': {
        const s = this.#streams.find((x) => x.id === m.streamId);
        if (s !== undefined) {
          s.live = false;
          (s as WireStream & { endReason?: string }).endReason = m.reason;
        }
        this.#renderStreams();
        break;
      }
      case 'stream-state': {
        const s = this.#streams.find((x) => x.id === m.streamId);
        if (s !== undefined) {
          s.status = m.status;
          if (m.status.state === 'ended') s.live = false;
        }
        this.#renderStreams();
        break;
      }
      case 'subscribed':
        break;
      case 'metrics':
        if (m.metrics.streamId === this.#streamId) this.#metrics = m.metrics;
        if (m.metrics.model !== '') this.#model = m.metrics.model;
        if (m.metrics.engine !== '') this.#engine = m.metrics.engine;
        if (m.metrics.device !== '') this.#device = m.metrics.device;
        break;
      case 'pong':
        break;
      case 'error':
        this.#debug.serverErrors.push({ code: m.code, message: m.message });
        break;
    }
    this.#replay.setStream(this.#streams.find((x) => x.id === this.#streamId));
    this.#debug.playback = this.#streams.find((x) => x.id === this.#streamId)?.status?.playback;
    this.#updateNotice();
  }

  #chooseStream(): void {
    if (this.#streams.length === 0) return;
    const flowing = (s: WireStream): boolean => streamState(s) === 'live' || streamState(s) === 'replay';
    const pick =
      this.#streams.find((s) => s.id === this.#wanted) ?? this.#streams.find(flowing) ?? this.#streams.find((s) => s.live) ?? this.#streams[0]!;
    this.#subscribe(pick.id);
  }

  #subscribe(streamId: string): void {
    this.#streamId = streamId;
    this.#debug.streamId = streamId;
    this.#picker.value = streamId;
    this.#decoder?.reset();
    this.#renderer.clear();
    this.#lastIndex = -1;
    this.#gapDropped = 0;
    this.#decoderDroppedBase = this.#decoder?.dropped ?? 0;
    this.#metrics = undefined;
    this.#lastFigures = undefined;
    this.#scoreBadge.reset();
    this.#stats.reset();
    this.#connection.send({ type: 'subscribe', streamId, codecs: hasWebCodecs() && !this.#h264Unsupported ? ['h264', 'jpeg'] : ['jpeg'] });
    this.#updateNotice();
  }

  /** The user chose a stream (picker or 1–9). */
  #select(streamId: string): void {
    this.#wanted = streamId;
    if (streamId !== this.#streamId) this.#subscribe(streamId);
  }

  // ---------------------------------------------------------------- frames

  #onFrame(f: DecodedFrame): void {
    const h = f.header;
    if (h.streamId !== this.#streamId) return;
    this.#debug.received++;
    if (this.#lastIndex >= 0 && h.index > this.#lastIndex + 1) this.#gapDropped += h.index - this.#lastIndex - 1;
    if (h.index > this.#lastIndex) this.#lastIndex = h.index;
    // A frame the pipeline did not segment: decoded for the pictures after it, not shown with an outline.
    if (h.noOverlay === true) this.#gapDropped++;
    const decoder = this.#decoderFor(h.codec);
    if (decoder === undefined) return;
    if (f.video.byteLength === 0) return; // overlay without picture: nothing to match it with
    decoder.push(f);
  }

  #decoderFor(codec: 'h264' | 'jpeg'): FrameDecoder | undefined {
    if (this.#debug.decoder === codec && this.#decoder !== undefined) return this.#decoder;
    this.#decoder?.close();
    this.#decoder = undefined;
    this.#decoderDroppedBase = 0;
    if (codec === 'h264') {
      if (!hasWebCodecs()) {
        this.#debug.decoder = 'none';
        this.#debug.notice = 'This browser cannot decode H.264 (no WebCodecs). Use a current Chrome, Edge or Safari, or ask for a JPEG stream.';
        this.#setNotice(this.#debug.notice);
        return undefined;
      }
      this.#decoder = new H264Decoder(this);
    } else {
      this.#decoder = new JpegDecoder(this);
    }
    this.#debug.decoder = codec;
    return this.#decoder;
  }

  onPicture(picture: Picture): void {
    const h = picture.header;
    // Pictures without their outline are shown only while the outline is off (never a stale outline).
    // A live view the user paused keeps its picture (replay-controls.ts).
    if (h.streamId !== this.#streamId || (h.noOverlay === true && this.#renderer.style.visible) || this.#replay.viewFrozen) {
      picture.close();
      return;
    }
    this.#renderer.show(picture);
    const now = performance.timeOrigin + performance.now();
    // The clock offset is known to ± half a ping's round trip: never report a negative latency.
    this.#stats.frameDrawn(performance.now(), Math.max(0, now + this.#connection.clockOffsetMs - h.captureTs));
    this.#debug.decoded = this.#decoder?.decoded ?? 0;
    this.#debug.drawn++;
    this.#debug.lastDrawnIndex = h.index;
    this.#debug.lastDrawnPts = h.pts;
    this.#replay.shown(h.index, h.pts);
    this.#debug.lastDrawnStream = h.streamId;
    if (h.noOverlay !== true) this.#lastFigures = figuresOf(h, this.#streams.find((x) => x.id === h.streamId)?.calibration);
    if (h.noOverlay !== true) this.#scoreBadge.update(h.score);
    if (this.#notice.dataset['kind'] === 'waiting-video') this.#updateNotice();
  }

  onDecodeError(message: string, unsupported = false): void {
    this.#debug.decodeErrors.push(message);
    if (this.#debug.decodeErrors.length > 20) this.#debug.decodeErrors.shift();
    if (unsupported && !this.#h264Unsupported && this.#streamId !== undefined) {
      // This browser has WebCodecs but not this H.264 profile: ask the hub for JPEG pictures instead.
      this.#h264Unsupported = true;
      this.#subscribe(this.#streamId);
    }
  }

  // ---------------------------------------------------------------- UI

  #renderStreams(): void {
    const picker = this.#picker;
    picker.replaceChildren(
      ...this.#streams.map((s, i) => {
        const o = document.createElement('option');
        o.value = s.id;
        o.textContent = `${i < 9 ? `${i + 1}: ` : ''}${s.title}${describeStream(s, this.#serverNow()).suffix}`;
        return o;
      }),
    );
    if (this.#streamId !== undefined) picker.value = this.#streamId;
    picker.disabled = this.#streams.length === 0;
  }

  #setNotice(text: string, kind = ''): void {
    this.#debug.notice = text;
    this.#notice.textContent = text;
    this.#notice.hidden = text === '';
    this.#notice.dataset['kind'] = kind;
  }

  /** Now on the server's clock (the clock of stream states' timestamps), ms. */
  #serverNow(): number {
    return performance.timeOrigin + performance.now() + this.#connection.clockOffsetMs;
  }

  /** The status pill and the picture's staleness, from the connection and the chosen stream's state. */
  #showStreamState(): void {
    const stream = this.#streams.find((x) => x.id === this.#streamId);
    const look = stream !== undefined ? describeStream(stream, this.#serverNow()) : undefined;
    const open = this.#connState.kind === 'open';
    // Without the hub nothing on screen is current either.
    const stale = !open || look?.stale === true;
    this.#renderer.setStale(stale);
    this.#debug.stale = stale;
    this.#debug.streamState = look?.state ?? '';
    if (!open) return;
    const s = this.#status;
    const fallback = stream?.codec === 'h264' && this.#debug.decoder === 'jpeg' && look?.stale === false;
    const text = look === undefined ? 'Connected' : fallback ? `${look.label} (JPEG fallback: no H.264 decoder here)` : look.label;
    if (s.textContent !== text) s.textContent = text;
    const cls = `status ${look?.tone ?? 'info'}`;
    if (s.className !== cls) s.className = cls;
  }

  #updateNotice(): void {
    this.#showStreamState();
    const c = this.#connState;
    if (c.kind === 'refused') {
      this.#setNotice(
        c.code === CloseCode.Unauthorized
          ? `Access denied (${c.reason || 'wrong or missing token'}). Ask for the viewer's current address with its token.`
          : `Refused by the server: ${c.reason || 'origin not allowed'}.`,
        'refused',
      );
      return;
    }
    if (c.kind === 'waiting') {
      this.#setNotice(`${closedBecause(c)}. ${this.#status.textContent ?? 'Reconnecting'}…`, 'reconnecting');
      return;
    }
    if (c.kind === 'connecting') {
      const retry = c.attempt === 0 ? 'Connecting…' : `Reconnecting (attempt ${c.attempt})…`;
      this.#setNotice(c.after !== undefined ? `${closedBecause(c.after)}. ${retry}` : retry, 'connecting');
      return;
    }
    const s = this.#streams.find((x) => x.id === this.#streamId);
    if (s === undefined) {
      this.#setNotice(this.#streams.length === 0 ? 'Waiting for a stream to start…' : 'Choose a stream.', 'no-stream');
      return;
    }
    const look = describeStream(s, this.#serverNow());
    if (look.notice !== '') {
      this.#setNotice(look.notice, look.state);
      return;
    }
    if (this.#debug.drawn === 0 || this.#debug.lastDrawnStream !== this.#streamId) {
      this.#setNotice('Waiting for video…', 'waiting-video');
      return;
    }
    this.#setNotice('');
  }

  #updateBar(): void {
    const set = (id: string, text: string): void => {
      const el = document.getElementById(id);
      if (el !== null && el.textContent !== text) el.textContent = text;
    };
    const fps = this.#stats.fps(performance.now());
    set('fps', fps > 0 ? fps.toFixed(1) : '–');
    const p50 = this.#stats.percentile(50);
    const p95 = this.#stats.percentile(95);
    set('latency', p50 === undefined || fps === 0 ? '–' : `${fmtMs(p50)} / ${fmtMs(p95)} ms`);
    const dropped = this.#gapDropped + Math.max(0, (this.#decoder?.dropped ?? 0) - this.#decoderDroppedBase);
    this.#debug.dropped = dropped;
    set('dropped', String(dropped));
    showFigures(this.#lastFigures, this.#streams.find((x) => x.id === this.#streamId)?.calibration);
    set('model', this.#model || '–');
    set('engine', this.#engine || '–');
    set('device', this.#device || '–');
    // The state's texts hold the time since the last frame: keep them current.
    this.#updateNotice();
    const m = this.#metrics;
    const fpsEl = document.getElementById('fps');
    if (fpsEl !== null) fpsEl.title = m !== undefined ? `pipeline: ${m.fpsOut.toFixed(1)} fps out, server latency p50 ${fmtMs(m.e2eP50)} ms` : '';
  }

  #bindControls(): void {
    const color = $<HTMLInputElement>('color');
    const thickness = $<HTMLInputElement>('thickness');
    const opacity = $<HTMLInputElement>('opacity');
    const style = this.#renderer.style;
    color.value = style.color;
    thickness.value = String(style.thickness);
    opacity.value = String(style.fillOpacity);
    this.#showOverlayState(style.visible);
    const apply = (patch: Partial<OverlayStyle>): void => {
      const next = { ...this.#renderer.style, ...patch };
      this.#renderer.setStyle(next);
      saveStyle(next);
    };
    color.addEventListener('input', () => apply({ color: color.value }));
    thickness.addEventListener('input', () => apply({ thickness: Number(thickness.value) }));
    opacity.addEventListener('input', () => apply({ fillOpacity: Number(opacity.value) }));
    this.#overlayToggle.addEventListener('click', () => this.#toggleOverlay());
    this.#picker.addEventListener('change', () => this.#select(this.#picker.value));
    $<HTMLButtonElement>('fullscreen').addEventListener('click', () => this.#toggleFullscreen());
    $<HTMLButtonElement>('help-button').addEventListener('click', () => (this.#help.hidden = !this.#help.hidden));
    $<HTMLButtonElement>('snapshot').addEventListener('click', () => this.#snapshot());
    window.addEventListener('keydown', (e) => {
      if (e.ctrlKey || e.metaKey || e.altKey) return;
      const t = e.target;
      if (t instanceof HTMLSelectElement || (t instanceof HTMLInputElement && t.type === 'text')) return;
      if (this.#replay.handleKey(e)) {
        e.preventDefault();
        return;
      }
      if (e.key === 'o' || e.key === 'O') this.#toggleOverlay();
      else if (e.key === 'f' || e.key === 'F') this.#toggleFullscreen();
      else if (e.key === 's' || e.key === 'S') this.#snapshot();
      else if (e.key === '?') this.#help.hidden = !this.#help.hidden;
      else if (e.key === 'Escape') this.#help.hidden = true;
      else if (/^[1-9]$/.test(e.key)) {
        const s = this.#streams[Number(e.key) - 1];
        if (s !== undefined) this.#select(s.id);
      } else return;
      e.preventDefault();
    });
  }

  /** Saves the picture on screen with its outline (PNG) and its figures (JSON). */
  #snapshot(): void {
    const picture = this.#renderer.picture;
    if (picture === undefined) {
      this.#debug.snapshotError = 'no picture on screen yet';
      return;
    }
    const stream = this.#streams.find((x) => x.id === picture.header.streamId);
    saveSnapshot({ picture, stream, style: this.#renderer.style, model: this.#model, token: this.#token }).then(
      (files) => {
        this.#debug.snapshots.push(files.baseName);
        this.#debug.snapshotError = '';
      },
      (err: unknown) => {
        this.#debug.snapshotError = err instanceof Error ? err.message : String(err);
        this.#setNotice(`Snapshot failed: ${this.#debug.snapshotError}`, 'snapshot-failed');
      },
    );
  }

  #toggleOverlay(): void {
    const visible = !this.#renderer.style.visible;
    const next = { ...this.#renderer.style, visible };
    this.#renderer.setStyle(next);
    saveStyle(next);
    this.#showOverlayState(visible);
  }

  #showOverlayState(visible: boolean): void {
    this.#overlayToggle.setAttribute('aria-pressed', String(visible));
    this.#overlayToggle.textContent = `Outline: ${visible ? 'on' : 'off'}`;
  }

  #toggleFullscreen(): void {
    const done = document.fullscreenElement !== null ? document.exitFullscreen() : document.documentElement.requestFullscreen();
    done.catch((err: unknown) => this.onDecodeError(`fullscreen: ${err instanceof Error ? err.message : String(err)}`));
  }
}

new Viewer();
