/**
 * One DICOM instance from the network (a PACS retrieve, a scanner's push) segmented frame by frame
 * and written as its Segmentation and measurement report: the same decode, segmenter, measurements
 * and `DicomOutputs` as `sgus segment --dicom-out`, for an instance held in memory.
 */
import { measureGland } from '../core/gland-measurements.js';
import type { GlandMeasurements } from '../core/gland-measurements.js';
import { DicomOutputs } from '../dicom/dicom-outputs.js';
import type { DicomInstance } from '../dicom/dicom-file.js';
import { decodeFrame } from '../dicom/pixel-decode.js';
import type { Segmenter } from '../segmenter/segmenter.js';
import { loadCodecFor } from '../dicom/wasm-codecs.js';

export interface SegmentInstanceOptions {
  /** Folder for `<stem>.seg.dcm` and `<stem>.sr.dcm`. */
  dir: string;
  /** File stem. Default: the SOP Instance UID. */
  stem?: string;
  /** Frames per inference call. Default 4. */
  batchSize?: number;
}

export interface SegmentedInstance {
  /** The Segmentation and the report written, in that order. */
  files: [seg: string, sr: string];
  /** Per frame, in frame order. */
  measurements: GlandMeasurements[];
}

/** Segments every frame of `inst` (decoded a batch at a time, so a long loop is never held decoded). */
export async function segmentInstance(segmenter: Segmenter, inst: DicomInstance, o: SegmentInstanceOptions): Promise<SegmentedInstance> {
  const batchSize = o.batchSize ?? 4;
  await loadCodecFor(inst.transferSyntaxUid);
  const stem = o.stem ?? inst.sopInstanceUid;
  const outputs = new DicomOutputs({ dir: o.dir, algorithmName: segmenter.card.name });
  const measurements: GlandMeasurements[] = [];
  for (let first = 0; first < inst.frames; first += batchSize) {
    const frames = Array.from({ length: Math.min(batchSize, inst.frames - first) }, (_, k) => first + k);
    const images = frames.map((f) => decodeFrame(inst, f));
    const segs = await segmenter.segmentBatch(images);
    for (let k = 0; k < frames.length; k++) {
      const m = measureGland(segs[k]!, inst.calibration);
      outputs.add(inst, stem, frames[k]!, segs[k]!.classMap, m);
      measurements.push(m);
    }
  }
  const files = await outputs.finish(inst);
  return { files: [files[0]!, files[1]!], measurements };
}
