/**
 * The viewer hub's record of what each stream is doing now (live, replay, starting, stalled,
 * reconnecting, ended), so that viewers never take a frozen picture for a live one and /healthz
 * can say which stream is down. The pipeline reports what it knows (source opened, lost, ended);
 * the stall watchdog adds what nobody reported (no frame for a while). Every change goes out as
 * one `stream-state` message (web-viewer/PROTOCOL.md).
 */
import type { StreamInfo, StreamStateDetail, StreamStateKind } from '../pipeline/frame.js';
import type { StreamStateMessage, WirePlayback, WireStreamStatus } from '../shared/protocol.js';
import { StallWatchdog } from './stall-watchdog.js';

export interface StreamStatesOptions {
  /** Seconds without a frame before a flowing stream is 'stalled'. Default: `STALL_WATCHDOG_DEFAULTS.stallAfterS`. */
  stallAfterS?: number | undefined;
  /** Every state change, as the message to broadcast. */
  onChange: (message: StreamStateMessage) => void;
}

/** One stream in the /healthz body. */
export interface StreamHealth {
  id: string;
  kind: 'replay' | 'live';
  state: StreamStateKind;
  /** Frames flow, or the stream finished normally; false: down (starting, stalled, reconnecting, failed). */
  healthy: boolean;
  reason: string;
  failed?: true;
  secondsInState: number;
  /** Null before the first frame. */
  secondsSinceLastFrame: number | null;
}

interface Entry {
  kind: 'replay' | 'live';
  fps: number;
  status: WireStreamStatus;
}

/** The listing of a stream whose source never opened: no picture size or codec known yet. */
export function placeholderStream(id: string, title: string, kind: 'replay' | 'live'): StreamInfo {
  return { id, title, kind, width: 0, height: 0, fps: 0, codec: 'h264' };
}

function isFlowing(state: StreamStateKind): state is 'live' | 'replay' {
  return state === 'live' || state === 'replay';
}

function sameStatus(a: WireStreamStatus, b: WireStreamStatus): boolean {
  return a.state === b.state && a.reason === b.reason && a.failed === b.failed && a.attempt === b.attempt;
}

export class StreamStates {
  readonly #entries = new Map<string, Entry>();
  readonly #onChange: (message: StreamStateMessage) => void;
  readonly #watchdog: StallWatchdog;

  constructor(options: StreamStatesOptions) {
    this.#onChange = options.onChange;
    this.#watchdog = new StallWatchdog({
      ...(options.stallAfterS !== undefined ? { stallAfterS: options.stallAfterS } : {}),
      onStall: (id) => {
        const e = this.#entries.get(id);
        // A replay a viewer paused sends no frames on purpose.
        if (e === undefined || !isFlowing(e.status.state) || e.status.playback?.paused === true) return;
        const silentS = (Date.now() - (e.status.lastFrameTs ?? e.status.since)) / 1000;
        this.set(id, 'stalled', { reason: `no frame for ${silentS.toFixed(1)} s` });
      },
    });
  }

  has(streamId: string): boolean {
    return this.#entries.has(streamId);
  }

  /**
   * The source opened (the hub's addStream): frames flow from now on. Silent, as the caller
   * announces the stream with its status (`stream-added`).
   */
  opened(streamId: string, kind: 'replay' | 'live', fps: number): void {
    const prev = this.#entries.get(streamId);
    const status: WireStreamStatus = { state: kind, reason: '', since: Date.now() };
    if (prev?.status.lastFrameTs !== undefined) status.lastFrameTs = prev.status.lastFrameTs;
    this.#entries.set(streamId, { kind, fps, status });
    this.#watchdog.watch(streamId, fps);
  }

  /** A stream known before its source opened (a configured stream): 'starting', silent like `opened`. */
  expect(streamId: string, kind: 'replay' | 'live'): void {
    if (this.#entries.has(streamId)) return;
    this.#entries.set(streamId, { kind, fps: 0, status: { state: 'starting', reason: 'opening the source', since: Date.now() } });
  }

  /** A new state; announced when it differs from the current one. Unknown streams are added (kind 'live' unless said). */
  set(streamId: string, state: StreamStateKind, detail: StreamStateDetail): void {
    let e = this.#entries.get(streamId);
    if (e === undefined) {
      e = { kind: state === 'replay' ? 'replay' : 'live', fps: 0, status: { state: 'starting', reason: '', since: Date.now() } };
      this.#entries.set(streamId, e);
    }
    if (isFlowing(state)) e.kind = state;
    const next: WireStreamStatus = { state, reason: isFlowing(state) ? '' : detail.reason, since: Date.now() };
    if (detail.failed === true && state === 'ended') next.failed = true;
    if (state === 'reconnecting') {
      if (detail.attempt !== undefined) next.attempt = detail.attempt;
      if (detail.retryInMs !== undefined) next.retryInMs = detail.retryInMs;
    }
    if (e.status.lastFrameTs !== undefined) next.lastFrameTs = e.status.lastFrameTs;
    if (e.status.playback !== undefined) next.playback = e.status.playback;
    // An end already announced stays as it was (the pipeline says 'ended' first, then endStream again).
    if (e.status.state === 'ended' && state === 'ended') return;
    if (sameStatus(e.status, next)) return;
    e.status = next;
    if (isFlowing(state)) this.#watchdog.watch(streamId, e.fps);
    else if (state !== 'stalled') this.#watchdog.unwatch(streamId);
    this.#onChange({ type: 'stream-state', streamId, status: { ...next } });
  }

  /**
   * A controllable replay's playback (viewers' pause, seek, speed): kept in its status and, unless
   * `silent` (the stream is about to be announced with it), sent to every viewer.
   */
  setPlayback(streamId: string, playback: WirePlayback, silent = false): void {
    const e = this.#entries.get(streamId);
    if (e === undefined) return;
    e.status = { ...e.status, playback: { ...playback } };
    // A control restarts the source (FFmpeg reopens the file): the wait for a frame starts again.
    this.#watchdog.frame(streamId);
    if (!silent) this.#onChange({ type: 'stream-state', streamId, status: { ...e.status } });
  }

  /** A frame was published: remembered, and a stalled stream flows again. */
  frame(streamId: string): void {
    const e = this.#entries.get(streamId);
    if (e === undefined) return;
    e.status.lastFrameTs = Date.now();
    this.#watchdog.frame(streamId);
    // A frame proves the stream flows, also when its start was never reported.
    if (e.status.state === 'stalled' || e.status.state === 'starting') this.set(streamId, e.kind, { reason: '' });
  }

  /** The status to put in `hello` / `stream-added` (a copy), if the stream is known. */
  status(streamId: string): WireStreamStatus | undefined {
    const s = this.#entries.get(streamId)?.status;
    return s === undefined ? undefined : { ...s };
  }

  /** Every stream for /healthz, and whether all are healthy (true with no streams: the hub itself is up). */
  health(): { healthy: boolean; streams: StreamHealth[] } {
    const now = Date.now();
    const streams = [...this.#entries].map(([id, e]): StreamHealth => {
      const s = e.status;
      const h: StreamHealth = {
        id,
        kind: e.kind,
        state: s.state,
        healthy: isFlowing(s.state) || (s.state === 'ended' && s.failed !== true),
        reason: s.reason,
        secondsInState: Math.round((now - s.since) / 100) / 10,
        secondsSinceLastFrame: s.lastFrameTs === undefined ? null : Math.round((now - s.lastFrameTs) / 100) / 10,
      };
      if (s.failed === true) h.failed = true;
      return h;
    });
    return { healthy: streams.every((s) => s.healthy), streams };
  }

  /** Safe to call twice. */
  close(): void {
    this.#watchdog.close();
  }
}
