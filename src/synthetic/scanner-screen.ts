/**
 * A synthetic scanner screen: an ultrasound image (syntheticFrame) drawn at a known place and size
 * inside a black interface with text, a grey-level bar and depth ticks, as scanners draw theirs. It
 * gives the field-of-view detector and the model-window mapping a layout whose truth is known.
 */
import type { Rect } from '../core/field-of-view.js';
import type { GreyImage, RgbImage } from '../core/image.js';
import { mulberry32, syntheticFrame } from './ultrasound-frame.js';

export interface ScannerScreenOptions {
  /** Screen size. */
  width: number;
  height: number;
  /** Where the ultrasound image is drawn (integer pixels inside the screen). */
  fov: Rect;
  /** Seed of the image and interface. Default 1. */
  seed?: number;
  /** Time in seconds (the gland moves with it, for clips). Default 0. */
  t?: number;
  /**
   * A depth ruler beside the image, as scanners draw theirs: labels 0, 1, 2, ... cm every `pxPerCm`
   * from the image's top, ticks every `tickCm` (dashes, or dots as Samsung draws them), on the
   * `side` given, with the labels `glyphHeight` pixels tall. Default: none.
   */
  depthRuler?: { pxPerCm: number; side?: 'left' | 'right'; tickCm?: number; dots?: boolean; glyphHeight?: number; firstLabel?: number };
  /** Lines of settings text at equal spacing beside the image (a false ruler). Default: none. */
  textPanel?: { lineSpacing: number; lines: number };
}

/** A 5x7 bitmap font of the digits (rows top to bottom, bit 4 = leftmost column). */
const DIGITS: Record<string, number[]> = {
  '0': [14, 17, 19, 21, 25, 17, 14],
  '1': [4, 12, 4, 4, 4, 4, 14],
  '2': [14, 17, 1, 2, 4, 8, 31],
  '3': [31, 2, 4, 2, 1, 17, 14],
  '4': [2, 6, 10, 18, 31, 2, 2],
  '5': [31, 16, 30, 1, 1, 17, 14],
  '6': [6, 8, 16, 30, 17, 17, 14],
  '7': [31, 1, 2, 4, 8, 8, 8],
  '8': [14, 17, 17, 14, 17, 17, 14],
  '9': [14, 17, 17, 15, 1, 2, 12],
};

/** Draws `text` (digits; other characters as blocks) `h` pixels tall with its centre-left at (x, y). */
function drawText(put: (x: number, y: number, v: number) => void, text: string, x: number, y: number, h: number, v = 230): number {
  const scale = Math.max(1, Math.round(h / 7));
  let cx = x;
  for (const ch of text) {
    const rows = DIGITS[ch] ?? [31, 31, 31, 31, 31, 31, 31];
    for (let r = 0; r < 7; r++) {
      for (let c = 0; c < 5; c++) {
        if ((rows[r]! & (16 >> c)) === 0) continue;
        for (let dy = 0; dy < scale; dy++) for (let dx = 0; dx < scale; dx++) put(cx + c * scale + dx, Math.round(y - 3.5 * scale) + r * scale + dy, v);
      }
    }
    cx += 6 * scale;
  }
  return cx;
}

export interface ScannerScreen {
  image: RgbImage;
  /** 0/255 gland mask in screen pixels. */
  mask: GreyImage;
  fov: Rect;
}

export function scannerScreen(options: ScannerScreenOptions): ScannerScreen {
  const { width: W, height: H, fov } = options;
  const seed = options.seed ?? 1;
  const inner = syntheticFrame({ width: fov.width, height: fov.height, seed, t: options.t ?? 0 });
  const image = new Uint8Array(W * H * 3);
  const mask = new Uint8Array(W * H);
  const rnd = mulberry32(seed * 31 + 5);
  // Interface text: short bright strokes in rows, left and right of the image and above it.
  const put = (x: number, y: number, v: number): void => {
    if (x < 0 || y < 0 || x >= W || y >= H) return;
    if (x >= fov.x && x < fov.x + fov.width && y >= fov.y && y < fov.y + fov.height) return;
    const o = (y * W + x) * 3;
    image[o] = v;
    image[o + 1] = v;
    image[o + 2] = v;
  };
  // Scanners keep their text clear of the depth ruler: a line that would cross its strip moves on.
  const rulerRight = (options.depthRuler?.side ?? 'right') === 'right';
  const strip = options.depthRuler === undefined ? undefined : rulerRight ? [fov.x + fov.width, fov.x + fov.width + 70] : [fov.x - 70, fov.x];
  for (let line = 0; line < 40; line++) {
    const x0 = Math.floor(rnd() * W);
    const y0 = Math.floor(rnd() * H);
    if (strip !== undefined && x0 + 56 >= strip[0]! && x0 <= strip[1]!) continue;
    for (let c = 0; c < 8; c++) {
      const gx = x0 + c * 7;
      // A glyph: a 1-pixel vertical and horizontal stroke.
      for (let k = 0; k < 7; k++) put(gx, y0 + k, 220);
      for (let k = 0; k < 4; k++) put(gx + k, y0 + Math.floor(rnd() * 7), 220);
    }
  }
  if (options.depthRuler !== undefined) {
    const r = options.depthRuler;
    const right = (r.side ?? 'right') === 'right';
    const glyph = r.glyphHeight ?? 14;
    const tickX = right ? fov.x + fov.width + 6 : fov.x - 16;
    const labelX = right ? tickX + 14 : tickX - 8 - Math.round(glyph / 7) * 6;
    const tickCm = r.tickCm ?? 0.5;
    for (let cm = 0; cm * r.pxPerCm <= fov.height; cm += tickCm) {
      const y = Math.round(fov.y + cm * r.pxPerCm);
      if (r.dots === true) for (let d = 0; d < 2; d++) for (let e = 0; e < 2; e++) put(tickX + 4 + d, y + e, 210);
      else for (let k = 0; k < 8; k++) put(tickX + k, y, 210);
    }
    for (let cm = r.firstLabel ?? 0; cm * r.pxPerCm <= fov.height; cm++) drawText(put, String(cm), labelX, Math.round(fov.y + cm * r.pxPerCm + glyph * 0.6), glyph);
  }
  if (options.textPanel !== undefined) {
    const p = options.textPanel;
    const x = fov.x + fov.width + 10;
    for (let l = 0; l < p.lines; l++) drawText(put, `${(l * 7 + 12) % 97}.${l}`, x, fov.y + 20 + l * p.lineSpacing, 14);
  }
  // A grey-level bar beside the image, as scanners show their map.
  const barX = Math.max(0, fov.x - 14);
  for (let y = fov.y; y < fov.y + Math.min(fov.height, 80); y++) for (let x = barX; x < barX + 6; x++) put(x, y, Math.round((255 * (y - fov.y)) / 80));
  // syntheticFrame draws its own interface band at the top: its first tissue row stands in there.
  const band = Math.max(4, Math.round(fov.height * 0.08));
  for (let y = 0; y < fov.height; y++) {
    for (let x = 0; x < fov.width; x++) {
      const X = fov.x + x;
      const Y = fov.y + y;
      if (X < 0 || Y < 0 || X >= W || Y >= H) continue;
      const o = (Y * W + X) * 3;
      const src = (y < band ? band : y) * fov.width + x;
      image[o] = inner.image.data[src * 3]!;
      image[o + 1] = inner.image.data[src * 3 + 1]!;
      image[o + 2] = inner.image.data[src * 3 + 2]!;
      mask[Y * W + X] = inner.mask.data[src]!;
    }
  }
  return { image: { width: W, height: H, data: image }, mask: { width: W, height: H, data: mask }, fov: { ...fov } };
}
