/**
 * Pre-processing shared by every engine: RGB frame → model input tensor, as the published
 * DeepSGUS does (RGB, resized to the model's input, 224×224 unless the card says otherwise).
 */
import { suppressColourOverlay } from '../core/colour-overlay.js';
import type { RgbImage } from '../core/image.js';
import { resizeAntialiased } from '../core/window-resample.js';
import type { ModelCard } from './model-card.js';

/** Writes image `img` as sample `index` of a batch tensor laid out as the card says. */
export function writeSample(card: ModelCard, img: RgbImage, batch: Float32Array, index: number): void {
  const { width: w, height: h, normalization: n, layout, channelOrder } = card.input;
  // Pillow's antialiased bilinear, the filter the training tool resized with (data.py): a 2-tap
  // bilinear aliases the speckle of a 3–5x larger frame into an input the model never saw.
  const sized = img.width === w && img.height === h ? img : resizeAntialiased(img, w, h);
  // At the model's size: 50 k pixels, whatever the source resolution.
  const src = card.input.suppressColourOverlay === true ? suppressColourOverlay(sized).image : sized;
  const plane = w * h;
  const base = index * plane * 3;
  const order = channelOrder === 'BGR' ? [2, 1, 0] : [0, 1, 2];
  const a = order.map((c) => n.scale / n.std[c]!);
  const b = order.map((c) => -n.mean[c]! / n.std[c]!);
  const d = src.data;
  if (layout === 'NCHW') {
    for (let c = 0; c < 3; c++) {
      const sc = order[c]!;
      const ac = a[c]!;
      const bc = b[c]!;
      const o = base + c * plane;
      for (let p = 0, q = sc; p < plane; p++, q += 3) batch[o + p] = d[q]! * ac + bc;
    }
  } else {
    for (let p = 0; p < plane; p++) {
      for (let c = 0; c < 3; c++) batch[base + p * 3 + c] = d[p * 3 + order[c]!]! * a[c]! + b[c]!;
    }
  }
}

/** Builds the input tensor for a batch of frames. */
export function preprocessBatch(card: ModelCard, images: readonly RgbImage[]): { data: Float32Array; dims: number[] } {
  const { width: w, height: h, layout } = card.input;
  const data = new Float32Array(images.length * 3 * w * h);
  images.forEach((img, k) => writeSample(card, img, data, k));
  return { data, dims: layout === 'NCHW' ? [images.length, 3, h, w] : [images.length, h, w, 3] };
}
