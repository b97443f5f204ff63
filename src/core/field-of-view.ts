/**
 * The field of view: where the ultrasound image lies inside a scanner's screen.
 *
 * Every scanner draws its B-mode image at its own place and scale, framed by its own interface
 * (text, scales, logos, measurement boxes). A network given the whole screen stretched to a square
 * learns each scanner's layout; given the field of view, undistorted, it learns the gland. The
 * detector finds the largest dense, non-dark region: the image is speckle that fills its area,
 * text and scales are thin strokes that do not. It works on a reduced grey copy (long side
 * `workSize`), so it costs the same at any resolution and the result does not depend on it.
 *
 * The model window is the square (in frame pixels) centred on the field of view that holds it:
 * the network sees the field of view at its own aspect ratio, the rest of the square black. The
 * training tool (models/training) reads the same boxes through `scripts/field-of-view.ts`, so
 * training and runtime crop alike.
 */
import type { RgbImage } from './image.js';

/** A rectangle in pixels of a frame: `x, y` its top-left corner. */
export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * How the field of view fills the model's square input: `letterbox` keeps its aspect ratio (the
 * square that holds it, black around it); `stretch` scales it to fill the square.
 */
export type WindowFit = 'letterbox' | 'stretch';

/** What the model sees of a frame of `frameWidth`×`frameHeight` pixels. */
export interface ModelWindow {
  frameWidth: number;
  frameHeight: number;
  /** The ultrasound image; pixels outside it are black for the model, and never gland. */
  fov: Rect;
  /** The rectangle resampled to the model's input: the square that holds the field of view (it
   *  may reach past the frame), or the field of view itself when stretched. */
  window: Rect;
}

export interface FieldOfViewOptions {
  /** Long side of the grey copy the detector works on. Default 256. */
  workSize?: number;
  /** Grey level (0–255) above which a pixel counts as image: low, since deep tissue is dark but rarely black. Default 6. */
  darkLevel?: number;
  /** Share of image pixels in the neighbourhood for a pixel to be dense. Default 0.6. */
  density?: number;
  /** Neighbourhood radius as a share of the work copy's long side. Default 0.025. */
  radius?: number;
  /** A region smaller than this share of the frame is no field of view: the whole frame is used. Default 0.1. */
  minArea?: number;
}

const DEFAULTS: Required<FieldOfViewOptions> = { workSize: 256, darkLevel: 6, density: 0.6, radius: 0.025, minArea: 0.1 };

/** The whole frame as a field of view (when nothing better is found). */
export function wholeFrame(width: number, height: number): Rect {
  return { x: 0, y: 0, width, height };
}

/** Finds the field of view of one frame, in its pixels. */
export function detectFieldOfView(img: RgbImage, options: FieldOfViewOptions = {}): Rect {
  const o = { ...DEFAULTS, ...options };
  const { width: W, height: H } = img;
  if (W < 8 || H < 8) return wholeFrame(W, H);
  const s = Math.min(1, o.workSize / Math.max(W, H));
  const w = Math.max(8, Math.round(W * s));
  const h = Math.max(8, Math.round(H * s));
  const on = brightMap(img, w, h, o.darkLevel);
  const r = Math.max(1, Math.round(o.radius * Math.max(w, h)));
  const dense = densityMap(on, w, h, r, o.density);
  const box = largestComponentBox(dense, w, h);
  if (box === undefined || box.width * box.height < o.minArea * w * h) return wholeFrame(W, H);
  // A pixel at the image's edge has half its neighbourhood filled: the density threshold trims
  // about (2r + 1)·(density − 1/2) at each edge. Give it back, then scale to the frame.
  const grow = Math.max(0, Math.round((2 * r + 1) * (o.density - 0.5)));
  const x0 = Math.max(0, box.x - grow);
  const y0 = Math.max(0, box.y - grow);
  const x1 = Math.min(w, box.x + box.width + grow);
  const y1 = Math.min(h, box.y + box.height + grow);
  const fx0 = Math.max(0, Math.floor((x0 * W) / w));
  const fy0 = Math.max(0, Math.floor((y0 * H) / h));
  const fx1 = Math.min(W, Math.ceil((x1 * W) / w));
  const fy1 = Math.min(H, Math.ceil((y1 * H) / h));
  return { x: fx0, y: fy0, width: fx1 - fx0, height: fy1 - fy0 };
}

/** The model window of a field of view: the square that holds it, centred on it (or itself, stretched). */
export function modelWindow(fov: Rect, frameWidth: number, frameHeight: number, fit: WindowFit = 'letterbox'): ModelWindow {
  if (fit === 'stretch') return { frameWidth, frameHeight, fov: { ...fov }, window: { ...fov } };
  const side = Math.max(fov.width, fov.height);
  const x = fov.x - Math.floor((side - fov.width) / 2);
  const y = fov.y - Math.floor((side - fov.height) / 2);
  return { frameWidth, frameHeight, fov: { ...fov }, window: { x, y, width: side, height: side } };
}

/**
 * Finds the field of view of `img` and returns the model window of the frame it shows at
 * `width`×`height` (its own size by default; e.g. the source size when `img` is FFmpeg's scaled
 * copy): the window is square in those pixels, so the gland keeps its aspect ratio.
 */
export function findModelWindow(img: RgbImage, width = img.width, height = img.height, options: FieldOfViewOptions = {}, fit: WindowFit = 'letterbox'): ModelWindow {
  const fov = detectFieldOfView(img, options);
  const scaled = scaleWindow({ frameWidth: img.width, frameHeight: img.height, fov, window: fov }, width, height).fov;
  return modelWindow(scaled, width, height, fit);
}

/** The same window for the same frame at another size (e.g. FFmpeg's scaled copy, the working size). */
export function scaleWindow(mw: ModelWindow, width: number, height: number): ModelWindow {
  if (width === mw.frameWidth && height === mw.frameHeight) return mw;
  const sx = width / mw.frameWidth;
  const sy = height / mw.frameHeight;
  const sc = (r: Rect): Rect => ({ x: r.x * sx, y: r.y * sy, width: r.width * sx, height: r.height * sy });
  return { frameWidth: width, frameHeight: height, fov: sc(mw.fov), window: sc(mw.window) };
}

/** Intersection over union of two rectangles (1 for equal ones). */
export function rectIou(a: Rect, b: Rect): number {
  const ix = Math.max(0, Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x));
  const iy = Math.max(0, Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y));
  const inter = ix * iy;
  const union = a.width * a.height + b.width * b.height - inter;
  return union > 0 ? inter / union : 1;
}

/** 1 where the area-averaged grey level of the reduced copy is above `dark`. */
function brightMap(img: RgbImage, w: number, h: number, dark: number): Uint8Array {
  const { width: W, height: H, data } = img;
  const out = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    const sy0 = Math.floor((y * H) / h);
    const sy1 = Math.max(sy0 + 1, Math.floor(((y + 1) * H) / h));
    for (let x = 0; x < w; x++) {
      const sx0 = Math.floor((x * W) / w);
      const sx1 = Math.max(sx0 + 1, Math.floor(((x + 1) * W) / w));
      // Sparse sampling of the cell (at most 4×4 taps) is enough for a layout decision.
      const stepY = Math.max(1, Math.floor((sy1 - sy0) / 4));
      const stepX = Math.max(1, Math.floor((sx1 - sx0) / 4));
      let sum = 0;
      let n = 0;
      for (let yy = sy0; yy < sy1; yy += stepY) {
        let p = (yy * W + sx0) * 3;
        for (let xx = sx0; xx < sx1; xx += stepX, p += 3 * stepX) {
          sum += data[p]! + data[p + 1]! + data[p + 2]!;
          n++;
        }
      }
      out[y * w + x] = sum / (3 * n) > dark ? 1 : 0;
    }
  }
  return out;
}

/** 1 where at least `share` of the (2r+1)² neighbourhood (clipped to the map) is 1. */
function densityMap(on: Uint8Array, w: number, h: number, r: number, share: number): Uint8Array {
  const iw = w + 1;
  const integral = new Uint32Array(iw * (h + 1));
  for (let y = 0; y < h; y++) {
    let row = 0;
    for (let x = 0; x < w; x++) {
      row += on[y * w + x]!;
      integral[(y + 1) * iw + x + 1] = integral[y * iw + x + 1]! + row;
    }
  }
  const out = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    const y0 = Math.max(0, y - r);
    const y1 = Math.min(h, y + r + 1);
    for (let x = 0; x < w; x++) {
      if (on[y * w + x] === 0) continue;
      const x0 = Math.max(0, x - r);
      const x1 = Math.min(w, x + r + 1);
      const sum = integral[y1 * iw + x1]! - integral[y0 * iw + x1]! - integral[y1 * iw + x0]! + integral[y0 * iw + x0]!;
      out[y * w + x] = sum >= share * (x1 - x0) * (y1 - y0) ? 1 : 0;
    }
  }
  return out;
}

/** Bounding box of the largest 4-connected region of 1s. */
function largestComponentBox(m: Uint8Array, w: number, h: number): Rect | undefined {
  const seen = new Uint8Array(w * h);
  const stack = new Int32Array(w * h);
  let best: { n: number; box: Rect } | undefined;
  for (let start = 0; start < m.length; start++) {
    if (m[start] === 0 || seen[start] === 1) continue;
    let top = 0;
    stack[top++] = start;
    seen[start] = 1;
    let n = 0;
    let x0 = w;
    let y0 = h;
    let x1 = -1;
    let y1 = -1;
    while (top > 0) {
      const p = stack[--top]!;
      n++;
      const x = p % w;
      const y = (p - x) / w;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
      if (x > 0 && m[p - 1] === 1 && seen[p - 1] === 0) { seen[p - 1] = 1; stack[top++] = p - 1; }
      if (x < w - 1 && m[p + 1] === 1 && seen[p + 1] === 0) { seen[p + 1] = 1; stack[top++] = p + 1; }
      if (y > 0 && m[p - w] === 1 && seen[p - w] === 0) { seen[p - w] = 1; stack[top++] = p - w; }
      if (y < h - 1 && m[p + w] === 1 && seen[p + w] === 0) { seen[p + w] = 1; stack[top++] = p + w; }
    }
    if (best === undefined || n > best.n) best = { n, box: { x: x0, y: y0, width: x1 - x0 + 1, height: y1 - y0 + 1 } };
  }
  return best?.box;
}
