/**
 * `--dicom-out DIR`: collects, per source instance, the masks and measurements of its segmented
 * frames and writes its Segmentation (`<stem>.seg.dcm`) and measurement report (`<stem>.sr.dcm`)
 * once its last frame is in (or at the end, for whatever was segmented).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { GlandMeasurements } from '../core/gland-measurements.js';
import type { GreyImage } from '../core/image.js';
import { describeError, ErrorCode, SgusError } from '../errors.js';
import type { DicomInstance } from './dicom-file.js';
import { BitFrames, writeSegmentationBits } from './seg-writer.js';
import { writeMeasurementReport } from './sr-writer.js';
import type { SrFrame } from './sr-writer.js';

export interface DicomOutputsOptions {
  /** Output folder. */
  dir: string;
  /** Algorithm / observer name written into the objects (the model). Default 'sgus'. */
  algorithmName?: string;
  /** Software version written into the equipment modules. Default '0.1.0'. */
  softwareVersion?: string;
}

interface Pending {
  inst: DicomInstance;
  stem: string;
  bits: BitFrames;
  frames: number[];
  measurements: GlandMeasurements[];
}

export class DicomOutputs {
  readonly #o: DicomOutputsOptions;
  readonly #pending = new Map<DicomInstance, Pending>();

  constructor(options: DicomOutputsOptions) {
    if (typeof options?.dir !== 'string' || options.dir === '') throw new SgusError(ErrorCode.InvalidArgument, '--dicom-out needs a folder');
    this.#o = options;
  }

  /** One segmented frame (0-based `frame`) of `inst`; `stem` names the files (the source's stem). */
  add(inst: DicomInstance, stem: string, frame: number, mask: GreyImage, measurements: GlandMeasurements): void {
    let p = this.#pending.get(inst);
    if (p === undefined) {
      p = { inst, stem, bits: new BitFrames(inst.image.columns, inst.image.rows), frames: [], measurements: [] };
      this.#pending.set(inst, p);
    }
    p.bits.append(mask);
    p.frames.push(frame);
    p.measurements.push(measurements);
  }

  /** Writes the objects of `inst` (if any frame of it was added); returns the files written. */
  async finish(inst: DicomInstance): Promise<string[]> {
    const p = this.#pending.get(inst);
    if (p === undefined) return [];
    this.#pending.delete(inst);
    const common = { softwareVersion: this.#o.softwareVersion ?? '0.1.0' };
    const seg = writeSegmentationBits(p.inst, p.frames, p.bits, { ...common, algorithmName: this.#o.algorithmName ?? 'sgus' });
    const srFrames: SrFrame[] = p.frames.map((f, k) => ({ sourceFrame: f, segFrame: k + 1, measurements: p.measurements[k]! }));
    const sr = writeMeasurementReport(p.inst, srFrames, { ...common, segmentation: seg, observerName: this.#o.algorithmName ?? 'sgus' });
    const segFile = path.join(this.#o.dir, `${p.stem}.seg.dcm`);
    const srFile = path.join(this.#o.dir, `${p.stem}.sr.dcm`);
    try {
      await mkdir(this.#o.dir, { recursive: true });
      await writeFile(segFile, seg.bytes);
      await writeFile(srFile, sr.bytes);
    } catch (err) {
      throw new SgusError(ErrorCode.SinkFailure, `cannot write DICOM outputs: ${describeError(err)}`, { where: this.#o.dir, fatal: false, cause: err });
    }
    return [segFile, srFile];
  }

  /** Writes every instance still pending. */
  async finishAll(): Promise<string[]> {
    const out: string[] = [];
    for (const inst of [...this.#pending.keys()]) out.push(...(await this.finish(inst)));
    return out;
  }
}
