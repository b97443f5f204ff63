/**
 * Synthetic ultrasound-like frames with a known gland mask: speckled tissue texture, a brighter
 * homogeneous ellipse-ish "gland" with a hypoechoic rim, darker vessels, and a scanner-style UI band
 * with text-like marks. Tests, demos and the README use these; no real patient data is needed.
 * Deterministic for a given seed.
 */
import type { GreyImage, RgbImage } from '../core/image.js';

export interface SyntheticFrameOptions {
  width?: number;
  height?: number;
  /** Time in seconds: the gland drifts and breathes smoothly with it (for clips). */
  t?: number;
  /** Seed of the speckle and layout. */
  seed?: number;
}

export interface SyntheticFrame {
  image: RgbImage;
  /** 0/255 mask of the gland. */
  mask: GreyImage;
  /** The gland ellipse, for tests that check geometry. */
  gland: { cx: number; cy: number; rx: number; ry: number; angle: number };
}

/** Small, fast, seedable PRNG (mulberry32). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function syntheticFrame(options: SyntheticFrameOptions = {}): SyntheticFrame {
  const width = options.width ?? 320;
  const height = options.height ?? 240;
  const t = options.t ?? 0;
  const seed = options.seed ?? 1;
  const layout = mulberry32(seed * 7919 + 17);
  const speckle = mulberry32(seed * 104729 + Math.round(t * 1000));
  const ui = Math.max(4, Math.round(height * 0.08)); // top UI band
  const cx = width * (0.45 + 0.1 * layout()) + width * 0.04 * Math.sin(t * 0.9);
  const cy = ui + (height - ui) * (0.45 + 0.1 * layout()) + height * 0.02 * Math.cos(t * 0.7);
  const rx = width * (0.22 + 0.05 * layout()) * (1 + 0.04 * Math.sin(t * 1.3));
  const ry = (height - ui) * (0.18 + 0.05 * layout());
  const angle = (layout() - 0.5) * 0.5;
  const ca = Math.cos(angle);
  const sa = Math.sin(angle);
  const vessel = { x: cx + rx * 0.3, y: cy + ry * 0.2, r: Math.max(2, Math.min(rx, ry) * 0.12) };

  const image = new Uint8Array(width * height * 3);
  const mask = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      let v: number;
      if (y < ui) {
        // UI band: black with white "text" blocks, as the scanner's interface.
        const glyph = (Math.floor(x / 6) * 31 + Math.floor(y / 5) * 17 + seed) % 7 === 0 && x % 6 < 4 && y % 5 < 3 && y > 1;
        v = glyph ? 230 : 0;
      } else {
        const dx = x - cx;
        const dy = y - cy;
        const u = (dx * ca + dy * sa) / rx;
        const w = (-dx * sa + dy * ca) / ry;
        // A lobed boundary so contours are not a perfect ellipse.
        const theta = Math.atan2(w, u);
        const r = Math.hypot(u, w) / (1 + 0.06 * Math.sin(3 * theta + seed));
        const depth = (y - ui) / (height - ui);
        const tissue = 70 + 40 * Math.sin(x * 0.05 + seed) * Math.cos(y * 0.04) - 30 * depth;
        const s = speckle();
        const rayleigh = Math.sqrt(-2 * Math.log(1 - s * 0.999));
        if (r <= 1) {
          mask[i] = 255;
          const inVessel = Math.hypot(x - vessel.x, y - vessel.y) < vessel.r;
          v = inVessel ? 15 + 10 * rayleigh : (125 + 10 * Math.sin(x * 0.3)) * (0.55 + 0.35 * rayleigh);
        } else if (r <= 1.08) {
          v = 40 * (0.5 + 0.4 * rayleigh); // hypoechoic rim
        } else {
          v = tissue * (0.4 + 0.5 * rayleigh);
        }
        // Depth scale ticks on the right edge, as real scanners draw.
        if (x >= width - 4 && (y - ui) % 20 < 2) v = 255;
      }
      const g = Math.max(0, Math.min(255, Math.round(v)));
      image[i * 3] = g;
      image[i * 3 + 1] = g;
      image[i * 3 + 2] = Math.min(255, g + 3); // slight tint, as scanner palettes have
    }
  }
  return {
    image: { width, height, data: image },
    mask: { width, height, data: mask },
    gland: { cx, cy, rx, ry, angle },
  };
}
