/**
 * Draws the current picture and its outline on the canvas. The canvas is fitted to the stage
 * keeping the picture's aspect, and its backing store is devicePixelRatio times its CSS size so
 * video and outline stay sharp on HiDPI screens. The outline is a vector path drawn here, in canvas
 * pixels, so its thickness is the same on every screen.
 */
import type { FrameHeader } from '../../src/shared/protocol.js';
import type { Picture } from './decoders.js';

export interface OverlayStyle {
  visible: boolean;
  color: string;
  /** Line width, CSS pixels. */
  thickness: number;
  /** 0–1. */
  fillOpacity: number;
}

/** The outline's path at `sx`, `sy` canvas pixels per source pixel (fill it with the even-odd rule). */
export function outlinePath(header: FrameHeader, sx: number, sy: number): Path2D {
  const path = new Path2D();
  for (const c of header.contours) {
    const p = c.points;
    if (p.length < 2) continue;
    // Points are pixel centres: +0.5 puts them in the middle of the drawn pixel.
    path.moveTo((p[0]! + 0.5) * sx, (p[1]! + 0.5) * sy);
    for (let i = 2; i + 1 < p.length; i += 2) path.lineTo((p[i]! + 0.5) * sx, (p[i + 1]! + 0.5) * sy);
    path.closePath();
  }
  return path;
}

export class Renderer {
  readonly #canvas: HTMLCanvasElement;
  readonly #stage: HTMLElement;
  readonly #ctx: CanvasRenderingContext2D;
  #picture: Picture | undefined;
  #style: OverlayStyle;
  #aspect = 4 / 3;
  #stale = false;

  constructor(canvas: HTMLCanvasElement, stage: HTMLElement, style: OverlayStyle) {
    this.#canvas = canvas;
    this.#stage = stage;
    const ctx = canvas.getContext('2d', { alpha: false });
    if (ctx === null) throw new Error('no 2D canvas context');
    this.#ctx = ctx;
    this.#style = style;
    new ResizeObserver(() => this.#fitAndDraw()).observe(stage);
    window.addEventListener('resize', () => this.#fitAndDraw());
    this.#fit();
  }

  get style(): OverlayStyle {
    return this.#style;
  }

  setStyle(style: OverlayStyle): void {
    this.#style = style;
    this.#draw();
  }

  /**
   * The picture on screen is not current (stream stalled, lost, ended, hub unreachable): draw it
   * greyed and darkened with its outline dashed and grey, so nobody reads it as the live scan.
   */
  setStale(stale: boolean): void {
    if (stale === this.#stale) return;
    this.#stale = stale;
    this.#draw();
  }

  get stale(): boolean {
    return this.#stale;
  }

  /** The picture on screen (undefined before the first); valid until the next `show`/`clear`. */
  get picture(): Picture | undefined {
    return this.#picture;
  }

  /** Shows a new picture (the previous one is released). */
  show(picture: Picture): void {
    this.#picture?.close();
    this.#picture = picture;
    // The source's aspect, not the picture's: a JPEG fallback picture may be the model-size (squashed) frame.
    const aspect = picture.header.sourceWidth / Math.max(1, picture.header.sourceHeight);
    if (Math.abs(aspect - this.#aspect) > 1e-3) {
      this.#aspect = aspect;
      this.#fit();
    }
    this.#draw();
  }

  /** Forgets the picture (stream changed); leaves the canvas black. */
  clear(): void {
    this.#picture?.close();
    this.#picture = undefined;
    this.#draw();
  }

  #fitAndDraw(): void {
    this.#fit();
    this.#draw();
  }

  #fit(): void {
    const dpr = window.devicePixelRatio || 1;
    const sw = Math.max(1, this.#stage.clientWidth);
    const sh = Math.max(1, this.#stage.clientHeight);
    let cw = sw;
    let ch = sw / this.#aspect;
    if (ch > sh) {
      ch = sh;
      cw = sh * this.#aspect;
    }
    cw = Math.floor(cw);
    ch = Math.floor(ch);
    this.#canvas.style.width = `${cw}px`;
    this.#canvas.style.height = `${ch}px`;
    const bw = Math.max(1, Math.round(cw * dpr));
    const bh = Math.max(1, Math.round(ch * dpr));
    if (this.#canvas.width !== bw || this.#canvas.height !== bh) {
      this.#canvas.width = bw;
      this.#canvas.height = bh;
    }
  }

  #draw(): void {
    const ctx = this.#ctx;
    const w = this.#canvas.width;
    const h = this.#canvas.height;
    ctx.fillStyle = '#000';
    ctx.fillRect(0, 0, w, h);
    const pic = this.#picture;
    if (pic === undefined) return;
    ctx.imageSmoothingEnabled = true;
    ctx.imageSmoothingQuality = 'high';
    ctx.drawImage(pic.source, 0, 0, w, h);
    if (this.#stale) {
      // 'saturation' with a grey takes the colour out (every browser has it; ctx.filter not);
      // then darken, so the greyed picture differs from a grey ultrasound image too.
      ctx.globalCompositeOperation = 'saturation';
      ctx.fillStyle = '#808080';
      ctx.fillRect(0, 0, w, h);
      ctx.globalCompositeOperation = 'source-over';
      ctx.fillStyle = 'rgba(0, 0, 0, 0.45)';
      ctx.fillRect(0, 0, w, h);
    }
    if (this.#style.visible) this.#drawOverlay(pic.header, w, h);
  }

  #drawOverlay(header: FrameHeader, w: number, h: number): void {
    if (header.contours.length === 0) return;
    const ctx = this.#ctx;
    const sx = w / Math.max(1, header.sourceWidth);
    const sy = h / Math.max(1, header.sourceHeight);
    const path = outlinePath(header, sx, sy);
    const dpr = window.devicePixelRatio || 1;
    // A stale outline: grey, dashed, unfilled, so it cannot pass for the current gland.
    const color = this.#stale ? '#9aa4b2' : this.#style.color;
    if (this.#style.fillOpacity > 0 && !this.#stale) {
      ctx.globalAlpha = this.#style.fillOpacity;
      ctx.fillStyle = color;
      ctx.fill(path, 'evenodd');
      ctx.globalAlpha = 1;
    }
    ctx.strokeStyle = color;
    ctx.lineWidth = this.#style.thickness * dpr;
    ctx.lineJoin = 'round';
    ctx.setLineDash(this.#stale ? [4 * dpr, 6 * dpr] : []);
    ctx.stroke(path);
    ctx.setLineDash([]);
  }
}
