/**
 * A DICOM Segmentation (binary, PS3.3 A.51) of a source ultrasound instance: one segment,
 * "salivary gland" (SCT 385294005), one segmentation frame per source frame segmented, each
 * referencing its source frame (Derivation Image), in the source's study.
 */
import type { NaturalDataset } from 'dcmjs';
import type { GreyImage } from '../core/image.js';
import { ErrorCode, SgusError } from '../errors.js';
import { CODES, contentDateTime, copiedModules, equipment, referencedSeries, sourceHeader } from './derived-common.js';
import type { DicomInstance } from './dicom-file.js';
import { newUid, SopClass, TransferSyntax, writePart10 } from './dicom-write.js';

export interface SegFrame {
  /** 0-based frame of the source instance. */
  sourceFrame: number;
  /** Non-zero = gland, at the source's size. */
  mask: GreyImage;
}

export interface SegWriterOptions {
  /** Algorithm name (the model). Default 'sgus'. */
  algorithmName?: string;
  /** Software version written in the equipment module. Default '0.1.0'. */
  softwareVersion?: string;
  /** Series number of the new series. Default 901. */
  seriesNumber?: number;
}

export interface WrittenSeg {
  bytes: Buffer;
  sopInstanceUid: string;
  seriesInstanceUid: string;
}

/**
 * 1-bit pixel data built frame by frame (frames follow each other with no padding between them,
 * least significant bit first), so that a long cine loop is held at 1 bit a pixel, not 8.
 */
export class BitFrames {
  readonly width: number;
  readonly height: number;
  #chunks: Uint8Array[] = [];
  #current = new Uint8Array(1 << 16);
  #bits = 0;
  #frames = 0;

  constructor(width: number, height: number) {
    this.width = width;
    this.height = height;
  }

  get frames(): number {
    return this.#frames;
  }

  append(mask: GreyImage): void {
    const per = this.width * this.height;
    for (let i = 0; i < per; i++, this.#bits++) {
      const byte = (this.#bits >> 3) - this.#chunks.length * this.#current.length;
      if (byte >= this.#current.length) {
        this.#chunks.push(this.#current);
        this.#current = new Uint8Array(this.#current.length);
      }
      if (mask.data[i] !== 0) this.#current[(this.#bits >> 3) - this.#chunks.length * this.#current.length]! |= 1 << (this.#bits & 7);
    }
    this.#frames++;
  }

  /** The pixel data value, padded to an even length. */
  bytes(): Uint8Array {
    const n = Math.ceil(this.#bits / 8);
    const out = new Uint8Array(n + (n & 1));
    let o = 0;
    for (const c of [...this.#chunks, this.#current]) {
      const take = Math.min(c.length, n - o);
      if (take <= 0) break;
      out.set(c.subarray(0, take), o);
      o += take;
    }
    return out;
  }
}

/** Packs masks into 1-bit pixel data: frame after frame with no padding between them, LSB first. */
export function packBits(masks: readonly GreyImage[]): Uint8Array {
  const first = masks[0];
  if (first === undefined) return new Uint8Array(0);
  const b = new BitFrames(first.width, first.height);
  for (const m of masks) b.append(m);
  return b.bytes();
}

/** Unpacks frame `index` of 1-bit pixel data (the inverse of packBits), as 0/1. */
export function unpackFrame(bits: Uint8Array, width: number, height: number, index: number): GreyImage {
  const per = width * height;
  const data = new Uint8Array(per);
  for (let i = 0, b = index * per; i < per; i++, b++) data[i] = (bits[b >> 3]! >> (b & 7)) & 1;
  return { width, height, data };
}

export function writeSegmentation(inst: DicomInstance, frames: readonly SegFrame[], options: SegWriterOptions = {}): WrittenSeg {
  const where = `${inst.where}: segmentation`;
  const { rows, columns } = inst.image;
  const bits = new BitFrames(columns, rows);
  for (const f of frames) {
    if (f.mask.width !== columns || f.mask.height !== rows) throw new SgusError(ErrorCode.InvalidArgument, `mask of frame ${f.sourceFrame + 1} is ${f.mask.width}x${f.mask.height}, the source ${columns}x${rows}`, { where });
    bits.append(f.mask);
  }
  return writeSegmentationBits(inst, frames.map((f) => f.sourceFrame), bits, options);
}

/** The Segmentation of frames already packed (in the order of `sourceFrames`, 0-based). */
export function writeSegmentationBits(inst: DicomInstance, sourceFrames: readonly number[], bits: BitFrames, options: SegWriterOptions = {}): WrittenSeg {
  const where = `${inst.where}: segmentation`;
  if (sourceFrames.length === 0) throw new SgusError(ErrorCode.InvalidArgument, 'no segmented frame to write', { where });
  if (bits.frames !== sourceFrames.length) throw new SgusError(ErrorCode.InvalidArgument, `${bits.frames} masks for ${sourceFrames.length} frames`, { where });
  const { rows, columns } = inst.image;
  const frames = sourceFrames.map((sourceFrame) => ({ sourceFrame }));
  const header = sourceHeader(inst);
  const sopInstanceUid = newUid();
  const seriesInstanceUid = newUid();
  const dimensionUid = newUid();
  const multi = inst.declaredFrames > 1;
  const ds: NaturalDataset = {
    ...copiedModules(header),
    ...equipment(options.softwareVersion ?? '0.1.0'),
    ...contentDateTime(),
    SOPClassUID: SopClass.Segmentation,
    SOPInstanceUID: sopInstanceUid,
    Modality: 'SEG',
    SeriesInstanceUID: seriesInstanceUid,
    SeriesNumber: options.seriesNumber ?? 901,
    SeriesDescription: 'Salivary gland segmentation (SGUS Live)',
    InstanceNumber: 1,
    PatientOrientation: '',
    ContentLabel: 'SALIVARY_GLAND',
    ContentDescription: `Salivary gland outline by ${options.algorithmName ?? 'sgus'}`,
    ContentCreatorName: '',
    ImageType: ['DERIVED', 'PRIMARY'],
    SamplesPerPixel: 1,
    PhotometricInterpretation: 'MONOCHROME2',
    Rows: rows,
    Columns: columns,
    BitsAllocated: 1,
    BitsStored: 1,
    HighBit: 0,
    PixelRepresentation: 0,
    LossyImageCompression: '00',
    SegmentationType: 'BINARY',
    NumberOfFrames: frames.length,
    SegmentSequence: [
      {
        SegmentNumber: 1,
        SegmentLabel: 'salivary gland',
        SegmentAlgorithmType: 'AUTOMATIC',
        SegmentAlgorithmName: options.algorithmName ?? 'sgus',
        SegmentedPropertyCategoryCodeSequence: [CODES.anatomicalStructure],
        SegmentedPropertyTypeCodeSequence: [CODES.salivaryGland],
        AnatomicRegionSequence: [CODES.salivaryGland],
      },
    ],
    DimensionOrganizationSequence: [{ DimensionOrganizationUID: dimensionUid }],
    DimensionIndexSequence: [
      { DimensionOrganizationUID: dimensionUid, DimensionIndexPointer: 0x0062000b, FunctionalGroupPointer: 0x0062000a, DimensionDescriptionLabel: 'Segment' },
      { DimensionOrganizationUID: dimensionUid, DimensionIndexPointer: 0x00209128, FunctionalGroupPointer: 0x00209111, DimensionDescriptionLabel: 'Source frame' },
    ],
    SharedFunctionalGroupsSequence: [{ SegmentIdentificationSequence: [{ ReferencedSegmentNumber: 1 }] }],
    PerFrameFunctionalGroupsSequence: frames.map((f) => ({
      FrameContentSequence: [{ DimensionIndexValues: [1, f.sourceFrame + 1], TemporalPositionIndex: f.sourceFrame + 1 }],
      DerivationImageSequence: [
        {
          SourceImageSequence: [
            {
              ReferencedSOPClassUID: inst.sopClassUid,
              ReferencedSOPInstanceUID: inst.sopInstanceUid,
              ...(multi ? { ReferencedFrameNumber: f.sourceFrame + 1 } : {}),
              PurposeOfReferenceCodeSequence: [CODES.sourceForProcessing],
            },
          ],
          DerivationCodeSequence: [CODES.segmentation],
        },
      ],
    })),
    ReferencedSeriesSequence: referencedSeries(inst),
    PixelData: [bits.bytes().buffer],
  };
  ds._vrMap = { ...(ds._vrMap ?? {}), PixelData: 'OB' };
  return { bytes: writePart10(ds, TransferSyntax.ExplicitLittle, where), sopInstanceUid, seriesInstanceUid };
}
