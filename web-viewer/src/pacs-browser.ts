/**
 * The PACS panel (`sgus serve --pacs`): find a patient's ultrasound studies, list their series and
 * cine loops, and open one: the server retrieves it from the PACS and plays it as the stream
 * 'pacs' with its outline and, from the file's calibration, its mm² figures. The panel appears only
 * when the server has a PACS (its /pacs routes answer); the PACS's address and credentials stay on
 * the server.
 */

import type { PacsSeriesRow as SeriesRow, PacsStudyRow as StudyRow } from '../../src/shared/pacs-wire.js';

export interface PacsPanelOptions {
  /** The page's token, sent with every request (null: none). */
  token: string | null;
  /** Where the panel's button goes (the status bar). */
  bar: HTMLElement;
  /** A loop was opened as this stream: show it. */
  onOpened: (streamId: string) => void;
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, cls?: string, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (cls !== undefined) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

/** "20260115" → "2026-01-15". */
function showDate(d: string): string {
  return /^\d{8}$/.test(d) ? `${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6)}` : d || '–';
}

export class PacsPanel {
  readonly #o: PacsPanelOptions;
  readonly #panel = el('section', 'pacs-panel');
  readonly #status = el('p', 'pacs-status');
  readonly #list = el('div', 'pacs-list');
  /** Counts searches: only the newest one's answer is shown (an older, slower one must not replace it). */
  #searches = 0;

  private constructor(o: PacsPanelOptions) {
    this.#o = o;
  }

  /** Adds the panel when the server has a PACS; resolves to undefined when it has none. */
  static async attach(o: PacsPanelOptions): Promise<PacsPanel | undefined> {
    const p = new PacsPanel(o);
    const status = await p.#get('/pacs/status').catch(() => undefined);
    if (status === undefined || !status.ok || ((await status.json()) as { enabled?: boolean }).enabled !== true) return undefined;
    const probe = await p.#get('/pacs/studies?patient=');
    p.#build();
    if (probe.ok) p.#showStudies(((await probe.json()) as { studies: StudyRow[] }).studies);
    else p.#say(await errorOf(probe));
    return p;
  }

  #headers(): HeadersInit {
    return this.#o.token !== null ? { Authorization: `Bearer ${this.#o.token}` } : {};
  }

  #get(path: string): Promise<Response> {
    return fetch(path, { headers: this.#headers(), cache: 'no-store' });
  }

  #say(text: string): void {
    this.#status.textContent = text;
  }

  #build(): void {
    const button = el('button', 'pacs-button', 'PACS');
    button.type = 'button';
    button.title = 'Studies on the PACS';
    button.setAttribute('aria-expanded', 'false');
    button.addEventListener('click', () => {
      const open = this.#panel.classList.toggle('open');
      button.setAttribute('aria-expanded', String(open));
    });
    this.#o.bar.append(button);
    const form = el('form', 'pacs-search');
    const patient = el('input');
    patient.name = 'patient';
    patient.placeholder = 'Patient ID';
    patient.setAttribute('aria-label', 'Patient ID');
    const date = el('input');
    date.name = 'date';
    date.placeholder = 'YYYYMMDD[-YYYYMMDD]';
    date.setAttribute('aria-label', 'Study date');
    const go = el('button', undefined, 'Find');
    go.type = 'submit';
    form.append(patient, date, go);
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      void this.#search(patient.value.trim(), date.value.trim());
    });
    this.#panel.append(el('h2', undefined, 'Ultrasound studies on the PACS'), form, this.#status, this.#list);
    this.#panel.setAttribute('aria-label', 'PACS studies');
    document.body.append(this.#panel);
  }

  async #search(patient: string, date: string): Promise<void> {
    const search = ++this.#searches;
    // The rows of the last list go at once: one clicked while the search runs would load its series
    // into a row the answer then replaces, and the clinician would wait for a loop that never shows.
    this.#list.replaceChildren();
    this.#say('Searching…');
    const q = new URLSearchParams({ patient, ...(date !== '' ? { date } : {}) });
    const r = await this.#get(`/pacs/studies?${q}`).catch((e: unknown) => new Response(JSON.stringify({ error: String(e) }), { status: 599 }));
    const answer = r.ok ? ((await r.json()) as { studies: StudyRow[] }).studies : await errorOf(r);
    if (search !== this.#searches) return;
    if (typeof answer === 'string') return this.#say(answer);
    this.#showStudies(answer);
  }

  #showStudies(studies: StudyRow[]): void {
    this.#list.replaceChildren();
    this.#say(studies.length === 0 ? 'No ultrasound study found.' : `${studies.length} stud${studies.length === 1 ? 'y' : 'ies'}`);
    for (const s of studies) {
      const row = el('div', 'pacs-study');
      const head = el('button', 'pacs-study-head', `${showDate(s.studyDate)}  ${s.patientId || '–'}  ${s.patientName}  ${s.description}`);
      head.type = 'button';
      head.dataset['study'] = s.studyInstanceUid;
      const body = el('div', 'pacs-series');
      head.addEventListener('click', () => void this.#showSeries(s.studyInstanceUid, body));
      row.append(head, body);
      this.#list.append(row);
    }
  }

  async #showSeries(study: string, into: HTMLElement): Promise<void> {
    into.replaceChildren(el('p', 'pacs-status', 'Loading series…'));
    const r = await this.#get(`/pacs/studies/${encodeURIComponent(study)}/series`);
    if (!r.ok) {
      into.replaceChildren(el('p', 'pacs-status', await errorOf(r)));
      return;
    }
    const { series } = (await r.json()) as { series: SeriesRow[] };
    into.replaceChildren();
    if (series.length === 0) into.append(el('p', 'pacs-status', 'No ultrasound series in this study.'));
    for (const se of series) {
      const line = el('div', 'pacs-series-row');
      line.append(el('span', undefined, `Series ${se.seriesNumber ?? '–'} ${se.description}`));
      for (const [k, i] of se.instances.entries()) {
        const open = el('button', 'pacs-open', `Open #${i.instanceNumber ?? k + 1}${i.frames !== undefined ? ` (${i.frames} frame${i.frames === 1 ? '' : 's'})` : ''}`);
        open.type = 'button';
        open.dataset['instance'] = i.sopInstanceUid;
        open.addEventListener('click', () => void this.#open(study, se.seriesInstanceUid, i.sopInstanceUid));
        line.append(open);
      }
      into.append(line);
    }
  }

  async #open(study: string, series: string, instance: string): Promise<void> {
    this.#say('Retrieving from the PACS…');
    const q = new URLSearchParams({ study, series, instance });
    const r = await fetch(`/pacs/open?${q}`, { method: 'POST', headers: this.#headers() });
    if (!r.ok) return this.#say(await errorOf(r));
    const opened = (await r.json()) as { stream: string; title: string; frames: number };
    this.#say(`Playing ${opened.title} (${opened.frames} frame${opened.frames === 1 ? '' : 's'})`);
    this.#panel.classList.remove('open');
    this.#o.onOpened(opened.stream);
  }
}

async function errorOf(r: Response): Promise<string> {
  try {
    const j = (await r.json()) as { error?: string };
    return `PACS: ${j.error ?? `HTTP ${r.status}`}`;
  } catch {
    return `PACS: HTTP ${r.status}`;
  }
}
