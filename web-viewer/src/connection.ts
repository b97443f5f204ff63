/**
 * The WebSocket to the hub: connects, reconnects with exponential backoff (and says so), measures
 * the clock offset to the server with pings (for end-to-end latency), and hands messages on.
 * Closing with 4401 (token) or 4403 (origin) is final: retrying cannot help.
 */
import { CloseCode, decodeFrameMessage } from '../../src/shared/protocol.js';
import type { ClientMessage, DecodedFrame, ServerMessage } from '../../src/shared/protocol.js';

/** Why the last socket closed: `byServer` when the server said why in its close frame. */
export interface CloseCause {
  reason: string;
  byServer: boolean;
}

export type ConnectionState =
  | { kind: 'connecting'; attempt: number; after?: CloseCause }
  | { kind: 'open' }
  | ({ kind: 'waiting'; attempt: number; retryInMs: number } & CloseCause)
  | { kind: 'refused'; code: number; reason: string };

export interface ConnectionHandlers {
  onState(state: ConnectionState): void;
  onMessage(message: ServerMessage): void;
  onFrame(frame: DecodedFrame): void;
  onProtocolError(error: string): void;
}

const BACKOFF_MS = [500, 1000, 2000, 4000, 8000];
const PING_EVERY_MS = 2000;

export class Connection {
  readonly #url: string;
  readonly #handlers: ConnectionHandlers;
  #ws: WebSocket | undefined;
  #attempt = 0;
  #retryTimer: number | undefined;
  #pingTimer: number | undefined;
  #pingId = 0;
  #offsets: { rtt: number; offset: number }[] = [];
  #stopped = false;
  /** The close that the current reconnection follows, until a socket opens again. */
  #lastClose: CloseCause | undefined;

  constructor(url: string, handlers: ConnectionHandlers) {
    this.#url = url;
    this.#handlers = handlers;
  }

  /** Server clock minus this page's clock, ms (from the ping with the shortest round trip). */
  get clockOffsetMs(): number {
    let best: { rtt: number; offset: number } | undefined;
    for (const o of this.#offsets) if (best === undefined || o.rtt < best.rtt) best = o;
    return best?.offset ?? 0;
  }

  start(): void {
    this.#stopped = false;
    this.#open();
  }

  send(message: ClientMessage): void {
    if (this.#ws?.readyState === WebSocket.OPEN) this.#ws.send(JSON.stringify(message));
  }

  /** Sends raw text (tests use it to send malformed messages). */
  sendRaw(text: string): void {
    if (this.#ws?.readyState === WebSocket.OPEN) this.#ws.send(text);
  }

  #open(): void {
    this.#handlers.onState({ kind: 'connecting', attempt: this.#attempt, ...(this.#lastClose !== undefined ? { after: this.#lastClose } : {}) });
    const ws = new WebSocket(this.#url);
    ws.binaryType = 'arraybuffer';
    this.#ws = ws;
    ws.onopen = () => {
      this.#attempt = 0;
      this.#lastClose = undefined;
      this.#offsets = [];
      this.#handlers.onState({ kind: 'open' });
      this.#ping();
      this.#pingTimer = window.setInterval(() => this.#ping(), PING_EVERY_MS);
    };
    ws.onmessage = (ev: MessageEvent) => {
      if (ev.data instanceof ArrayBuffer) {
        let frame: DecodedFrame;
        try {
          frame = decodeFrameMessage(new Uint8Array(ev.data));
        } catch (err) {
          this.#handlers.onProtocolError(err instanceof Error ? err.message : String(err));
          return;
        }
        this.#handlers.onFrame(frame);
        return;
      }
      let message: ServerMessage;
      try {
        message = JSON.parse(String(ev.data)) as ServerMessage;
      } catch {
        this.#handlers.onProtocolError('server sent text that is not JSON');
        return;
      }
      if (message.type === 'pong') {
        const now = performance.timeOrigin + performance.now();
        const rtt = now - message.clientTs;
        this.#offsets.push({ rtt, offset: message.serverTs - (message.clientTs + now) / 2 });
        if (this.#offsets.length > 10) this.#offsets.shift();
      }
      this.#handlers.onMessage(message);
    };
    // onerror is always followed by onclose, which decides what to do.
    ws.onerror = () => undefined;
    ws.onclose = (ev: CloseEvent) => {
      window.clearInterval(this.#pingTimer);
      if (this.#ws !== ws || this.#stopped) return;
      this.#ws = undefined;
      if (ev.code === CloseCode.Unauthorized || ev.code === CloseCode.Forbidden) {
        this.#handlers.onState({ kind: 'refused', code: ev.code, reason: ev.reason });
        return;
      }
      const delay = BACKOFF_MS[Math.min(this.#attempt, BACKOFF_MS.length - 1)]! * (0.8 + 0.4 * Math.random());
      this.#attempt++;
      // A reason in the close frame is the server's own word (e.g. "server shutting down"); none
      // (1006) means the connection broke.
      const byServer = ev.reason !== '';
      const reason = byServer ? ev.reason : ev.code === 1006 ? 'connection lost' : `closed (${ev.code})`;
      this.#lastClose = { reason, byServer };
      this.#handlers.onState({ kind: 'waiting', attempt: this.#attempt, retryInMs: delay, reason, byServer });
      this.#retryTimer = window.setTimeout(() => this.#open(), delay);
    };
  }

  #ping(): void {
    this.send({ type: 'ping', id: ++this.#pingId, clientTs: performance.timeOrigin + performance.now() });
  }

  stop(): void {
    this.#stopped = true;
    window.clearTimeout(this.#retryTimer);
    window.clearInterval(this.#pingTimer);
    this.#ws?.close();
    this.#ws = undefined;
  }
}
