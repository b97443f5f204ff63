/**
 * The hub's side of viewers' replay controls (pause, play, step, seek, speed): which streams take
 * them, and the one-line reason told to a viewer whose control is refused. The protocol parser has
 * already checked the fields (shared/protocol.ts); what is checked here needs the hub's knowledge.
 */
import type { PlaybackCommand, PlaybackState } from '../pipeline/ffmpeg-source.js';
import type { ControlMessage } from '../shared/protocol.js';

/** Carries out a control on a stream's source; throws (an SgusError) to refuse it. */
export type ReplayControlHandler = (streamId: string, command: PlaybackCommand) => PlaybackState;

/** Why a control cannot be done, as the error sent to the viewer; undefined when it can be. */
export function controlRefusal(
  m: ControlMessage,
  stream: { kind: 'replay' | 'live'; live: boolean } | undefined,
  hasHandler: boolean,
): { code: string; message: string } | undefined {
  if (stream === undefined) return { code: 'unknown-stream', message: `no stream ${JSON.stringify(m.streamId.slice(0, 60))}` };
  if (stream.kind === 'live') return { code: 'not-controllable', message: 'a live stream cannot be paused or seeked at the server; pause the view in the viewer instead' };
  if (!stream.live) return { code: 'not-controllable', message: 'the replay has ended' };
  if (!hasHandler) return { code: 'not-controllable', message: 'this server has no replay controls' };
  return undefined;
}
