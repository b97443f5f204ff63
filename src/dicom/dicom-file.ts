/**
 * Reading a DICOM Part 10 ultrasound instance with dicom-parser: what it is (SOP class, modality,
 * transfer syntax, image pixel module), how its frames are timed, how it is calibrated, and each
 * frame's encoded bytes. dicom-parser was chosen over dcmjs for reading: it indexes the file
 * without copying or converting the pixel data (see docs in README "DICOM").
 */
import dicomParser from 'dicom-parser';
import type { DataSet, Element } from 'dicom-parser';
import { ErrorCode, SgusError, describeError } from '../errors.js';
import { readCalibration } from './calibration.js';
import type { Calibration } from './calibration.js';
import { TransferSyntax } from './uids.js';

export const ULTRASOUND_SOP_CLASSES: ReadonlySet<string> = new Set([
  '1.2.840.10008.5.1.4.1.1.6.1', // US Image Storage
  '1.2.840.10008.5.1.4.1.1.3.1', // US Multi-frame Image Storage
  '1.2.840.10008.5.1.4.1.1.6', // US Image Storage (retired)
  '1.2.840.10008.5.1.4.1.1.3', // US Multi-frame Image Storage (retired)
]);

/** Transfer syntaxes whose frames this reader decodes. */
export const SUPPORTED_TRANSFER_SYNTAXES: ReadonlyMap<string, string> = new Map([
  [TransferSyntax.ImplicitLittle, 'Implicit VR Little Endian'],
  [TransferSyntax.ExplicitLittle, 'Explicit VR Little Endian'],
  [TransferSyntax.JpegBaseline, 'JPEG Baseline'],
  [TransferSyntax.JpegExtended, 'JPEG Extended (8-bit)'],
  [TransferSyntax.Rle, 'RLE Lossless'],
  [TransferSyntax.JpegLsLossless, 'JPEG-LS Lossless'],
  [TransferSyntax.JpegLsNearLossless, 'JPEG-LS Near-Lossless'],
  [TransferSyntax.Jpeg2000Lossless, 'JPEG 2000 Lossless'],
  [TransferSyntax.Jpeg2000, 'JPEG 2000'],
]);

export interface DicomImageInfo {
  rows: number;
  columns: number;
  samplesPerPixel: number;
  photometric: string;
  bitsAllocated: number;
  bitsStored: number;
  pixelRepresentation: number;
  planarConfiguration: number;
}

export interface DicomInstance {
  /** The file, for messages. */
  where: string;
  sopClassUid: string;
  sopInstanceUid: string;
  studyInstanceUid: string;
  seriesInstanceUid: string;
  transferSyntaxUid: string;
  modality: string;
  image: DicomImageInfo;
  /** Number of Frames as declared (1 when absent). */
  declaredFrames: number;
  /** Frames the pixel data actually holds (fewer than declared in a damaged file). */
  frames: number;
  /** Milliseconds from each frame to the next, when the file says (Frame Time, Frame Time Vector, Cine Rate). */
  frameTimeMs: number | undefined;
  calibration: Calibration | undefined;
  /** Problems that did not stop reading (one line each, without the file name). */
  warnings: string[];
  /** The parsed dataset (for palettes and further attributes). */
  dataSet: DataSet;
  /** The file's bytes. */
  bytes: Uint8Array;
  /** Encoded bytes of frame `index` (native: exactly one frame; encapsulated: its compressed stream). */
  frameBytes(index: number): Uint8Array;
}

/** Whether bytes look like a DICOM Part 10 file ("DICM" after the 128-byte preamble). */
export function isDicomPart10(bytes: Uint8Array): boolean {
  return bytes.length >= 132 && bytes[128] === 0x44 && bytes[129] === 0x49 && bytes[130] === 0x43 && bytes[131] === 0x4d;
}

function fail(message: string, where: string, cause?: unknown): SgusError {
  return new SgusError(ErrorCode.UnsupportedFormat, message, { where, fatal: false, cause });
}

/** dicom-parser throws strings, Errors or {exception, dataSet}; this is its words and partial dataset. */
function parseFailure(err: unknown): { text: string; dataSet?: DataSet } {
  if (typeof err === 'object' && err !== null && 'exception' in err) {
    const e = err as { exception: unknown; dataSet?: DataSet };
    return { text: String(e.exception), ...(e.dataSet !== undefined ? { dataSet: e.dataSet } : {}) };
  }
  return { text: typeof err === 'string' ? err : describeError(err) };
}

/** Frame interval in ms: Frame Time, else the mean of Frame Time Vector, else Cine Rate, else Recommended Display Frame Rate. */
function frameTiming(ds: DataSet): number | undefined {
  const ft = ds.floatString('x00181063');
  if (ft !== undefined && Number.isFinite(ft) && ft > 0) return ft;
  const vector = ds.string('x00181065');
  if (vector !== undefined) {
    // The first entry is 0 (no frame before the first); the rest are the intervals.
    const v = vector.split('\\').map(Number).slice(1).filter((x) => Number.isFinite(x) && x > 0);
    if (v.length > 0) return v.reduce((a, b) => a + b, 0) / v.length;
  }
  for (const tag of ['x00180040', 'x00082144']) {
    const rate = ds.intString(tag);
    if (rate !== undefined && Number.isFinite(rate) && rate > 0) return 1000 / rate;
  }
  return undefined;
}

function nativeFrameLength(im: DicomImageInfo): number {
  const bytesPerSample = im.bitsAllocated / 8;
  // YBR_FULL_422 uncompressed stores two luma and one pair of chroma per two pixels.
  if (im.photometric === 'YBR_FULL_422') return im.rows * im.columns * 2 * bytesPerSample;
  return im.rows * im.columns * im.samplesPerPixel * bytesPerSample;
}

export interface ReadDicomOptions {
  /** Refuse images whose modality is not US. Default true; false reads them with a warning. */
  ultrasoundOnly?: boolean;
}

/**
 * Parses a Part 10 file. Throws one-line, non-fatal SgusErrors naming the file for what cannot be
 * read at all (not DICOM, no pixel data, an unsupported transfer syntax, truncated before any
 * frame); a file holding fewer frames than it declares is read with a warning.
 */
export function readDicom(bytes: Uint8Array, where: string, options: ReadDicomOptions = {}): DicomInstance {
  if (!isDicomPart10(bytes)) throw fail('not a DICOM Part 10 file (no DICM marker)', where);
  // The transfer syntax first, from the meta header alone: a syntax we cannot read (big endian,
  // deflate) would otherwise fail the full parse with a less helpful message.
  let metaSyntax: string | undefined;
  try {
    metaSyntax = dicomParser.readPart10Header(bytes).string('x00020010');
  } catch (err) {
    throw fail(`truncated or damaged DICOM header: ${parseFailure(err).text.replace(/^dicomParser\.\w+: /, '')}`, where, err);
  }
  if (metaSyntax === undefined || !SUPPORTED_TRANSFER_SYNTAXES.has(metaSyntax)) {
    throw fail(`unsupported transfer syntax ${metaSyntax ?? '(none)'}${transferSyntaxName(metaSyntax ?? '')}`, where);
  }
  let ds: DataSet;
  const warnings: string[] = [];
  let truncated = false;
  try {
    ds = dicomParser.parseDicom(bytes);
  } catch (err) {
    const f = parseFailure(err);
    // A file cut inside its pixel data still holds whole frames before the cut: keep them.
    if (f.dataSet?.elements['x7fe00010'] !== undefined) {
      ds = f.dataSet;
      truncated = true;
      // The partial dataset lacks the file meta information (transfer syntax): read it apart.
      try {
        Object.assign(ds.elements, dicomParser.readPart10Header(bytes).elements);
      } catch {
        /* no meta: the transfer syntax check below says so */
      }
    } else {
      throw fail(`truncated or damaged DICOM: ${f.text.replace(/^dicomParser\.\w+: /, '')}`, where, err);
    }
  }
  // dicom-parser stops quietly at the end of a buffer cut inside an element: an element that runs
  // past the end says the file was cut.
  if (Object.values(ds.elements).some((e) => e.length !== 0xffffffff && e.dataOffset + e.length > bytes.length)) truncated = true;
  // A dataset without even its SOP Class UID is the header of a file cut short, not an image.
  if ((truncated || ds.elements['x00080016'] === undefined) && ds.elements['x7fe00010'] === undefined) throw fail('truncated or damaged DICOM: the file ends before its pixel data', where);
  const transferSyntaxUid = ds.string('x00020010') ?? '';
  if (!SUPPORTED_TRANSFER_SYNTAXES.has(transferSyntaxUid)) {
    throw fail(`unsupported transfer syntax ${transferSyntaxUid || '(none)'}${transferSyntaxName(transferSyntaxUid)}`, where);
  }
  const sopClassUid = ds.string('x00080016') ?? '';
  const modality = ds.string('x00080060') ?? '';
  // Modality decides: the models learned ultrasound only. An ultrasound picture stored in another
  // SOP class (a secondary capture of the scanner's screen) is read, with a note.
  if (modality !== 'US') {
    const what = `not an ultrasound image (modality ${modality || 'none'})`;
    if (options.ultrasoundOnly !== false) throw fail(`${what}; refused`, where);
    warnings.push(`${what}; read anyway`);
  } else if (!ULTRASOUND_SOP_CLASSES.has(sopClassUid)) {
    warnings.push(`modality US in SOP class ${sopClassUid || 'none'} (not US Image / US Multi-frame Image Storage); read as an ultrasound image`);
  }
  const pixel = ds.elements['x7fe00010'];
  if (pixel === undefined) throw fail('no pixel data (7FE0,0010)', where);
  const image: DicomImageInfo = {
    rows: ds.uint16('x00280010') ?? 0,
    columns: ds.uint16('x00280011') ?? 0,
    samplesPerPixel: ds.uint16('x00280002') ?? 1,
    photometric: (ds.string('x00280004') ?? 'MONOCHROME2').trim(),
    bitsAllocated: ds.uint16('x00280100') ?? 8,
    bitsStored: ds.uint16('x00280101') ?? 8,
    pixelRepresentation: ds.uint16('x00280103') ?? 0,
    planarConfiguration: ds.uint16('x00280006') ?? 0,
  };
  if (image.rows < 1 || image.columns < 1) throw fail(`no image size (Rows ${image.rows}, Columns ${image.columns})`, where);
  if (image.bitsAllocated !== 8 && image.bitsAllocated !== 16) throw fail(`unsupported Bits Allocated ${image.bitsAllocated}`, where);
  const declaredFrames = Math.max(1, ds.intString('x00280008') ?? 1);
  const encapsulated = pixel.encapsulatedPixelData === true;
  let frames: number;
  let frameBytes: (index: number) => Uint8Array;
  if (!encapsulated) {
    const len = nativeFrameLength(image);
    const available = Math.min(pixel.length, bytes.length - pixel.dataOffset);
    frames = Math.min(declaredFrames, Math.floor(available / len));
    frameBytes = (i) => bytes.subarray(pixel.dataOffset + i * len, pixel.dataOffset + (i + 1) * len);
  } else {
    ({ frames, frameBytes } = encapsulatedFrames(ds, pixel, declaredFrames, where));
  }
  if (frames === 0) throw fail(truncated ? 'truncated: the file ends before its first frame' : 'the pixel data holds no whole frame', where);
  if (frames < declaredFrames) warnings.push(`${truncated ? 'truncated: ' : ''}holds ${frames} of the ${declaredFrames} frames it declares; reading those`);
  else if (truncated) warnings.push('truncated after the last frame');
  return {
    where,
    sopClassUid,
    sopInstanceUid: ds.string('x00080018') ?? '',
    studyInstanceUid: ds.string('x0020000d') ?? '',
    seriesInstanceUid: ds.string('x0020000e') ?? '',
    transferSyntaxUid,
    modality,
    image,
    declaredFrames,
    frames,
    frameTimeMs: frameTiming(ds),
    calibration: readCalibration(ds),
    warnings,
    dataSet: ds,
    bytes,
    frameBytes(index: number): Uint8Array {
      if (!Number.isInteger(index) || index < 0 || index >= frames) throw new SgusError(ErrorCode.InvalidArgument, `frame ${index} is outside 0..${frames - 1}`, { where });
      return frameBytes(index);
    },
  };
}

/** Frames of encapsulated pixel data: by the basic offset table, one fragment a frame, or JPEG markers. */
function encapsulatedFrames(ds: DataSet, pixel: Element, declared: number, where: string): { frames: number; frameBytes: (i: number) => Uint8Array } {
  const fragments = pixel.fragments ?? [];
  const bot = pixel.basicOffsetTable ?? [];
  if (fragments.length === 0) return { frames: 0, frameBytes: () => new Uint8Array(0) };
  const copy = (b: Uint8Array): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  if (bot.length > 0) {
    // Offsets past the last fragment belong to frames that are not there.
    const starts = bot.filter((o) => fragments.some((f) => f.offset === o));
    return { frames: Math.min(declared, starts.length), frameBytes: (i) => copy(dicomParser.readEncapsulatedImageFrame(ds, pixel, i, bot, fragments)) };
  }
  if (fragments.length === declared || declared === 1) {
    return {
      frames: Math.min(declared, fragments.length),
      frameBytes: (i) => (declared === 1 ? copy(dicomParser.readEncapsulatedPixelDataFromFragments(ds, pixel, 0, fragments.length, fragments)) : copy(dicomParser.readEncapsulatedPixelDataFromFragments(ds, pixel, i, 1, fragments))),
    };
  }
  try {
    const table = dicomParser.createJPEGBasicOffsetTable(ds, pixel, fragments);
    return { frames: Math.min(declared, table.length), frameBytes: (i) => copy(dicomParser.readEncapsulatedImageFrame(ds, pixel, i, table, fragments)) };
  } catch (err) {
    throw fail(`cannot map ${fragments.length} pixel data fragments to ${declared} frames: ${parseFailure(err).text}`, where, err);
  }
}

function transferSyntaxName(uid: string): string {
  const names: Record<string, string> = {
    [TransferSyntax.ExplicitBig]: 'Explicit VR Big Endian',
    [TransferSyntax.DeflatedExplicitLittle]: 'Deflated Explicit VR Little Endian',
    [TransferSyntax.JpegLossless]: 'JPEG Lossless',
    [TransferSyntax.JpegLosslessSv1]: 'JPEG Lossless SV1',
    [TransferSyntax.JpegLsLossless]: 'JPEG-LS Lossless',
    [TransferSyntax.JpegLsNearLossless]: 'JPEG-LS Near-Lossless',
    [TransferSyntax.Jpeg2000Lossless]: 'JPEG 2000 Lossless',
    [TransferSyntax.Jpeg2000]: 'JPEG 2000',
  };
  const n = names[uid];
  return n !== undefined ? ` (${n})` : '';
}
