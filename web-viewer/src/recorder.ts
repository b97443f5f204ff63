/**
 * Record (key r, or the Record button): asks the server to write the annotated clip of the stream
 * on screen until the next press (src/server/recordings.ts; routes in recording-routes.ts), and lists
 * the clips with their size and duration for download. The server names and keeps the files; the
 * page only ever sends a stream id or a recording id it was given.
 */
import type { ListedRecording, RecorderDebugState } from './clinic-debug-state.js';

declare global {
  interface Window {
    __sgusRecorder: RecorderDebugState;
  }
}

export interface RecorderOptions {
  /** The page's token (null: none). */
  token: string | null;
  /** The stream on screen. */
  streamId: () => string | undefined;
  /** Where the Record button goes (it is put before `before`'s last child). */
  controls: HTMLElement;
}

function fmtBytes(n: number): string {
  return n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(1)} MB` : `${Math.max(1, Math.round(n / 1024))} kB`;
}

export class Recorder {
  readonly #o: RecorderOptions;
  readonly #button: HTMLButtonElement;
  readonly #panel: HTMLElement;
  readonly #items: HTMLUListElement;
  readonly #debug: RecorderDebugState = { recording: undefined, list: [], error: '' };
  #busy = false;

  constructor(options: RecorderOptions) {
    this.#o = options;
    window.__sgusRecorder = this.#debug;
    this.#button = document.createElement('button');
    this.#button.id = 'record';
    this.#button.type = 'button';
    this.#button.title = 'Record the annotated clip from now until pressed again (r)';
    this.#button.textContent = 'Record';
    this.#button.setAttribute('aria-pressed', 'false');
    this.#button.addEventListener('click', () => void this.toggle());
    options.controls.insertBefore(this.#button, options.controls.lastElementChild);
    this.#panel = document.createElement('aside');
    this.#panel.id = 'recordings';
    this.#panel.className = 'recordings';
    this.#panel.setAttribute('aria-label', 'Recordings');
    this.#panel.hidden = true;
    const title = document.createElement('h2');
    title.textContent = 'Recordings';
    this.#items = document.createElement('ul');
    this.#panel.append(title, this.#items);
    document.body.append(this.#panel);
    window.addEventListener('keydown', (e) => {
      if (e.ctrlKey || e.metaKey || e.altKey || e.repeat) return;
      const t = e.target;
      if (t instanceof HTMLSelectElement || (t instanceof HTMLInputElement && t.type === 'text')) return;
      if (e.key === 'r' || e.key === 'R') {
        e.preventDefault();
        void this.toggle();
      }
    });
    // The page closes while recording: stop there, so the clip ends where the viewer stopped watching
    // (the server would otherwise go on to the stream's end or its cap; the file is playable either way).
    window.addEventListener('pagehide', () => {
      const id = this.#debug.recording;
      if (id !== undefined) navigator.sendBeacon(this.#url(`/recordings/${encodeURIComponent(id)}/stop`));
    });
    void this.refresh();
    window.setInterval(() => void this.refresh(), 1000);
  }

  #url(route: string): string {
    const t = this.#o.token;
    return t === null ? route : `${route}${route.includes('?') ? '&' : '?'}token=${encodeURIComponent(t)}`;
  }

  /** Starts recording the stream on screen, or stops the running recording. */
  async toggle(): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    try {
      const running = this.#debug.recording;
      let res: Response;
      if (running !== undefined) {
        res = await fetch(this.#url(`/recordings/${encodeURIComponent(running)}/stop`), { method: 'POST' });
        this.#debug.recording = undefined;
      } else {
        const id = this.#o.streamId();
        if (id === undefined) throw new Error('no stream on screen');
        res = await fetch(this.#url(`/recordings/start?stream=${encodeURIComponent(id)}`), { method: 'POST' });
        if (res.ok) this.#debug.recording = ((await res.json()) as ListedRecording).id;
      }
      if (!res.ok) throw new Error(`the server answered ${res.status}`);
      this.#debug.error = '';
    } catch (err) {
      this.#debug.error = err instanceof Error ? err.message : String(err);
    } finally {
      this.#busy = false;
      this.#showButton();
      await this.refresh();
    }
  }

  /** Reads the list again and redraws the panel. */
  async refresh(): Promise<void> {
    try {
      const res = await fetch(this.#url('/recordings'));
      if (!res.ok) return;
      this.#debug.list = ((await res.json()) as { recordings: ListedRecording[] }).recordings;
    } catch {
      return; // The server is away; the next refresh tries again.
    }
    const mine = this.#debug.list.find((r) => r.id === this.#debug.recording);
    // Stopped by the server (stream end, a cap): the button says so.
    if (mine !== undefined && !mine.active) this.#debug.recording = undefined;
    this.#showButton();
    this.#render();
  }

  #showButton(): void {
    const on = this.#debug.recording !== undefined;
    const mine = this.#debug.list.find((r) => r.id === this.#debug.recording);
    this.#button.textContent = on ? `● Stop recording${mine !== undefined ? ` (${Math.round(mine.durationS)} s)` : ''}` : 'Record';
    this.#button.setAttribute('aria-pressed', String(on));
    this.#button.classList.toggle('recording', on);
  }

  #render(): void {
    this.#panel.hidden = this.#debug.list.length === 0;
    const rows = this.#debug.list.map((r) => {
      const li = document.createElement('li');
      li.dataset.id = r.id;
      li.dataset.bytes = String(r.bytes);
      li.dataset.duration = String(r.durationS);
      const what = `${r.streamId} · ${r.durationS.toFixed(1)} s · ${fmtBytes(r.bytes)}`;
      if (r.active) {
        li.textContent = `● recording: ${what}`;
      } else if (r.bytes > 0) {
        const a = document.createElement('a');
        a.href = this.#url(`/recordings/${encodeURIComponent(r.id)}.mp4`);
        a.download = `${r.id}.mp4`;
        a.textContent = `${new Date(r.startedAt).toLocaleTimeString()} ${what}`;
        a.title = r.stopReason !== undefined ? `stopped: ${r.stopReason}` : '';
        li.append(a);
      } else {
        li.textContent = `${r.streamId}: no picture recorded (${r.stopReason ?? 'stopped'})`;
      }
      return li;
    });
    this.#items.replaceChildren(...rows);
  }
}
