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
  for (let line = 0; line < 40; line++) {
    const x0 = Math.floor(rnd() * W);
    const y0 = Math.floor(rnd() * H);
    for (let c = 0; c < 8; c++) {
      const gx = x0 + c * 7;
      // A glyph: a 1-pixel vertical and horizontal stroke.
      for (let k = 0; k < 7; k++) put(gx, y0 + k, 220);
      for (let k = 0; k < 4; k++) put(gx + k, y0 + Math.floor(rnd() * 7), 220);
    }
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
