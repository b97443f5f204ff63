/**
 * Playback controls under the picture. A replay (a recorded file): pause / play, step a frame,
 * seek on the area timeline (area-timeline.ts), speed 0.25×–4×, the time and frame number. They
 * act on the server's replay, so every viewer of that stream sees the same playback (the state
 * comes back in the stream's status). A live stream has only view controls: pause the view here,
 * and back to live.
 */
import { PLAYBACK_SPEED } from '../../src/shared/protocol.js';
import type { ClientMessage, WireStream } from '../../src/shared/protocol.js';
import { AreaTimeline } from './area-timeline.js';

const SPEEDS = [0.25, 0.5, 1, 1.5, 2, 3, 4].filter((s) => s >= PLAYBACK_SPEED.min && s <= PLAYBACK_SPEED.max);

export interface ReplayControlsOptions {
  /** Sends a message to the hub. */
  send: (message: ClientMessage) => void;
  token: string | null;
  /** The element the controls are put before (the page's footer). */
  before: HTMLElement;
}

function fmtTime(s: number): string {
  const m = Math.floor(s / 60);
  return `${m}:${(s - m * 60).toFixed(2).padStart(5, '0')}`;
}

export class ReplayControls {
  readonly #o: ReplayControlsOptions;
  readonly #root: HTMLElement;
  readonly #play: HTMLButtonElement;
  readonly #back: HTMLButtonElement;
  readonly #step: HTMLButtonElement;
  readonly #speed: HTMLSelectElement;
  readonly #where: HTMLSpanElement;
  readonly #live: HTMLButtonElement;
  readonly #timeline: AreaTimeline;
  #stream: WireStream | undefined;
  #index = -1;
  #pts = 0;
  /** Live: the view is held here (the stream goes on at the server). */
  #frozen = false;

  constructor(options: ReplayControlsOptions) {
    this.#o = options;
    const el = <K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<HTMLElementTagNameMap[K]>): HTMLElementTagNameMap[K] => Object.assign(document.createElement(tag), props);
    this.#root = el('section', { id: 'playback', hidden: true });
    this.#root.setAttribute('aria-label', 'Playback');
    this.#back = el('button', { id: 'step-back', type: 'button', textContent: '◀|', title: 'Step back one frame (←; shift: 5 s)' });
    this.#play = el('button', { id: 'play-pause', type: 'button', textContent: 'Pause', title: 'Pause / play (space)' });
    this.#step = el('button', { id: 'step-forward', type: 'button', textContent: '|▶', title: 'Step one frame (→; shift: 5 s)' });
    this.#speed = el('select', { id: 'speed', title: 'Playback speed ([ slower, ] faster)' });
    for (const s of SPEEDS) this.#speed.append(el('option', { value: String(s), textContent: `${s}×` }));
    this.#speed.value = '1';
    this.#where = el('span', { id: 'position', className: 'position', textContent: '–' });
    this.#live = el('button', { id: 'back-to-live', type: 'button', textContent: 'Back to live', hidden: true });
    const canvas = el('canvas', { id: 'timeline', title: 'Gland area over time: click to go there' });
    this.#root.append(this.#back, this.#play, this.#step, this.#speed, this.#where, this.#live, canvas);
    options.before.before(this.#root);
    this.#timeline = new AreaTimeline({ canvas, token: options.token, onSeek: (t) => this.seek(t) });
    this.#play.addEventListener('click', () => this.togglePause());
    this.#back.addEventListener('click', () => this.step(-1));
    this.#step.addEventListener('click', () => this.step(1));
    this.#live.addEventListener('click', () => this.#setFrozen(false));
    this.#speed.addEventListener('change', () => this.#control({ action: 'speed', speed: Number(this.#speed.value) }));
  }

  /** Live view held: the viewer shows no new picture. */
  get viewFrozen(): boolean {
    return this.#frozen;
  }

  get timelinePoints(): number {
    return this.#timeline.points;
  }

  #replay(): boolean {
    return this.#stream?.kind === 'replay' && this.#stream.status?.playback !== undefined && this.#stream.live;
  }

  /** The chosen stream, or its new state. */
  setStream(stream: WireStream | undefined): void {
    if (stream?.id !== this.#stream?.id) {
      this.#frozen = false;
      this.#index = -1;
    }
    this.#stream = stream;
    const replay = stream?.kind === 'replay';
    const controllable = this.#replay();
    this.#root.hidden = stream === undefined;
    this.#timeline.setStream(replay ? stream.id : undefined);
    for (const b of [this.#back, this.#step, this.#speed]) b.hidden = !controllable;
    const pb = stream?.status?.playback;
    if (controllable && pb !== undefined) {
      this.#play.textContent = pb.paused ? 'Play' : 'Pause';
      this.#speed.value = String(pb.speed);
      this.#root.dataset['paused'] = String(pb.paused);
    } else if (!replay && stream !== undefined) {
      // Live: only the view pauses.
      this.#play.textContent = this.#frozen ? 'Resume view' : 'Pause view';
    }
    this.#play.hidden = stream === undefined || (replay && !controllable);
    this.#live.hidden = replay || !this.#frozen;
  }

  /** A picture was drawn. */
  shown(index: number, pts: number): void {
    this.#index = index;
    this.#pts = pts;
    this.#where.textContent = `${fmtTime(pts)}  frame ${index}`;
    if (this.#stream?.kind === 'replay') this.#timeline.position(pts);
  }

  togglePause(): void {
    if (this.#replay()) this.#control({ action: this.#stream!.status!.playback!.paused ? 'play' : 'pause' });
    else if (this.#stream !== undefined) this.#setFrozen(!this.#frozen);
  }

  step(frames: 1 | -1): void {
    if (this.#replay()) this.#control({ action: 'step', frames });
  }

  seek(t: number): void {
    if (this.#replay()) this.#control({ action: 'seek', t: Math.max(0, t) });
  }

  /** '[' / ']': the next slower / faster speed. */
  #nudgeSpeed(dir: 1 | -1): void {
    const now = this.#stream?.status?.playback?.speed ?? 1;
    const i = SPEEDS.findIndex((s) => s >= now);
    const next = SPEEDS[Math.min(SPEEDS.length - 1, Math.max(0, (i < 0 ? SPEEDS.length - 1 : i) + dir))]!;
    if (next !== now) this.#control({ action: 'speed', speed: next });
  }

  /** The keys of the controls: true when `e` was one (the caller prevents its default). */
  handleKey(e: KeyboardEvent): boolean {
    if (this.#stream === undefined) return false;
    switch (e.key) {
      case ' ':
        this.togglePause();
        return true;
      case 'ArrowLeft':
      case 'ArrowRight': {
        if (!this.#replay()) return false;
        const dir = e.key === 'ArrowLeft' ? -1 : 1;
        if (e.shiftKey) this.seek(this.#pts + dir * 5);
        else this.step(dir);
        return true;
      }
      case '[':
      case ']':
        if (!this.#replay()) return false;
        this.#nudgeSpeed(e.key === '[' ? -1 : 1);
        return true;
      default:
        return false;
    }
  }

  #setFrozen(frozen: boolean): void {
    this.#frozen = frozen;
    this.setStream(this.#stream);
  }

  #control(c: { action: 'pause' | 'play' | 'step' | 'seek' | 'speed'; t?: number; speed?: number; frames?: 1 | -1 }): void {
    const id = this.#stream?.id;
    if (id === undefined) return;
    this.#o.send({ type: 'control', streamId: id, ...c });
  }
}
