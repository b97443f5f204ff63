/**
 * Figures tests (and the curious, in the console) can read: `window.__sgus`. Kept free of DOM types
 * so that the Node-side browser tests can import the same shape the viewer fills.
 */
export interface ViewerDebugState {
  connection: string;
  connects: number;
  streamId: string | undefined;
  decoder: 'h264' | 'jpeg' | 'none';
  received: number;
  decoded: number;
  drawn: number;
  dropped: number;
  lastDrawnIndex: number;
  lastDrawnStream: string | undefined;
  serverErrors: { code: string; message: string }[];
  decodeErrors: string[];
  notice: string;
  /** State of the chosen stream ('' before one is chosen): live, replay, starting, stalled, reconnecting, ended. */
  streamState: string;
  /** The picture is drawn as stale (greyed, outline dashed). */
  stale: boolean;
  /** Base names of the snapshots saved (key s), oldest first. */
  snapshots: string[];
  /** Why the last snapshot failed ('' when it did not). */
  snapshotError: string;
  /** Pts of the last picture drawn, s (replay controls). */
  lastDrawnPts?: number;
  /** The chosen replay's playback as the server last said (absent: live, or not controllable). */
  playback?: { paused: boolean; speed: number; index: number; pts: number } | undefined;
  /** Points of the area curve on the timeline. */
  timelinePoints?: number;
}
