/**
 * Decoding and encoding of still images (PNG, JPEG) in pure JavaScript, so that the segmentation
 * core runs wherever Node runs, with no native image library to install.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { PNG } from 'pngjs';
import jpeg from 'jpeg-js';
import { ErrorCode, SgusError, describeError } from '../errors.js';
import { readImageHeader } from './image-header.js';
import type { GreyImage, RgbImage } from './image.js';

export type ImageFormat = 'png' | 'jpeg';

/**
 * Largest image decoded, in pixels (100 megapixels, 10000x10000: far beyond any ultrasound frame,
 * and about 700 MB while decoding). Checked against the size the file's header declares before any
 * pixel is decoded, so that a small file declaring a huge image (an image bomb) costs nothing.
 * Override per call with `DecodeOptions.maxPixels`.
 */
export const MAX_IMAGE_PIXELS = 100_000_000;

export interface DecodeOptions {
  /** Largest width x height accepted. Default MAX_IMAGE_PIXELS. */
  maxPixels?: number;
}

/**
 * The decoders' failures in words a user can act on: their own messages ("There are some read
 * requests waitng on finished stream", Node's "The value of "size" is out of range") say nothing
 * about the file.
 */
function decodeFailure(format: ImageFormat, err: unknown): string {
  const msg = describeError(err);
  if (err instanceof RangeError || /out of range|array buffer allocation|memory/i.test(msg)) return 'too large to decode';
  if (/read requests|end of (file|stream|data)|marker was not found|unexpected end/i.test(msg)) return 'the file ends before its image data (truncated?)';
  if (/crc/i.test(msg)) return 'checksum error (damaged file)';
  if (/unsupported|not supported/i.test(msg)) return `unsupported ${format === 'png' ? 'PNG' : 'JPEG'} variant`;
  return 'damaged image data';
}

/** Sniffs the format from the first bytes; the file extension is not trusted. */
export function sniffImageFormat(bytes: Uint8Array): ImageFormat | undefined {
  if (bytes.length >= 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) return 'png';
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  return undefined;
}

/**
 * Decodes PNG or JPEG bytes (grey, palette, RGB or RGBA; alpha dropped) to RGB. An image over
 * `maxPixels` is refused from its header, before decoding.
 */
export function decodeImage(bytes: Uint8Array, where = 'image', options: DecodeOptions = {}): RgbImage {
  const maxPixels = options.maxPixels ?? MAX_IMAGE_PIXELS;
  const format = sniffImageFormat(bytes);
  if (format === undefined) {
    throw new SgusError(ErrorCode.UnsupportedFormat, 'not a PNG or JPEG image', { where, fatal: false });
  }
  const header = readImageHeader(bytes);
  if (header !== undefined && header.width * header.height > maxPixels) {
    throw new SgusError(ErrorCode.UnsupportedFormat, `image of ${header.width}x${header.height} pixels (${(header.width * header.height / 1e6).toFixed(0)} megapixels) is over the ${(maxPixels / 1e6).toLocaleString('en-US')}-megapixel limit; not decoded`, { where, fatal: false });
  }
  let rgba: { width: number; height: number; data: Uint8Array };
  try {
    if (format === 'png') {
      const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      rgba = { width: png.width, height: png.height, data: png.data };
    } else {
      const decoded = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: maxPixels / 1e6, maxMemoryUsageInMB: 2048 });
      rgba = { width: decoded.width, height: decoded.height, data: decoded.data };
    }
  } catch (err) {
    throw new SgusError(ErrorCode.UnsupportedFormat, `corrupt ${format.toUpperCase()}: ${decodeFailure(format, err)}`, { where, fatal: false, cause: err });
  }
  if (rgba.width < 1 || rgba.height < 1 || rgba.width * rgba.height > maxPixels) {
    throw new SgusError(ErrorCode.UnsupportedFormat, `image size ${rgba.width}x${rgba.height} is outside 1x1..${maxPixels} pixels`, { where, fatal: false });
  }
  const n = rgba.width * rgba.height;
  const data = new Uint8Array(n * 3);
  for (let i = 0, j = 0, k = 0; i < n; i++, j += 3, k += 4) {
    data[j] = rgba.data[k]!;
    data[j + 1] = rgba.data[k + 1]!;
    data[j + 2] = rgba.data[k + 2]!;
  }
  return { width: rgba.width, height: rgba.height, data };
}

/** Reads and decodes an image file; errors name the file and are not fatal to a batch. */
export async function readImage(path: string, options: DecodeOptions = {}): Promise<RgbImage> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : code === 'EACCES' ? 'permission denied' : code === 'ERR_FS_FILE_TOO_LARGE' || err instanceof RangeError ? 'file too large for an image (over 2 GiB)' : describeError(err);
    throw new SgusError(ErrorCode.FileUnreadable, `cannot read: ${why}`, { where: path, fatal: false, cause: err });
  }
  if (bytes.length === 0) throw new SgusError(ErrorCode.UnsupportedFormat, 'empty file (0 bytes)', { where: path, fatal: false });
  return decodeImage(bytes, path, options);
}

/** Encodes an RGB image as PNG. */
export function encodePngRgb(img: RgbImage): Buffer {
  const png = new PNG({ width: img.width, height: img.height, colorType: 2, inputColorType: 2, inputHasAlpha: false });
  png.data = Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength);
  return PNG.sync.write(png, { colorType: 2, inputColorType: 2, inputHasAlpha: false });
}

/** Encodes a single-channel 8-bit image as a greyscale PNG (values kept as they are: 0/1 stays 0/1). */
export function encodePngGrey(img: GreyImage): Buffer {
  const png = new PNG({ width: img.width, height: img.height, colorType: 0, inputColorType: 0, inputHasAlpha: false, bitDepth: 8 });
  png.data = Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength);
  return PNG.sync.write(png, { colorType: 0, inputColorType: 0, inputHasAlpha: false, bitDepth: 8 });
}

/** Encodes an RGB image as JPEG (used for viewer fallbacks and previews). */
export function encodeJpegRgb(img: RgbImage, quality = 85): Buffer {
  const n = img.width * img.height;
  const rgba = new Uint8Array(n * 4);
  for (let i = 0, j = 0, k = 0; i < n; i++, j += 3, k += 4) {
    rgba[k] = img.data[j]!;
    rgba[k + 1] = img.data[j + 1]!;
    rgba[k + 2] = img.data[j + 2]!;
    rgba[k + 3] = 255;
  }
  return Buffer.from(jpeg.encode({ width: img.width, height: img.height, data: rgba }, quality).data);
}

export async function writePngRgb(path: string, img: RgbImage): Promise<void> {
  await writeFile(path, encodePngRgb(img));
}

export async function writePngGrey(path: string, img: GreyImage): Promise<void> {
  await writeFile(path, encodePngGrey(img));
}
