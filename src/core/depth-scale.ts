/**
 * The scanner's depth ruler, read off its screen: the column of centimetre labels (0, 1, 2, ...)
 * beside the image, with its tick marks between them. Video from a capture card or an MP4 carries
 * no calibration, but every scanner draws this ruler, so the spacing of its labels gives the
 * vertical scale of the image: pixels per centimetre of depth.
 *
 * Never a guess: a ruler is reported only when at least three labels sit in one column at equal
 * spacing (within 4 %) and tick marks between them fall on the same grid (or at least four labels
 * do); else undefined, and the figures stay in pixels. Two assumptions, stated wherever the scale
 * is shown: the labels count centimetres (every scanner we know labels depth in cm) and pixels are
 * square (the horizontal scale equals the vertical one).
 */
import type { Rect } from './field-of-view.js';
import { detectFieldOfView } from './field-of-view.js';
import type { GreyImage, RgbImage } from './image.js';
import { rgbToGrey } from './image.js';

export interface DepthScale {
  /** Millimetres per pixel of depth (and, pixels assumed square, across). */
  mmPerPx: number;
  /** Pixels between consecutive centimetre labels. */
  pxPerCm: number;
  /** The labels' column (x of their centres) and the y of the first and last label, in image pixels. */
  x: number;
  firstLabelY: number;
  lastLabelY: number;
  /** Labels and tick marks that agree with the scale. */
  labels: number;
  ticks: number;
}

export interface DepthScaleOptions {
  /** The ultrasound image's rectangle; the ruler is searched outside it. Default: detected. */
  fov?: Rect;
  /** Grey level from which a pixel is drawn interface (labels, ticks). Default 140. */
  brightLevel?: number;
}

interface Blob {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  pixels: number;
}

const cx = (b: Blob): number => (b.x0 + b.x1) / 2;
const cy = (b: Blob): number => (b.y0 + b.y1) / 2;
const bw = (b: Blob): number => b.x1 - b.x0 + 1;
const bh = (b: Blob): number => b.y1 - b.y0 + 1;

/** Bright 8-connected blobs outside `fov` (the interface's glyphs and marks). */
function brightBlobs(g: GreyImage, fov: Rect, level: number, maxSide: number): Blob[] {
  const { width: W, height: H, data } = g;
  // Some scanners (Esaote) draw the ruler just inside the image's edge: a band along the left and
  // right edges of the field of view is searched too.
  const band = Math.round(fov.width * 0.04);
  const inFov = (x: number, y: number): boolean => x >= fov.x + band && x < fov.x + fov.width - band && y >= fov.y && y < fov.y + fov.height;
  const seen = new Uint8Array(W * H);
  const blobs: Blob[] = [];
  const stack: number[] = [];
  for (let start = 0; start < W * H; start++) {
    if (seen[start] !== 0 || data[start]! < level) continue;
    const sx = start % W;
    const sy = (start - sx) / W;
    if (inFov(sx, sy)) continue;
    const b: Blob = { x0: sx, y0: sy, x1: sx, y1: sy, pixels: 0 };
    seen[start] = 1;
    stack.push(start);
    let tooBig = false;
    while (stack.length > 0) {
      const p = stack.pop()!;
      const x = p % W;
      const y = (p - x) / W;
      b.pixels++;
      if (x < b.x0) b.x0 = x;
      if (x > b.x1) b.x1 = x;
      if (y < b.y0) b.y0 = y;
      if (y > b.y1) b.y1 = y;
      if (b.x1 - b.x0 > maxSide || b.y1 - b.y0 > maxSide) tooBig = true;
      for (let dy = -1; dy <= 1; dy++) {
        const ny = y + dy;
        if (ny < 0 || ny >= H) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const nx = x + dx;
          if (nx < 0 || nx >= W) continue;
          const q = ny * W + nx;
          if (seen[q] !== 0 || data[q]! < level || inFov(nx, ny)) continue;
          seen[q] = 1;
          stack.push(q);
        }
      }
    }
    // Bars, frames and large text are no part of a ruler: dropped whole.
    if (!tooBig) blobs.push(b);
  }
  return blobs;
}

/** Whether the 2-pixel ring around a blob's box is mostly dark (under `level`). */
function darkRing(g: GreyImage, b: Blob, level: number): boolean {
  let n = 0;
  let bright = 0;
  for (let y = b.y0 - 2; y <= b.y1 + 2; y++) {
    for (let x = b.x0 - 2; x <= b.x1 + 2; x++) {
      if (x >= b.x0 && x <= b.x1 && y >= b.y0 && y <= b.y1) continue;
      if (x < 0 || y < 0 || x >= g.width || y >= g.height) continue;
      n++;
      if (g.data[y * g.width + x]! >= level) bright++;
    }
  }
  return n > 0 && bright <= n * 0.2;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Labels of one row merged (a two-digit "10" is two glyphs side by side). */
function mergeRows(labels: Blob[], tolerance: number): Blob[] {
  const out: Blob[] = [];
  for (const b of [...labels].sort((p, q) => cy(p) - cy(q))) {
    const last = out[out.length - 1];
    if (last !== undefined && Math.abs(cy(last) - cy(b)) <= tolerance && b.x0 - last.x1 <= bh(b)) {
      last.x0 = Math.min(last.x0, b.x0);
      last.x1 = Math.max(last.x1, b.x1);
      last.y0 = Math.min(last.y0, b.y0);
      last.y1 = Math.max(last.y1, b.y1);
      last.pixels += b.pixels;
    } else {
      out.push({ ...b });
    }
  }
  return out;
}

/**
 * The longest run of labels at one spacing (within 4 %): their spacing and members. Other glyphs
 * in the column between them (a focus marker, a caliper's number) are passed over.
 */
function evenRun(labels: Blob[]): { spacing: number; run: Blob[] } | undefined {
  let best: { spacing: number; run: Blob[] } | undefined;
  for (let i = 0; i < labels.length; i++) {
    for (let k = i + 1; k < labels.length; k++) {
      const spacing = cy(labels[k]!) - cy(labels[i]!);
      if (spacing <= 0) continue;
      const run = [labels[i]!, labels[k]!];
      for (let j = k + 1; j < labels.length; j++) {
        const d = cy(labels[j]!) - cy(run[run.length - 1]!);
        if (Math.abs(d - spacing) <= 0.04 * spacing) run.push(labels[j]!);
        else if (d > spacing * 1.04) break;
      }
      if (run.length >= 3 && (best === undefined || run.length > best.run.length)) best = { spacing: (cy(run[run.length - 1]!) - cy(run[0]!)) / (run.length - 1), run };
    }
  }
  return best;
}

/** Reads the depth ruler of a scanner screen, or undefined when none is clearly there. */
export function detectDepthScale(img: RgbImage | GreyImage, options: DepthScaleOptions = {}): DepthScale | undefined {
  const grey: GreyImage = img.data.length === img.width * img.height ? (img as GreyImage) : rgbToGrey(img as RgbImage);
  const fov = options.fov ?? detectFieldOfView(img.data.length === img.width * img.height ? { width: img.width, height: img.height, data: expandGrey(grey) } : (img as RgbImage));
  const H = grey.height;
  const blobs = brightBlobs(grey, fov, options.brightLevel ?? 140, Math.max(8, Math.round(H / 12)));
  // Glyphs of the labels: taller than wide, a few percent of the screen's height; tick marks: short
  // horizontal dashes.
  // Marks drawn on the black margin, not speckle of the image: the ring around each is dark.
  const dark = (b: Blob): boolean => darkRing(grey, b, (options.brightLevel ?? 140) / 2);
  const minGlyph = Math.max(5, H / 80);
  const maxGlyph = H / 14;
  // A label may carry its own tick ("1-", "-2"): up to 2.5 glyph heights wide.
  const glyphs = blobs.filter((b) => bh(b) >= minGlyph && bh(b) <= maxGlyph && bw(b) <= bh(b) * 2.5 && dark(b));
  // Ticks: short dashes, or dots (Samsung marks its millimetres with dots).
  const tickSide = Math.max(3, H / 150);
  const ticks = blobs.filter((b) => bh(b) <= tickSide && bw(b) <= H / 25 && (bw(b) >= bh(b) * 1.5 || bw(b) <= tickSide) && dark(b));
  // Columns of glyphs (a label column is aligned on its right or left edge or centre: centre within
  // a glyph height is close enough for digits of one font).
  let best: DepthScale | undefined;
  const used = new Set<Blob>();
  for (const seed of [...glyphs].sort((a, b) => cx(a) - cx(b))) {
    if (used.has(seed)) continue;
    const column = glyphs.filter((g) => Math.abs(cx(g) - cx(seed)) <= Math.max(bh(seed), bh(g)) * 0.8);
    for (const g of column) used.add(g);
    const labels = mergeRows(column, bh(seed) / 2);
    const even = evenRun(labels);
    if (even === undefined || even.spacing < H / 30) continue;
    // The ruler spans the image's depth: its labels lie beside the field of view, not above it.
    const first = cy(even.run[0]!);
    const last = cy(even.run[even.run.length - 1]!);
    if (first < fov.y - even.spacing / 2 || last > fov.y + fov.height + even.spacing / 2) continue;
    const x = median(even.run.map(cx));
    const glyphH = median(even.run.map(bh));
    // One font: every label of a ruler is drawn at one height.
    if (even.run.some((b) => Math.abs(bh(b) - glyphH) > glyphH * 0.25)) continue;
    // Beside the image, not anywhere on the screen: within 15 % of its width of its left or right edge.
    const reach = fov.width * 0.15;
    if (!(Math.abs(x - fov.x) <= reach || Math.abs(x - (fov.x + fov.width)) <= reach)) continue;
    // A salivary gland is imaged 1.5 to 8 cm deep; a "ruler" that makes the image 16 cm deep is not one.
    const depthCm = fov.height / even.spacing;
    if (depthCm < 1.5 || depthCm > 8) continue;
    // The labels run down most of the image (the last may sit a centimetre above its bottom).
    if (last - first + even.spacing < fov.height * 0.6) continue;
    // A ruler's labels stand alone on their rows; lines of text (a settings panel at equal line
    // spacing) have other glyphs beside them.
    const crowded = even.run.filter((l) => glyphs.some((g) => !column.includes(g) && Math.abs(cy(g) - cy(l)) < glyphH / 2 && (Math.abs(g.x1 - l.x0) < glyphH * 2 || Math.abs(g.x0 - l.x1) < glyphH * 2)));
    if (crowded.length > even.run.length / 3) continue;
    // Ticks near the column on the labels' grid (whole, half, fifth or tenth of a centimetre).
    const near = ticks.filter((t) => Math.abs(cx(t) - x) <= glyphH * 3 && cy(t) > first - even.spacing && cy(t) < last + even.spacing);
    // The ticks share one grid of the labels' spacing (whole, half, fifth or tenth of a centimetre);
    // its phase is their own, as a label sits beside (not on) its tick.
    // Judged per column of ticks: a second set of marks nearby (the image's own depth marks) is
    // another column, not noise on this one.
    let onGrid = 0;
    let columnTicks = 0;
    for (const col of tickColumns(near)) {
      const g = gridTicks(col.map(cy), even.spacing);
      if (g > onGrid) {
        onGrid = g;
        columnTicks = col.length;
      }
    }
    const agreed = (even.run.length >= 4 || onGrid >= 2) && (columnTicks < 3 || onGrid >= columnTicks * 0.6);
    if (!agreed) continue;
    if (best === undefined || even.run.length > best.labels) {
      best = { mmPerPx: 10 / even.spacing, pxPerCm: even.spacing, x, firstLabelY: first, lastLabelY: last, labels: even.run.length, ticks: onGrid };
    }
  }
  return best;
}

/** Ticks grouped by their horizontal centre (within 3 pixels). */
function tickColumns(ticks: readonly Blob[]): Blob[][] {
  const cols: Blob[][] = [];
  for (const t of [...ticks].sort((a, b) => cx(a) - cx(b))) {
    const last = cols[cols.length - 1];
    if (last !== undefined && cx(t) - cx(last[last.length - 1]!) <= 3) last.push(t);
    else cols.push([t]);
  }
  return cols;
}

/** The most ticks on one grid of step spacing/n (n = 1, 2, 5, 10; the coarsest that holds most). */
function gridTicks(ys: readonly number[], spacing: number): number {
  let best = 0;
  for (const n of [1, 2, 5, 10]) {
    const step = spacing / n;
    const tol = Math.max(1.5, step * 0.08);
    for (const ref of ys) {
      let count = 0;
      for (const y of ys) {
        const d = Math.abs((y - ref) / step - Math.round((y - ref) / step)) * step;
        if (d <= tol) count++;
      }
      best = Math.max(best, count);
    }
    if (best >= 2 && best >= ys.length * 0.6) return best;
  }
  return best;
}

function expandGrey(g: GreyImage): Uint8Array {
  const out = new Uint8Array(g.width * g.height * 3);
  for (let i = 0; i < g.data.length; i++) out[i * 3] = out[i * 3 + 1] = out[i * 3 + 2] = g.data[i]!;
  return out;
}
