/** Overlap measures between a predicted and a reference mask (non-zero = gland). */
import { ErrorCode, SgusError } from '../errors.js';
import type { GreyImage } from './image.js';

export interface Overlap {
  iou: number;
  dice: number;
  /** Pixels in both / either / prediction / reference. */
  intersection: number;
  union: number;
  predicted: number;
  reference: number;
}

/** IoU and Dice. Two empty masks agree perfectly (1.0). */
export function overlap(pred: GreyImage, ref: GreyImage): Overlap {
  if (pred.width !== ref.width || pred.height !== ref.height) {
    throw new SgusError(ErrorCode.InvalidArgument, `mask sizes differ: ${pred.width}x${pred.height} vs ${ref.width}x${ref.height}`);
  }
  let inter = 0;
  let p = 0;
  let r = 0;
  for (let i = 0; i < pred.data.length; i++) {
    const a = pred.data[i] !== 0;
    const b = ref.data[i] !== 0;
    if (a) p++;
    if (b) r++;
    if (a && b) inter++;
  }
  const union = p + r - inter;
  return {
    iou: union === 0 ? 1 : inter / union,
    dice: p + r === 0 ? 1 : (2 * inter) / (p + r),
    intersection: inter,
    union,
    predicted: p,
    reference: r,
  };
}
