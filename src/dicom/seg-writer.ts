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

/** Packs masks into 1-bit pixel data: frame after frame with no padding between them, LSB first. */
export function packBits(masks: readonly GreyImage[]): Uint8Array {
  const per = masks[0] === undefined ? 0 : masks[0].width * masks[0].height;
  const bits = per * masks.length;
  const out = new Uint8Array(Math.ceil(bits / 8) + (Math.ceil(bits / 8) & 1));
  let b = 0;
  for (const m of masks) {
    for (let i = 0; i < per; i++, b++) if (m.data[i] !== 0) out[b >> 3]! |= 1 << (b & 7);
  }
  return out;
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
  if (frames.length === 0) throw new SgusError(ErrorCode.InvalidArgument, 'no segmented frame to write', { where });
  const { rows, columns } = inst.image;
  for (const f of frames) {
    if (f.mask.width !== columns || f.mask.height !== rows) throw new SgusError(ErrorCode.InvalidArgument, `mask of frame ${f.sourceFrame + 1} is ${f.mask.width}x${f.mask.height}, the source ${columns}x${rows}`, { where });
  }
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
    PixelData: [packBits(frames.map((f) => f.mask)).buffer],
  };
  ds._vrMap = { ...(ds._vrMap ?? {}), PixelData: 'OB' };
  return { bytes: writePart10(ds, TransferSyntax.ExplicitLittle, where), sopInstanceUid, seriesInstanceUid };
}
