/**
 * Whether an imported graph is a segmentation model the segmenter can run: an image in, and out a
 * per-pixel map at the input's height and width ([N,H,W] class indices, or [N,H,W,C] scores, TF's
 * NHWC). A classifier ([N,classes]) or a feature extractor would import and run, and then outline
 * nothing on every frame, so it is refused instead.
 */
import type { Dim } from './graph-fold.js';

export interface SegmentationShapes {
  input: readonly Dim[];
  output: { name: string; shape: readonly Dim[]; kind: 'classes' | 'probabilities' | 'logits' };
  /** Height/width used where the input leaves them unknown (the import's --size). */
  size: number;
}

const shape = (s: readonly Dim[]): string => `[${s.map((d) => d ?? 'N').join(',')}]`;

/** A one-line reason when the graph is not a segmentation model; undefined when it is one. */
export function segmentationProblem({ input, output, size }: SegmentationShapes): string | undefined {
  const rank = output.shape.length;
  const perPixel = output.kind === 'classes' ? rank === 3 || rank === 4 : rank === 4;
  const inH = input[1] ?? size;
  const inW = input[2] ?? size;
  const what = `output '${output.name}' has shape ${shape(output.shape)}`;
  if (!perPixel) return `${what}, not a per-pixel class map ([N,H,W] or [N,H,W,C]) of the ${inW}x${inH} input: it is not a segmentation model`;
  // Unknown dimensions (a reshape's -1) cannot be checked here; the segmenter reads them at run time.
  const [outH, outW] = [output.shape[1], output.shape[2]];
  if ((outH != null && outH !== inH) || (outW != null && outW !== inW)) {
    return `${what}, a ${outW ?? '?'}x${outH ?? '?'} map for a ${inW}x${inH} input, not a class map at the input's size: it is not a segmentation model`;
  }
  return undefined;
}
