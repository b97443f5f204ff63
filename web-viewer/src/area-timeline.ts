/**
 * The timeline under the picture of a replay: the gland area of every frame segmented so far drawn
 * as a curve over time (from `GET /areas/<stream>.json`, polled), the position shown as a line, the
 * largest area marked, so the frames where the gland is largest are easy to find. A click seeks there.
 */

export interface AreaTimelineOptions {
  canvas: HTMLCanvasElement;
  /** The page's ?token=, for the area request. */
  token: string | null;
  /** The user clicked at `t` s. */
  onSeek: (t: number) => void;
  /** Poll period, ms. Default 2000. */
  pollMs?: number;
}

export class AreaTimeline {
  readonly #o: AreaTimelineOptions;
  #streamId: string | undefined;
  /** [index, pts, area] in index order. */
  #frames: [number, number, number][] = [];
  #pts: number | undefined;
  #timer: number | undefined;
  #busy = false;

  constructor(options: AreaTimelineOptions) {
    this.#o = options;
    options.canvas.addEventListener('click', (e) => {
      const end = this.durationS;
      if (end <= 0) return;
      const rect = options.canvas.getBoundingClientRect();
      const x = Math.min(1, Math.max(0, (e.clientX - rect.left) / rect.width));
      options.onSeek(x * end);
    });
  }

  /** Points of the curve now (tests read it through the debug state). */
  get points(): number {
    return this.#frames.length;
  }

  /** The end of the timeline: the latest frame segmented, s. */
  get durationS(): number {
    const last = this.#frames.length > 0 ? this.#frames.reduce((m, f) => Math.max(m, f[1]), 0) : 0;
    return Math.max(last, this.#pts ?? 0);
  }

  /** Follows a stream (undefined: none; stops polling). */
  setStream(streamId: string | undefined): void {
    if (streamId === this.#streamId) return;
    this.#streamId = streamId;
    this.#frames = [];
    this.#pts = undefined;
    window.clearInterval(this.#timer);
    this.#timer = undefined;
    if (streamId !== undefined) {
      void this.#poll();
      this.#timer = window.setInterval(() => void this.#poll(), this.#o.pollMs ?? 2000);
    }
    this.draw();
  }

  /** The picture on screen is at `pts` s. */
  position(pts: number): void {
    this.#pts = pts;
    this.draw();
  }

  async #poll(): Promise<void> {
    const id = this.#streamId;
    if (id === undefined || this.#busy) return;
    this.#busy = true;
    try {
      const q = this.#o.token !== null ? `?token=${encodeURIComponent(this.#o.token)}` : '';
      const res = await fetch(`/areas/${encodeURIComponent(id)}.json${q}`, { cache: 'no-store' });
      if (!res.ok || id !== this.#streamId) return;
      const body = (await res.json()) as { frames?: unknown };
      if (Array.isArray(body.frames)) this.#frames = body.frames as [number, number, number][];
      this.draw();
    } catch {
      // The next poll tries again; the curve just stays as it was.
    } finally {
      this.#busy = false;
    }
  }

  draw(): void {
    const c = this.#o.canvas;
    const w = c.clientWidth || 600;
    const h = c.clientHeight || 60;
    if (c.width !== w) c.width = w;
    if (c.height !== h) c.height = h;
    const g = c.getContext('2d');
    if (g === null) return;
    g.clearRect(0, 0, w, h);
    const end = this.durationS;
    if (end <= 0) return;
    const maxArea = this.#frames.reduce((m, f) => Math.max(m, f[2]), 0);
    // From the smallest to the largest area, so that the changes within an exam show (a gland's
    // area varies by tens of per cent, not from zero).
    const minArea = this.#frames.reduce((m, f) => Math.min(m, f[2]), maxArea);
    const span = Math.max(maxArea - minArea, maxArea * 0.05, 1);
    const x = (t: number): number => (t / end) * w;
    if (this.#frames.length > 0 && maxArea > 0) {
      g.strokeStyle = '#00e5ff';
      g.lineWidth = 1.5;
      g.beginPath();
      let first = true;
      let best = this.#frames[0]!;
      for (const f of this.#frames) {
        const px = x(f[1]);
        const py = h - 4 - ((f[2] - minArea) / span) * (h - 16);
        if (first) g.moveTo(px, py);
        else g.lineTo(px, py);
        first = false;
        if (f[2] > best[2]) best = f;
      }
      g.stroke();
      // The largest area: where to look first.
      g.fillStyle = '#ffcc00';
      g.beginPath();
      const bx = x(best[1]);
      g.arc(bx, h - 4 - ((best[2] - minArea) / span) * (h - 16), 4, 0, 2 * Math.PI);
      g.fill();
      g.font = '12px system-ui, sans-serif';
      g.textBaseline = 'top';
      const label = `largest ${Math.round(best[2]).toLocaleString('en-US')} px² at ${best[1].toFixed(2)} s (frame ${best[0]})`;
      g.fillText(label, Math.min(Math.max(0, bx - 60), Math.max(0, w - g.measureText(label).width)), 0);
    }
    if (this.#pts !== undefined) {
      g.strokeStyle = '#ffffff';
      g.lineWidth = 2;
      g.beginPath();
      g.moveTo(x(this.#pts), 0);
      g.lineTo(x(this.#pts), h);
      g.stroke();
    }
  }

  close(): void {
    window.clearInterval(this.#timer);
  }
}
