/**
 * Whether an FFmpeg source whose run ended starts another run, as a pure function of what is known
 * when it ends (the source applies it; tests cover every case):
 *   - a live source restarts when its run failed, and when a network stream or a device ended;
 *   - a looping replay restarts when FFmpeg died: looping has no end, so a death is an outage, not
 *     the end of the recording (a plain replay's death stays fatal: frames would be missing);
 *   - a failure FFmpeg's log calls permanent for this kind of source (a missing device or file, an
 *     invalid filter or option, an unknown protocol) is fatal at once while the source has never
 *     delivered a frame: retrying cannot help. Once it has delivered frames, the same failure (a
 *     capture device unplugged) is an outage like any other and is retried.
 */
import type { SourceSpec } from './source-spec.js';

export interface RunEnd {
  mode: 'replay' | 'live';
  loop: boolean;
  source: SourceSpec;
  /** Why the run failed; undefined when FFmpeg ended normally (end of the input). */
  reason: string | undefined;
  /** The run could not open its input, for a reason retrying cannot fix (ffmpeg-log.ts `openFailure`). */
  permanent: boolean;
  /** The source delivered at least one frame in any of its runs. */
  deliveredFrames: boolean;
}

export function shouldRestart(end: RunEnd): boolean {
  if (end.permanent && !end.deliveredFrames) return false;
  if (end.mode === 'live') return end.reason !== undefined || end.source.type === 'url' || end.source.type === 'device';
  // A looping replay that never delivered a frame cannot play: restarting would only repeat that.
  return end.loop && end.reason !== undefined && end.deliveredFrames;
}
