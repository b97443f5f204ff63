/**
 * What the recorder and the layouts show, for tests: `window.__sgusRecorder`, `window.__sgusLayout`.
 * Free of DOM types (as debug-state.ts), so that the Node-side browser tests can import them.
 */

import type { WireRecording } from '../../src/shared/protocol.js';

/** What the server lists about a recording (GET /recordings). */
export type ListedRecording = WireRecording;

/** What tests read: `window.__sgusRecorder`. */
export interface RecorderDebugState {
  /** Id of the recording this page runs, if any. */
  recording: string | undefined;
  list: ListedRecording[];
  error: string;
}

/** What tests read: `window.__sgusLayout`. */
export interface LayoutDebugState {
  clinic: boolean;
  grid: boolean;
  tile: boolean;
  /** Stream ids of the grid's tiles. */
  tiles: string[];
}
