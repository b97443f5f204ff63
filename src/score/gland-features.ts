/**
 * Features of the gland's echostructure for the ultrasound score (OMERACT / De Vita, 0–3): one
 * implementation makes the training table (scripts/score-features.ts) and runs at run time
 * (src/score/scorer.ts), so the model sees at run time exactly what it learned from.
 *
 * Pure: frame pixels (grey or RGB) + gland mask → a fixed-length Float32Array. The gland type is
 * deliberately not an input (it is not known live). To stay well under 2 ms a frame, the gland's
 * box plus a margin of surrounding tissue is block-averaged onto a grid of at most GRID cells on
 * its long side; every statistic is computed on that grid. Intensities are divided by the median
 * of the surrounding tissue (or the gland's own median), so a global gain change leaves them
 * unchanged — except the two `abs*` features, which are absolute on purpose (scanner presets).
 */
import type { Contour } from '../core/contours.js';
import type { GreyImage, RgbImage } from '../core/image.js';
import { ErrorCode, SgusError } from '../errors.js';

/** Bumped whenever a feature's definition changes: the card records it and the scorer checks it. */
export const GLAND_FEATURES_VERSION = 'gland-features/1';

/** Cells on the long side of the gland's box (the margin adds to it). */
const GRID = 64;
/** Surrounding tissue: the gland's box grown by this share of its size on each side. */
const MARGIN = 0.25;
/** Cells darker than this (0–255) around the gland are outside the field of view, not tissue. */
const BLACK = 6;
const GLCM_LEVELS = 8;

export const GLAND_FEATURE_NAMES: readonly string[] = [
  'meanRatio', // gland mean / surrounding median
  'medianRatio',
  'p10Ratio',
  'p25Ratio',
  'p75Ratio',
  'p90Ratio',
  'cv', // gland std / gland mean
  'skewness',
  'iqrRatio', // (p75 - p25) / gland median
  'hypo40Surround', // share of gland cells below 0.4 × surrounding median
  'hypo60Surround',
  'hypo80Surround',
  'hypo50Gland', // share of gland cells below 0.5 × the gland's median
  'hypo70Gland',
  'glcmContrast',
  'glcmHomogeneity',
  'glcmEntropy',
  'glcmEnergy',
  'glcmCorrelation',
  'localStd', // mean 3×3 std of gland cells / gland mean
  'darkBlobsPer100', // dark blobs (< 0.6 × surrounding median, ≥ 2 cells) per 100 gland cells
  'darkBlobsLog', // log(1 + dark blob count)
  'darkBlobMeanShare', // mean blob size / gland cells
  'darkBlobLargestShare',
  'edgeRatio', // mean |gradient| inside the gland / gland mean
  'areaShare', // gland pixels / frame pixels
  'boxFill', // gland pixels / its box
  'absGlandMean', // gland mean / 255 (not gain-invariant: scanner preset)
  'absSurroundMedian',
];

export const GLAND_FEATURE_COUNT = GLAND_FEATURE_NAMES.length;

/** The gland's bounding box (inclusive) and area in pixels, when the caller knows them already. */
export interface GlandRegion {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  area: number;
}

/** The region of a segmentation from its outer contours: reading the whole mask for its box costs
 *  more than every feature together on a large frame. */
export function regionFromContours(contours: readonly Contour[], area: number): GlandRegion | undefined {
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (const c of contours) {
    if (c.hole) continue;
    for (const [x, y] of c.points) {
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
    }
  }
  return x1 < x0 || area <= 0 ? undefined : { x0, y0, x1, y1, area };
}

/** Features of the gland in `mask` (non-zero = gland) of `image` (grey or RGB, same size); `region`
 *  (box and area of the mask) spares a scan of the whole mask. All zero when the mask is empty:
 *  the scorer reports no score then. */
export function glandFeatures(image: GreyImage | RgbImage, mask: GreyImage, region?: GlandRegion): Float32Array {
  const { width, height } = image;
  if (mask.width !== width || mask.height !== height) {
    throw new SgusError(ErrorCode.InvalidArgument, `gland mask is ${mask.width}×${mask.height}, the frame ${width}×${height}`);
  }
  const channels = image.data.length / (width * height);
  if (channels !== 1 && channels !== 3) throw new SgusError(ErrorCode.InvalidArgument, `frame has ${channels} values a pixel; grey or RGB expected`);
  const out = new Float32Array(GLAND_FEATURE_COUNT);
  const m = mask.data;
  const r = region ?? scanRegion(mask);
  if (r === undefined) return out;
  const x0 = Math.max(0, Math.floor(r.x0));
  const y0 = Math.max(0, Math.floor(r.y0));
  const x1 = Math.min(width - 1, Math.ceil(r.x1));
  const y1 = Math.min(height - 1, Math.ceil(r.y1));
  const area = r.area;
  if (x1 < x0 || y1 < y0 || area <= 0) return out;
  const bw = x1 - x0 + 1;
  const bh = y1 - y0 + 1;
  const cell = Math.max(1, Math.ceil(Math.max(bw, bh) / GRID));
  const cx0 = Math.max(0, x0 - Math.round(bw * MARGIN));
  const cy0 = Math.max(0, y0 - Math.round(bh * MARGIN));
  const cx1 = Math.min(width - 1, x1 + Math.round(bw * MARGIN));
  const cy1 = Math.min(height - 1, y1 + Math.round(bh * MARGIN));
  const gw = Math.ceil((cx1 - cx0 + 1) / cell);
  const gh = Math.ceil((cy1 - cy0 + 1) / cell);
  const sum = new Float32Array(gw * gh);
  const count = new Uint16Array(gw * gh);
  const inside = new Uint16Array(gw * gh);
  const d = image.data;
  // A cell's mean from about 3×3 of its pixels: speckle averages out as well, at a fraction of
  // the reads on large frames.
  const step = Math.max(1, Math.floor(cell / 3));
  const colCell = new Int32Array(cx1 - cx0 + 1);
  for (let x = cx0; x <= cx1; x++) colCell[x - cx0] = ((x - cx0) / cell) | 0;
  const stride = channels;
  // Green stands for luma on RGB frames: grey ultrasound has R = G = B, and one read is cheaper.
  const offset = channels === 3 ? 1 : 0;
  for (let y = cy0; y <= cy1; y += step) {
    const rowCell = (((y - cy0) / cell) | 0) * gw;
    const row = y * width;
    for (let x = cx0; x <= cx1; x += step) {
      const g = rowCell + colCell[x - cx0]!;
      const i = row + x;
      sum[g] = sum[g]! + d[i * stride + offset]!;
      count[g] = count[g]! + 1;
      if (m[i] !== 0) inside[g] = inside[g]! + 1;
    }
  }
  const n = gw * gh;
  const val = new Float32Array(n);
  // 1 gland, 2 surrounding tissue, 0 neither (outside the field of view, or a mixed border cell).
  const kind = new Uint8Array(n);
  let glandCells = 0;
  let surroundCells = 0;
  for (let g = 0; g < n; g++) {
    const c = count[g]!;
    if (c === 0) continue;
    val[g] = sum[g]! / c;
    if (inside[g]! * 2 > c) {
      kind[g] = 1;
      glandCells++;
    } else if (inside[g] === 0 && val[g]! > BLACK) {
      kind[g] = 2;
      surroundCells++;
    }
  }
  if (glandCells === 0) return out;
  const gv = new Float32Array(glandCells);
  const sv = new Float32Array(surroundCells);
  let gi = 0, si = 0, gSum = 0, gSq = 0;
  for (let g = 0; g < n; g++) {
    if (kind[g] === 1) {
      gv[gi++] = val[g]!;
      gSum += val[g]!;
      gSq += val[g]! * val[g]!;
    } else if (kind[g] === 2) sv[si++] = val[g]!;
  }
  gv.sort();
  sv.sort();
  const gMean = gSum / glandCells;
  const gStd = Math.sqrt(Math.max(0, gSq / glandCells - gMean * gMean));
  const gMed = quantile(gv, 0.5);
  // No tissue around (gland fills the frame): the gland's own median stands for it.
  const sMed = Math.max(1, surroundCells > 0 ? quantile(sv, 0.5) : gMed);
  const gMedSafe = Math.max(1, gMed);
  const gMeanSafe = Math.max(1, gMean);
  let skew = 0;
  for (let k = 0; k < glandCells; k++) skew += ((gv[k]! - gMean) / Math.max(1e-6, gStd)) ** 3;
  skew /= glandCells;

  let f = 0;
  out[f++] = gMean / sMed;
  out[f++] = gMed / sMed;
  out[f++] = quantile(gv, 0.1) / sMed;
  out[f++] = quantile(gv, 0.25) / sMed;
  out[f++] = quantile(gv, 0.75) / sMed;
  out[f++] = quantile(gv, 0.9) / sMed;
  out[f++] = gStd / gMeanSafe;
  out[f++] = gStd > 1e-6 ? skew : 0;
  out[f++] = (quantile(gv, 0.75) - quantile(gv, 0.25)) / gMedSafe;
  out[f++] = shareBelow(gv, 0.4 * sMed);
  out[f++] = shareBelow(gv, 0.6 * sMed);
  out[f++] = shareBelow(gv, 0.8 * sMed);
  out[f++] = shareBelow(gv, 0.5 * gMedSafe);
  out[f++] = shareBelow(gv, 0.7 * gMedSafe);

  // Grey-level co-occurrence (right and down neighbours, both in the gland), levels relative to
  // the gland's median so that gain does not move them.
  const level = new Uint8Array(n);
  for (let g = 0; g < n; g++) level[g] = Math.min(GLCM_LEVELS - 1, Math.floor((val[g]! / (2 * gMedSafe)) * GLCM_LEVELS));
  const glcm = new Float64Array(GLCM_LEVELS * GLCM_LEVELS);
  let pairs = 0;
  let localStdSum = 0;
  let gradSum = 0;
  for (let y = 0; y < gh; y++) {
    for (let x = 0; x < gw; x++) {
      const g = y * gw + x;
      if (kind[g] !== 1) continue;
      if (x + 1 < gw && kind[g + 1] === 1) {
        pairs += pair(glcm, level[g]!, level[g + 1]!);
      }
      if (y + 1 < gh && kind[g + gw] === 1) {
        pairs += pair(glcm, level[g]!, level[g + gw]!);
      }
      // 3×3 local std over the cells that hold tissue (the grid keeps the frame's values).
      let ls = 0, lq = 0, lc = 0;
      for (let dy = -1; dy <= 1; dy++) {
        const yy = y + dy;
        if (yy < 0 || yy >= gh) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const xx = x + dx;
          if (xx < 0 || xx >= gw) continue;
          const v = val[yy * gw + xx]!;
          ls += v;
          lq += v * v;
          lc++;
        }
      }
      const lm = ls / lc;
      localStdSum += Math.sqrt(Math.max(0, lq / lc - lm * lm));
      const gx = x + 1 < gw && x > 0 ? (val[g + 1]! - val[g - 1]!) / 2 : 0;
      const gyv = y + 1 < gh && y > 0 ? (val[g + gw]! - val[g - gw]!) / 2 : 0;
      gradSum += Math.hypot(gx, gyv);
    }
  }
  let contrast = 0, homogeneity = 0, entropy = 0, energy = 0, mu = 0;
  if (pairs > 0) {
    for (let i = 0; i < GLCM_LEVELS; i++) for (let j = 0; j < GLCM_LEVELS; j++) mu += (i * glcm[i * GLCM_LEVELS + j]!) / pairs;
    let varSum = 0, cov = 0;
    for (let i = 0; i < GLCM_LEVELS; i++) {
      for (let j = 0; j < GLCM_LEVELS; j++) {
        const p = glcm[i * GLCM_LEVELS + j]! / pairs;
        if (p === 0) continue;
        contrast += p * (i - j) * (i - j);
        homogeneity += p / (1 + Math.abs(i - j));
        entropy -= p * Math.log2(p);
        energy += p * p;
        varSum += p * (i - mu) * (i - mu);
        cov += p * (i - mu) * (j - mu);
      }
    }
    out[f + 4] = varSum > 1e-9 ? cov / varSum : 0;
  }
  out[f++] = contrast;
  out[f++] = homogeneity;
  out[f++] = entropy;
  out[f++] = energy;
  f++; // correlation, set above
  out[f++] = localStdSum / glandCells / gMeanSafe;

  // Dark blobs: 4-connected components of dark gland cells.
  const dark = 0.6 * sMed;
  const seen = new Uint8Array(n);
  const stack = new Int32Array(n);
  let blobs = 0, blobCells = 0, largest = 0;
  for (let g = 0; g < n; g++) {
    if (kind[g] !== 1 || seen[g] !== 0 || val[g]! >= dark) continue;
    let top = 0, size = 0;
    stack[top++] = g;
    seen[g] = 1;
    while (top > 0) {
      const c = stack[--top]!;
      size++;
      const cxg = c % gw;
      for (let k = 0; k < 4; k++) {
        const q = k === 0 ? (cxg > 0 ? c - 1 : -1) : k === 1 ? (cxg + 1 < gw ? c + 1 : -1) : k === 2 ? c - gw : c + gw;
        if (q < 0 || q >= n || seen[q] !== 0 || kind[q] !== 1 || val[q]! >= dark) continue;
        seen[q] = 1;
        stack[top++] = q;
      }
    }
    if (size >= 2) {
      blobs++;
      blobCells += size;
      if (size > largest) largest = size;
    }
  }
  out[f++] = (100 * blobs) / glandCells;
  out[f++] = Math.log1p(blobs);
  out[f++] = blobs > 0 ? blobCells / blobs / glandCells : 0;
  out[f++] = largest / glandCells;
  out[f++] = gradSum / glandCells / gMeanSafe;
  out[f++] = area / (width * height);
  out[f++] = area / (bw * bh);
  out[f++] = gMean / 255;
  out[f++] = sMed / 255;
  return out;
}

/** The mask's box and area, read four bytes at a time: most of a frame is not gland. */
export function scanRegion(mask: GreyImage): GlandRegion | undefined {
  const { width } = mask;
  const m = mask.data;
  const total = mask.width * mask.height;
  let x0 = Infinity, y0 = Infinity, x1 = -1, y1 = -1, area = 0;
  const words = m.byteOffset % 4 === 0 ? new Uint32Array(m.buffer, m.byteOffset, total >> 2) : new Uint32Array(0);
  for (let w = 0, i = 0; i <= total; i++) {
    // Whole zero words are skipped; a word with gland in it, and the tail, go byte by byte.
    if ((i & 3) === 0) {
      w = i >> 2;
      while (w < words.length && words[w] === 0) w++;
      if (w << 2 > i) i = w << 2;
    }
    if (i >= total) break;
    if (m[i] === 0) continue;
    area++;
    const y = (i / width) | 0;
    const x = i - y * width;
    if (x < x0) x0 = x;
    if (x > x1) x1 = x;
    if (y < y0) y0 = y;
    if (y > y1) y1 = y;
  }
  return area === 0 ? undefined : { x0, y0, x1, y1, area };
}

/** Counts a neighbour pair both ways (the co-occurrence matrix is symmetric); returns 2. */
function pair(glcm: Float64Array, a: number, b: number): number {
  glcm[a * GLCM_LEVELS + b] = glcm[a * GLCM_LEVELS + b]! + 1;
  glcm[b * GLCM_LEVELS + a] = glcm[b * GLCM_LEVELS + a]! + 1;
  return 2;
}

/** Linear-interpolated quantile of sorted values. */
function quantile(sorted: Float32Array, q: number): number {
  if (sorted.length === 0) return 0;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

function shareBelow(sorted: Float32Array, threshold: number): number {
  let lo = 0, hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]! < threshold) lo = mid + 1;
    else hi = mid;
  }
  return lo / sorted.length;
}
