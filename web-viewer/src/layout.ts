/**
 * Layouts for a clinic screen (styles in web-viewer/layout.css):
 * - clinic (key c, or the Clinic button): the figures and the stream's state large enough to read
 *   at two metres, the rest of the bar out of the way; remembered on this browser;
 * - grid (key g, or the Grid button; the default when the server has several streams and the
 *   address names none): every stream side by side, each a tile of its own viewer (this page with
 *   `?tile=1`: picture, outline, state badge, area), a click on one enlarges it;
 * - tile (`?tile=1`): the page as a grid cell.
 * It reads the stream list from the page's stream picker and chooses a stream through it, so the
 * viewer itself (main.ts) needs no part of it.
 */
import type { LayoutDebugState } from './clinic-debug-state.js';

const CLINIC_KEY = 'sgus-viewer-clinic';

declare global {
  interface Window {
    __sgusLayout: LayoutDebugState;
  }
}

export interface LayoutOptions {
  token: string | null;
  /** The page's stream picker (its options are the streams). */
  picker: HTMLSelectElement;
  /** Where the layout buttons go (before its last child). */
  controls: HTMLElement;
}

interface EnlargeMessage {
  type: 'sgus-enlarge';
  streamId: string;
}

export class Layout {
  readonly #o: LayoutOptions;
  readonly #debug: LayoutDebugState;
  readonly #grid: HTMLElement;
  readonly #gridButton: HTMLButtonElement;
  readonly #clinicButton: HTMLButtonElement;
  /** The user chose a layout (key, button, a click on a tile): no longer switch to the grid on our own. */
  #chosen: boolean;

  constructor(options: LayoutOptions) {
    this.#o = options;
    const params = new URLSearchParams(location.search);
    const tile = params.get('tile') === '1';
    this.#chosen = params.has('stream');
    this.#debug = { clinic: false, grid: false, tile, tiles: [] };
    window.__sgusLayout = this.#debug;
    const link = document.createElement('link');
    link.rel = 'stylesheet';
    link.href = 'layout.css';
    document.head.append(link);
    document.documentElement.classList.toggle('tile', tile);

    this.#clinicButton = this.#button('clinic-toggle', 'Clinic', 'Large figures for a clinic screen (c)', () => this.setClinic(!this.#debug.clinic));
    this.#gridButton = this.#button('grid-toggle', 'Grid', 'All streams side by side (g)', () => {
      this.#chosen = true;
      this.setGrid(!this.#debug.grid);
    });
    this.#gridButton.hidden = true;
    this.#grid = document.createElement('section');
    this.#grid.id = 'grid';
    this.#grid.className = 'grid';
    this.#grid.setAttribute('aria-label', 'All streams');
    this.#grid.hidden = true;
    document.body.append(this.#grid);

    let clinic = params.get('clinic') === '1';
    try {
      clinic ||= localStorage.getItem(CLINIC_KEY) === '1';
    } catch {
      // Private mode: not remembered.
    }
    this.setClinic(clinic, false);

    if (tile) {
      // A grid cell: a click anywhere asks the grid's page to enlarge this stream.
      document.addEventListener('click', () => {
        const streamId = params.get('stream');
        if (streamId !== null && window.parent !== window) window.parent.postMessage({ type: 'sgus-enlarge', streamId } satisfies EnlargeMessage, location.origin);
      });
      return;
    }
    window.addEventListener('message', (e: MessageEvent<unknown>) => {
      const m = e.data as Partial<EnlargeMessage> | null;
      if (e.origin !== location.origin || m === null || typeof m !== 'object' || m.type !== 'sgus-enlarge' || typeof m.streamId !== 'string') return;
      this.enlarge(m.streamId);
    });
    window.addEventListener('keydown', (e) => {
      if (e.ctrlKey || e.metaKey || e.altKey || e.repeat) return;
      const t = e.target;
      if (t instanceof HTMLSelectElement || (t instanceof HTMLInputElement && t.type === 'text')) return;
      if (e.key === 'c' || e.key === 'C') this.setClinic(!this.#debug.clinic);
      else if ((e.key === 'g' || e.key === 'G') && this.#streams().length > 1) {
        this.#chosen = true;
        this.setGrid(!this.#debug.grid);
      } else return;
      e.preventDefault();
    });
    new MutationObserver(() => this.#streamsChanged()).observe(options.picker, { childList: true, subtree: true, characterData: true });
    this.#streamsChanged();
  }

  /** This page is a grid's tile (`?tile=1`). */
  get tile(): boolean {
    return this.#debug.tile;
  }

  setClinic(on: boolean, remember = true): void {
    this.#debug.clinic = on;
    document.documentElement.classList.toggle('clinic', on);
    this.#clinicButton.setAttribute('aria-pressed', String(on));
    if (!remember) return;
    try {
      localStorage.setItem(CLINIC_KEY, on ? '1' : '0');
    } catch {
      // Not remembered.
    }
  }

  /** Shows every stream side by side, or the chosen one alone. */
  setGrid(on: boolean): void {
    this.#debug.grid = on;
    this.#grid.hidden = !on;
    document.documentElement.classList.toggle('gridded', on);
    this.#gridButton.setAttribute('aria-pressed', String(on));
    if (on) this.#renderTiles();
    else {
      this.#grid.replaceChildren();
      this.#debug.tiles = [];
    }
  }

  /** Leaves the grid for one stream, chosen through the picker as a user would. */
  enlarge(streamId: string): void {
    this.#chosen = true;
    const p = this.#o.picker;
    if ([...p.options].some((o) => o.value === streamId)) {
      p.value = streamId;
      p.dispatchEvent(new Event('change'));
    }
    this.setGrid(false);
  }

  #streams(): string[] {
    return [...this.#o.picker.options].map((o) => o.value).filter((v) => v !== '');
  }

  #streamsChanged(): void {
    const several = this.#streams().length > 1;
    this.#gridButton.hidden = !several;
    if (!several && this.#debug.grid) this.setGrid(false);
    else if (several && !this.#chosen && !this.#debug.grid) this.setGrid(true);
    else if (this.#debug.grid && this.#streams().join('\n') !== this.#debug.tiles.join('\n')) this.#renderTiles();
  }

  #renderTiles(): void {
    const ids = this.#streams();
    this.#debug.tiles = ids;
    const token = this.#o.token;
    this.#grid.replaceChildren(
      ...ids.map((id) => {
        const cell = document.createElement('div');
        cell.className = 'tile-cell';
        cell.dataset.stream = id;
        const frame = document.createElement('iframe');
        frame.title = `Stream ${id}`;
        frame.src = `?stream=${encodeURIComponent(id)}&tile=1${this.#debug.clinic ? '&clinic=1' : ''}${token !== null ? `&token=${encodeURIComponent(token)}` : ''}`;
        cell.append(frame);
        return cell;
      }),
    );
  }

  #button(id: string, text: string, title: string, onClick: () => void): HTMLButtonElement {
    const b = document.createElement('button');
    b.id = id;
    b.type = 'button';
    b.textContent = text;
    b.title = title;
    b.setAttribute('aria-pressed', 'false');
    b.addEventListener('click', onClick);
    this.#o.controls.insertBefore(b, this.#o.controls.lastElementChild);
    return b;
  }
}
