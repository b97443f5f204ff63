/**
 * How the viewer presents a stream's state (PROTOCOL.md, `stream-state`): the status pill, the
 * notice over the picture, the picker's suffix, and whether the picture on screen is stale (greyed,
 * outline marked). A clinician must never take a frozen picture for the live scan, nor a recording
 * for a live one: only a flowing live stream is called "Live".
 */
import type { WireStream, WireStreamState } from '../../src/shared/protocol.js';

export type Tone = 'ok' | 'info' | 'warn' | 'bad';

export interface StreamLook {
  state: WireStreamState;
  /** Status pill text. */
  label: string;
  tone: Tone;
  /** The picture on screen is not current: grey it and mark its outline stale. */
  stale: boolean;
  /** Text over the picture; '' for none. */
  notice: string;
  /** After the stream's title in the picker ('' while it flows). */
  suffix: string;
}

/** '4 s', '2 min 5 s', '1 h 3 min'. */
export function formatAge(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/** The stream's state; from a server without states: its kind while not ended. */
export function streamState(stream: WireStream): WireStreamState {
  return stream.status?.state ?? (stream.live ? stream.kind : 'ended');
}

/**
 * What to show for `stream` at `serverNow` (this page's clock plus the measured offset to the
 * server's, ms since epoch), the clock of the status's `lastFrameTs`.
 */
export function describeStream(stream: WireStream, serverNow: number): StreamLook {
  const st = stream.status;
  const state = streamState(stream);
  const reason = st?.reason ?? '';
  const last = st?.lastFrameTs;
  const age = last === undefined ? 'no frame yet' : `last frame ${formatAge(serverNow - last)} ago`;
  const because = reason !== '' ? ` (${reason})` : '';
  switch (state) {
    case 'live':
      return { state, label: 'Live', tone: 'ok', stale: false, notice: '', suffix: '' };
    case 'replay':
      return { state, label: 'Replay', tone: 'info', stale: false, notice: '', suffix: '' };
    case 'starting':
      // A first start generating its sample exam: say how far it is, and that the exam follows here.
      if (/^preparing /.test(reason)) {
        return { state, label: 'Preparing…', tone: 'warn', stale: true, notice: `P${reason.slice(1)}. The exam appears here when it is ready.`, suffix: ' (preparing)' };
      }
      return { state, label: 'Starting…', tone: 'warn', stale: true, notice: `Waiting for the source to open${because}.`, suffix: ' (down: starting)' };
    case 'stalled': {
      const silent = last === undefined ? '' : ` for ${formatAge(serverNow - last)}`;
      return { state, label: `Stalled: no frame${silent}`, tone: 'warn', stale: true, notice: `Stalled: no new frame${silent}. The picture is not current.`, suffix: ' (stalled)' };
    }
    case 'reconnecting': {
      const attempt = st?.attempt !== undefined ? ` (attempt ${st.attempt})` : '';
      return { state, label: 'Source lost: reconnecting', tone: 'bad', stale: true, notice: `Source lost${because}: reconnecting${attempt}; ${age}. The picture is not current.`, suffix: ' (down: reconnecting)' };
    }
    case 'ended': {
      const failed = st?.failed === true;
      const why = reason !== '' ? reason : (stream as WireStream & { endReason?: string }).endReason ?? '';
      return {
        state,
        label: failed ? 'Down' : 'Ended',
        tone: failed ? 'bad' : 'info',
        stale: true,
        notice: `Stream ended${failed ? ' with an error' : ''}${why !== '' ? `: ${why}` : ''}.${last !== undefined ? ` The picture is from ${formatAge(serverNow - last)} ago.` : ''}`,
        suffix: failed ? ' (down)' : ' (ended)',
      };
    }
  }
}
