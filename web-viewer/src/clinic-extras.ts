/**
 * The viewer's clinic additions, kept out of main.ts (one import there): recording (recorder.ts)
 * and the clinic, grid and tile layouts (layout.ts). They reach the viewer only through the page
 * (its controls, its stream picker) and `window.__sgus.streamId`.
 */
import { Layout } from './layout.js';
import { Recorder } from './recorder.js';

function byId<T extends HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (el === null) throw new Error(`viewer page lacks #${id}`);
  return el as T;
}

const token = new URLSearchParams(location.search).get('token');
const controls = byId<HTMLElement>('controls');
const layout = new Layout({ token, picker: byId<HTMLSelectElement>('stream-picker'), controls });
// A grid's tile only shows; recording is done from the enlarged stream.
if (!layout.tile) new Recorder({ token, controls, streamId: () => (window.__sgus as { streamId?: string | undefined } | undefined)?.streamId });
