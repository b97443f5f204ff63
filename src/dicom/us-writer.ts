/**
 * Ultrasound DICOM files made from the project's own frames: single-frame (US Image Storage) and
 * cine loops (US Multi-frame Image Storage), uncompressed or JPEG Baseline, with an ultrasound
 * region of known calibration. Tests and demos use them: no patient data is needed, and the
 * expected physical sizes are known exactly. Also the route to put a recorded exam into DICOM.
 */
import type { NaturalDataset } from 'dcmjs';
import type { RgbImage } from '../core/image.js';
import { encodeJpegRgb } from '../core/image-io.js';
import { ErrorCode, SgusError } from '../errors.js';
import { dicomDateTime, newUid, SopClass, toArrayBuffer, TransferSyntax, writePart10 } from './dicom-write.js';

export type NativePhotometric = 'RGB' | 'MONOCHROME2' | 'YBR_FULL' | 'PALETTE COLOR';

export interface UsWriterOptions {
  /** 'explicit' / 'implicit' VR Little Endian, or 'jpeg-baseline' (YBR_FULL_422). Default 'explicit'. */
  encoding?: 'explicit' | 'implicit' | 'jpeg-baseline';
  /** Photometric interpretation of uncompressed pixels. Default 'RGB'. */
  photometric?: NativePhotometric;
  /** JPEG quality 1..100. Default 92. */
  jpegQuality?: number;
  /** Milliseconds between frames. Default 40 (25 frames/s). */
  frameTimeMs?: number;
  /** Which attribute carries the timing: Frame Time, Frame Time Vector or Cine Rate. Default 'frame-time'. */
  timing?: 'frame-time' | 'frame-time-vector' | 'cine-rate';
  /**
   * Millimetres per pixel of the B-mode region, written as a Sequence of Ultrasound Regions in cm
   * (units code 3); `region` is its pixel rectangle (default: the whole frame). Default: none.
   */
  calibration?: { mmPerPxX: number; mmPerPxY: number; region?: { x0: number; y0: number; x1: number; y1: number } };
  /** Also write Pixel Spacing (0028,0030) with these mm (row, column). Default: none. */
  pixelSpacingMm?: [number, number];
  /** US Image Storage for one frame (no multi-frame attributes). Default: multi-frame whenever frames != 1. */
  singleFrame?: boolean;
  /** Modality. Default 'US'. Another value makes a (deliberately) non-ultrasound file. */
  modality?: string;
  /** Number of Frames to declare. Default: the frames given (more makes a file that lies). */
  declaredFrames?: number;
  /** Leave the pixel data out (a bad-input case). Default false. */
  omitPixelData?: boolean;
  /**
   * Frames already compressed by another encoder (e.g. JPEG 2000 codestreams from FFmpeg), written
   * encapsulated under `transferSyntax` with this photometric interpretation; `frames` then only
   * give the size. Default: none (the writer encodes per `encoding`).
   */
  encoded?: { transferSyntax: string; photometric: string; samplesPerPixel: 1 | 3; lossy: boolean; frames: readonly Uint8Array[] };
  /** Patient, study and series identity. Default: a synthetic patient and new UIDs. */
  identity?: { patientName?: string; patientId?: string; studyInstanceUid?: string; seriesInstanceUid?: string; sopInstanceUid?: string; laterality?: 'R' | 'L' };
}

const RGB_TO_YBR = (r: number, g: number, b: number): [number, number, number] => [
  0.299 * r + 0.587 * g + 0.114 * b,
  -0.168736 * r - 0.331264 * g + 0.5 * b + 128,
  0.5 * r - 0.418688 * g - 0.081312 * b + 128,
];

/** The palette the writer uses for PALETTE COLOR: index i → (i, 255 - i, 255 - i / 2), 16-bit entries. */
export function testPalette(i: number): [number, number, number] {
  return [i, 255 - i, 255 - (i >> 1)];
}

function clamp8(v: number): number {
  return Math.max(0, Math.min(255, Math.round(v)));
}

function luma(img: RgbImage, p: number): number {
  return clamp8(0.299 * img.data[p * 3]! + 0.587 * img.data[p * 3 + 1]! + 0.114 * img.data[p * 3 + 2]!);
}

/** One frame's native pixel bytes in the given photometric interpretation (interleaved). */
function nativeFrame(img: RgbImage, photometric: NativePhotometric): Uint8Array {
  const n = img.width * img.height;
  if (photometric === 'RGB') return img.data;
  if (photometric === 'MONOCHROME2' || photometric === 'PALETTE COLOR') {
    const out = new Uint8Array(n);
    for (let p = 0; p < n; p++) out[p] = luma(img, p);
    return out;
  }
  // YBR_FULL: colour-by-plane (Planar Configuration 1), as the US Image module asks of it.
  const out = new Uint8Array(n * 3);
  for (let p = 0; p < n; p++) {
    const [y, cb, cr] = RGB_TO_YBR(img.data[p * 3]!, img.data[p * 3 + 1]!, img.data[p * 3 + 2]!);
    out[p] = clamp8(y);
    out[n + p] = clamp8(cb);
    out[2 * n + p] = clamp8(cr);
  }
  return out;
}

function paletteLuts(): Record<string, unknown> {
  const lut = (c: number): ArrayBuffer => {
    const a = new Uint16Array(256);
    for (let i = 0; i < 256; i++) a[i] = testPalette(i)[c]! * 257;
    return a.buffer;
  };
  return {
    RedPaletteColorLookupTableDescriptor: [256, 0, 16],
    GreenPaletteColorLookupTableDescriptor: [256, 0, 16],
    BluePaletteColorLookupTableDescriptor: [256, 0, 16],
    RedPaletteColorLookupTableData: lut(0),
    GreenPaletteColorLookupTableData: lut(1),
    BluePaletteColorLookupTableData: lut(2),
  };
}

/** A Part 10 ultrasound file of `frames` (all of one size). */
export function writeUltrasoundDicom(frames: readonly RgbImage[], options: UsWriterOptions = {}): Buffer {
  const first = frames[0];
  if (first === undefined) throw new SgusError(ErrorCode.InvalidArgument, 'no frames to write', { where: 'ultrasound writer' });
  if (frames.some((f) => f.width !== first.width || f.height !== first.height)) throw new SgusError(ErrorCode.InvalidArgument, 'frames differ in size', { where: 'ultrasound writer' });
  const encoding = options.encoding ?? 'explicit';
  const enc = options.encoded;
  const jpeg = encoding === 'jpeg-baseline' && enc === undefined;
  const photometric = enc?.photometric ?? (jpeg ? 'YBR_FULL_422' : (options.photometric ?? 'RGB'));
  const samples = enc?.samplesPerPixel ?? (photometric === 'MONOCHROME2' || photometric === 'PALETTE COLOR' ? 1 : 3);
  const single = options.singleFrame ?? frames.length === 1;
  const frameTimeMs = options.frameTimeMs ?? 40;
  const { date, time } = dicomDateTime(new Date(Date.UTC(2026, 0, 15, 10, 30, 0)));
  const id = options.identity ?? {};
  const ds: NaturalDataset = {
    SOPClassUID: single ? SopClass.UltrasoundImage : SopClass.UltrasoundMultiframeImage,
    SOPInstanceUID: id.sopInstanceUid ?? newUid(),
    SpecificCharacterSet: 'ISO_IR 100',
    ImageType: ['ORIGINAL', 'PRIMARY', '', '0001'],
    StudyDate: date,
    StudyTime: time,
    ContentDate: date,
    ContentTime: time,
    AccessionNumber: '',
    Modality: options.modality ?? 'US',
    Manufacturer: 'SGUS Live synthetic',
    ReferringPhysicianName: '',
    PatientName: id.patientName ?? 'Synthetic^Gland',
    PatientID: id.patientId ?? 'SYNTH-0001',
    PatientBirthDate: '',
    PatientSex: 'O',
    StudyInstanceUID: id.studyInstanceUid ?? newUid(),
    SeriesInstanceUID: id.seriesInstanceUid ?? newUid(),
    StudyID: '1',
    SeriesNumber: 1,
    InstanceNumber: 1,
    PatientOrientation: '',
    // Salivary glands are paired: the series says which side (Type 2C for paired body parts).
    Laterality: id.laterality ?? 'R',
    SamplesPerPixel: samples,
    PhotometricInterpretation: photometric,
    Rows: first.height,
    Columns: first.width,
    BitsAllocated: 8,
    BitsStored: 8,
    HighBit: 7,
    PixelRepresentation: 0,
    LossyImageCompression: jpeg || enc?.lossy === true ? '01' : '00',
    _vrMap: { PixelData: 'OB' },
  };
  if (samples === 3) ds['PlanarConfiguration'] = photometric === 'YBR_FULL' ? 1 : 0;
  if (jpeg) {
    ds['LossyImageCompressionRatio'] = 10;
    ds['LossyImageCompressionMethod'] = 'ISO_10918_1';
  }
  if (photometric === 'PALETTE COLOR') {
    Object.assign(ds, paletteLuts());
    // The descriptors' VR is US or SS by context; unsigned here (implicit VR cannot say).
    Object.assign(ds._vrMap!, { RedPaletteColorLookupTableDescriptor: 'US', GreenPaletteColorLookupTableDescriptor: 'US', BluePaletteColorLookupTableDescriptor: 'US' });
  }
  if (!single) {
    const timing = options.timing ?? 'frame-time';
    ds['NumberOfFrames'] = options.declaredFrames ?? frames.length;
    // Frame Increment Pointer: the attribute that times the frames (as an AT value).
    if (timing === 'frame-time') {
      ds['FrameIncrementPointer'] = 0x00181063;
      ds['FrameTime'] = frameTimeMs;
    } else if (timing === 'frame-time-vector') {
      ds['FrameIncrementPointer'] = 0x00181065;
      ds['FrameTimeVector'] = frames.map((_, i) => (i === 0 ? 0 : frameTimeMs));
    } else {
      ds['FrameIncrementPointer'] = 0x00181063;
      ds['FrameTime'] = frameTimeMs;
      ds['CineRate'] = Math.round(1000 / frameTimeMs);
    }
    if (timing === 'cine-rate') delete ds['FrameTime'], (ds['FrameIncrementPointer'] = 0x00180040);
  }
  if (options.calibration !== undefined) {
    const c = options.calibration;
    const r = c.region ?? { x0: 0, y0: 0, x1: first.width - 1, y1: first.height - 1 };
    ds['SequenceOfUltrasoundRegions'] = [
      {
        RegionSpatialFormat: 1,
        RegionDataType: 1,
        RegionFlags: 0,
        RegionLocationMinX0: r.x0,
        RegionLocationMinY0: r.y0,
        RegionLocationMaxX1: r.x1,
        RegionLocationMaxY1: r.y1,
        PhysicalUnitsXDirection: 3,
        PhysicalUnitsYDirection: 3,
        PhysicalDeltaX: c.mmPerPxX / 10,
        PhysicalDeltaY: c.mmPerPxY / 10,
      },
    ];
  }
  if (options.pixelSpacingMm !== undefined) ds['PixelSpacing'] = options.pixelSpacingMm;
  if (options.omitPixelData !== true) {
    if (enc !== undefined) {
      ds['PixelData'] = enc.frames.map((f) => toArrayBuffer(f));
    } else if (jpeg) {
      ds['PixelData'] = frames.map((f) => toArrayBuffer(encodeJpegRgb(f, options.jpegQuality ?? 92)));
    } else {
      const frameBytes = first.width * first.height * samples;
      const all = new Uint8Array(frameBytes * frames.length + ((frameBytes * frames.length) & 1));
      frames.forEach((f, i) => all.set(nativeFrame(f, photometric as NativePhotometric), i * frameBytes));
      ds['PixelData'] = [all.buffer];
    }
  }
  const ts = enc !== undefined ? enc.transferSyntax : jpeg ? TransferSyntax.JpegBaseline : encoding === 'implicit' ? TransferSyntax.ImplicitLittle : TransferSyntax.ExplicitLittle;
  return writePart10(ds, ts, 'ultrasound writer');
}
