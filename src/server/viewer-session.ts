/**
 * One connected viewer: its socket, what it can decode, its place in the H.264 stream (after a
 * lost picture it waits for the next key frame), its bounded queue (bytes the socket holds plus
 * frames not yet written) and its message rate. A slow viewer drops its own frames; nobody else
 * notices. The hub (viewer-server.ts) decides what goes to whom; the session decides whether this
 * viewer can take it now.
 */
import { WebSocket } from 'ws';
import type { RawData } from 'ws';
import { ErrorCode, SgusError, describeError } from '../errors.js';
import { encodeFrameMessage, parseClientMessage } from '../shared/protocol.js';
import type { ControlMessage, FrameHeader, ServerMessage, SubscribeMessage, VideoCodec } from '../shared/protocol.js';

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

/** A frame's header before the session stamps its own `dropped` count and send time. */
export type OutgoingHeader = Omit<FrameHeader, 'dropped' | 'sentTs'>;

/** The part of a `ws` WebSocket a session uses (tests pass a fake). */
export type ViewerSocket = Pick<WebSocket, 'readyState' | 'bufferedAmount' | 'send' | 'close' | 'terminate' | 'ping' | 'on'>;

export interface ViewerSessionOptions {
  /** Number shown in logs and events. Required. */
  id: number;
  /** 'address:port' of the peer. Default '?'. */
  remote?: string;
  /** More unsent bytes than this in the socket: frames are dropped. Default 4 MiB. */
  maxQueueBytes?: number;
  /** This many frames not yet written to the socket: frames are dropped. Default 8. */
  maxQueueFrames?: number;
  /** Largest message the viewer may send, bytes; bigger ones get an error frame. Default 4096. */
  maxMessageBytes?: number;
  /** Messages a second the viewer may send; the rest of that second is ignored. Default 50. */
  maxMessagesPerSecond?: number;
  /** A valid subscribe message (the hub checks the stream and calls `subscribe`). Default: ignored. */
  onSubscribe?: (message: SubscribeMessage) => void;
  /**
   * Replay controls a second the viewer may send (each may restart FFmpeg); the rest of that second
   * is refused with one error. Default 10.
   */
  maxControlsPerSecond?: number;
  /** A well-formed control message within its rate (the hub checks the stream). Default: refused. */
  onControl?: (message: ControlMessage) => void;
  /** A frame this viewer did not get: the hub's total. Default none. */
  onDropped?: () => void;
  /** Bytes of a frame message queued to this viewer: the hub's total. Default none. */
  onBytesSent?: (bytes: number) => void;
  /** The socket failed (the session terminates it). Default none. */
  onError?: (error: SgusError) => void;
  /** The socket closed (once). Default none. */
  onClose?: (code: number, reason: string) => void;
}

const ALL_CODECS: ReadonlySet<VideoCodec> = new Set<VideoCodec>(['h264', 'jpeg']);

export class ViewerSession {
  readonly #ws: ViewerSocket;
  readonly #info: ViewerInfo;
  readonly #o: Required<Omit<ViewerSessionOptions, 'remote' | 'id'>>;
  /** Frames handed to ws.send whose callback has not run yet. */
  #inFlight = 0;
  #codecs: ReadonlySet<VideoCodec> = ALL_CODECS;
  /** H.264: the viewer lost frames (or just subscribed) and must start again at a key frame. */
  #needKey = true;
  /** Just subscribed, nothing sent yet: frames skipped until the first key frame are not "dropped". */
  #joining = true;
  #messages = 0;
  #messagesWindowStart = Date.now();
  #controls = 0;
  #controlsWindowStart = Date.now();
  /** Answered a ping since the last one (keep-alive). */
  #alive = true;
  #closing = false;
  #closed = false;

  constructor(ws: ViewerSocket, options: ViewerSessionOptions) {
    this.#ws = ws;
    this.#info = { id: options.id, remote: options.remote ?? '?', streamId: undefined, framesSent: 0, framesDropped: 0, bytesSent: 0 };
    const positive = (name: string, v: number | undefined, d: number): number => {
      const x = v ?? d;
      if (!(x > 0)) throw new SgusError(ErrorCode.InvalidArgument, `${name} must be > 0, got ${x}`, { where: `viewer ${options.id}` });
      return x;
    };
    this.#o = {
      maxQueueBytes: positive('maxQueueBytes', options.maxQueueBytes, 4 * 1024 * 1024),
      maxQueueFrames: positive('maxQueueFrames', options.maxQueueFrames, 8),
      maxMessageBytes: positive('maxMessageBytes', options.maxMessageBytes, 4096),
      maxMessagesPerSecond: positive('maxMessagesPerSecond', options.maxMessagesPerSecond, 50),
      onSubscribe: options.onSubscribe ?? (() => undefined),
      maxControlsPerSecond: positive('maxControlsPerSecond', options.maxControlsPerSecond, 10),
      onControl: options.onControl ?? (() => this.sendError('not-controllable', 'this server has no replay controls')),
      onDropped: options.onDropped ?? (() => undefined),
      onBytesSent: options.onBytesSent ?? (() => undefined),
      onError: options.onError ?? (() => undefined),
      onClose: options.onClose ?? (() => undefined),
    };
    ws.on('pong', () => (this.#alive = true));
    ws.on('message', (data: RawData, isBinary: boolean) => this.#onMessage(data, isBinary));
    ws.on('error', (err: Error) => {
      this.#o.onError(new SgusError(ErrorCode.SinkFailure, `viewer socket failed: ${describeError(err)}`, { fatal: false, where: `viewer ${this.#info.id} (${this.#info.remote})` }));
      this.terminate();
    });
    ws.on('close', (code: number, reason: Buffer) => {
      if (this.#closed) return;
      this.#closed = true;
      this.#o.onClose(code, reason.toString());
    });
  }

  /** A copy of what the hub reports about this viewer. */
  get info(): ViewerInfo {
    return { ...this.#info };
  }

  get id(): number {
    return this.#info.id;
  }

  get streamId(): string | undefined {
    return this.#info.streamId;
  }

  get open(): boolean {
    return !this.#closing && this.#ws.readyState === WebSocket.OPEN;
  }

  /** Its queue is full: the next frame would wait behind too many others. */
  get congested(): boolean {
    return this.#ws.bufferedAmount > this.#o.maxQueueBytes || this.#inFlight >= this.#o.maxQueueFrames;
  }

  /** Bytes its socket holds not yet sent (ws `bufferedAmount`): how far its connection lags. */
  get queuedBytes(): number {
    return this.#ws.bufferedAmount;
  }

  /** Open and subscribed to `streamId`. */
  watches(streamId: string): boolean {
    return this.#info.streamId === streamId && this.open;
  }

  /** It can decode `codec` (subscribe's `codecs`, default both). */
  decodes(codec: VideoCodec): boolean {
    return this.#codecs.has(codec);
  }

  /** Subscribes it to a stream: its video starts at the next key frame. */
  subscribe(streamId: string, codecs: readonly VideoCodec[] | undefined): void {
    this.#info.streamId = streamId;
    this.#codecs = codecs !== undefined ? new Set(codecs) : ALL_CODECS;
    this.rejoin();
  }

  /** Its stream started again (a looped replay): start at the next key frame, as if just subscribed. */
  rejoin(): void {
    this.#needKey = true;
    this.#joining = true;
  }

  /** A picture of its stream is lost: the deltas that follow cannot be decoded until a key frame. */
  lostPicture(): void {
    this.#needKey = true;
  }

  /**
   * Offers one frame of its stream: sent unless the queue is full or, for H.264, the viewer waits for
   * a key frame (then it is counted dropped, except while it is joining and not congested).
   */
  offerFrame(header: OutgoingHeader, video: Uint8Array | undefined, h264: boolean): boolean {
    const congested = this.congested;
    if (congested || (h264 && this.#needKey && !header.key)) {
      if (!(this.#joining && !congested)) this.drop();
      if (h264) this.#needKey = true;
      return false;
    }
    if (h264) this.#needKey = false;
    this.#joining = false;
    this.#sendFrame(header, video);
    return true;
  }

  /** Offers a stand-alone picture (JPEG fallback): sent unless the queue is full. */
  offerPicture(header: OutgoingHeader, jpeg: Uint8Array): boolean {
    if (this.congested) {
      this.drop();
      return false;
    }
    this.#sendFrame(header, jpeg);
    return true;
  }

  /** Counts a frame this viewer did not get, in its own count and the hub's total. */
  drop(): void {
    this.#info.framesDropped++;
    this.#o.onDropped();
  }

  send(message: ServerMessage): void {
    this.sendText(JSON.stringify(message));
  }

  /** A text message already serialised (one broadcast to many). */
  sendText(text: string): void {
    if (this.open) this.#ws.send(text);
  }

  /** Small periodic text (metrics): a congested viewer simply skips one. */
  sendIfRoom(text: string): void {
    if (this.open && this.#ws.bufferedAmount <= this.#o.maxQueueBytes) this.#ws.send(text);
  }

  sendError(code: string, message: string): void {
    this.send({ type: 'error', code, message });
  }

  /** Keep-alive: pings it, or cuts it when it did not answer the last ping. */
  heartbeat(): void {
    if (!this.#alive) {
      this.terminate();
      return;
    }
    this.#alive = false;
    if (this.#ws.readyState === WebSocket.OPEN) this.#ws.ping();
  }

  /** Starts the closing handshake; safe to call twice (later calls do nothing). */
  close(code: number, reason: string): void {
    if (this.#closing) return;
    this.#closing = true;
    this.#ws.close(code, reason);
  }

  /** Cuts the socket at once (dead peer, failed socket, a close that took too long). */
  terminate(): void {
    this.#closing = true;
    this.#ws.terminate();
  }

  #sendFrame(header: OutgoingHeader, video: Uint8Array | undefined): void {
    const message = encodeFrameMessage({ ...header, dropped: this.#info.framesDropped, sentTs: Date.now() }, video);
    this.#inFlight++;
    this.#info.framesSent++;
    this.#info.bytesSent += message.byteLength;
    this.#o.onBytesSent(message.byteLength);
    this.#ws.send(message, { binary: true }, (err) => {
      this.#inFlight--;
      if (err !== undefined && err !== null) {
        this.#o.onError(new SgusError(ErrorCode.SinkFailure, `viewer socket failed: ${describeError(err)}`, { fatal: false, where: `viewer ${this.#info.id} (${this.#info.remote})` }));
        this.terminate();
      }
    });
  }

  #onMessage(data: RawData, isBinary: boolean): void {
    const size = Array.isArray(data) ? data.reduce((n, b) => n + b.length, 0) : data instanceof ArrayBuffer ? data.byteLength : data.length;
    const now = Date.now();
    if (now - this.#messagesWindowStart >= 1000) {
      this.#messagesWindowStart = now;
      this.#messages = 0;
    }
    const max = this.#o.maxMessagesPerSecond;
    if (++this.#messages > max) {
      if (this.#messages === max + 1) this.sendError('rate-limited', `more than ${max} messages a second; ignoring the rest of this second`);
      return;
    }
    if (size > this.#o.maxMessageBytes) {
      this.sendError(ErrorCode.ProtocolError, `message of ${size} bytes is over the ${this.#o.maxMessageBytes}-byte limit`);
      return;
    }
    if (isBinary) {
      this.sendError(ErrorCode.ProtocolError, 'viewers send JSON text messages only');
      return;
    }
    const text = Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data as ArrayBuffer).toString('utf8');
    const message = parseClientMessage(text);
    if (typeof message === 'string') {
      this.sendError(ErrorCode.ProtocolError, message);
      return;
    }
    if (message.type === 'ping') this.send({ type: 'pong', id: message.id, clientTs: message.clientTs, serverTs: Date.now() });
    else if (message.type === 'control') this.#onControl(message, now);
    else this.#o.onSubscribe(message);
  }

  #onControl(message: ControlMessage, now: number): void {
    if (now - this.#controlsWindowStart >= 1000) {
      this.#controlsWindowStart = now;
      this.#controls = 0;
    }
    const max = this.#o.maxControlsPerSecond;
    if (++this.#controls > max) {
      if (this.#controls === max + 1) this.sendError('rate-limited', `more than ${max} replay controls a second; ignoring the rest of this second`);
      return;
    }
    this.#o.onControl(message);
  }
}
