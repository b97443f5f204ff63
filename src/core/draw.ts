/** Drawing contours over an image (for `_SG_ContourOverInput.png` and the annotated video). */
import type { Contour } from './contours.js';
import type { RgbImage } from './image.js';

export interface DrawOptions {
  /** Outline colour, RGB. Default green (0, 255, 0), as the published tool. */
  color?: [number, number, number];
  /** Line thickness in pixels. Default 2. */
  thickness?: number;
}

/** Returns a copy of `img` with every contour drawn as a closed polyline. */
export function drawContours(img: RgbImage, contours: readonly Contour[], options: DrawOptions = {}): RgbImage {
  const out: RgbImage = { width: img.width, height: img.height, data: new Uint8Array(img.data) };
  drawContoursInPlace(out, contours, options);
  return out;
}

export function drawContoursInPlace(img: RgbImage, contours: readonly Contour[], options: DrawOptions = {}): void {
  const [r, g, b] = options.color ?? [0, 255, 0];
  strokeContours(contours, options.thickness ?? 2, img.width, img.height, (x, y) => {
    const o = (y * img.width + x) * 3;
    img.data[o] = r;
    img.data[o + 1] = g;
    img.data[o + 2] = b;
  });
}

/**
 * The geometry of an outline, apart from the pixel format: every closed contour as Bresenham lines
 * with a square brush of `thickness` pixels, clipped to `width`×`height`; `paint` is called for each
 * covered pixel (RGB images here, YUV pictures in the annotated-video sink).
 */
export function strokeContours(contours: readonly Contour[], thickness: number, width: number, height: number, paint: (x: number, y: number) => void): void {
  const t = Math.max(1, Math.round(thickness));
  const r0 = -Math.floor((t - 1) / 2);
  const plot = (x: number, y: number): void => {
    for (let dy = r0; dy < r0 + t; dy++) {
      const yy = y + dy;
      if (yy < 0 || yy >= height) continue;
      for (let dx = r0; dx < r0 + t; dx++) {
        const xx = x + dx;
        if (xx >= 0 && xx < width) paint(xx, yy);
      }
    }
  };
  for (const c of contours) {
    const pts = c.points;
    for (let k = 0; k < pts.length; k++) {
      const a = pts[k]!;
      const b = pts[(k + 1) % pts.length]!;
      line(Math.round(a[0]), Math.round(a[1]), Math.round(b[0]), Math.round(b[1]), plot);
    }
  }
}

/** Bresenham line. */
function line(x0: number, y0: number, x1: number, y1: number, plot: (x: number, y: number) => void): void {
  const dx = Math.abs(x1 - x0);
  const dy = -Math.abs(y1 - y0);
  const sx = x0 < x1 ? 1 : -1;
  const sy = y0 < y1 ? 1 : -1;
  let err = dx + dy;
  for (;;) {
    plot(x0, y0);
    if (x0 === x1 && y0 === y1) return;
    const e2 = 2 * err;
    if (e2 >= dy) {
      err += dy;
      x0 += sx;
    }
    if (e2 <= dx) {
      err += dx;
      y0 += sy;
    }
  }
}
