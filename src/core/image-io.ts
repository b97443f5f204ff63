/**
 * Decoding and encoding of still images (PNG, JPEG) in pure JavaScript, so that the segmentation
 * core runs wherever Node runs, with no native image library to install.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { PNG } from 'pngjs';
import jpeg from 'jpeg-js';
import { ErrorCode, SgusError, describeError } from '../errors.js';
import type { GreyImage, RgbImage } from './image.js';

export type ImageFormat = 'png' | 'jpeg';

/** Largest image we accept, in pixels: beyond this a frame is surely not an ultrasound frame. */
export const MAX_IMAGE_PIXELS = 120_000_000;

/** Sniffs the format from the first bytes; the file extension is not trusted. */
export function sniffImageFormat(bytes: Uint8Array): ImageFormat | undefined {
  if (bytes.length >= 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) return 'png';
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  return undefined;
}

/** Decodes PNG or JPEG bytes (grey, palette, RGB or RGBA; alpha dropped) to RGB. */
export function decodeImage(bytes: Uint8Array, where = 'image'): RgbImage {
  const format = sniffImageFormat(bytes);
  if (format === undefined) {
    throw new SgusError(ErrorCode.UnsupportedFormat, 'not a PNG or JPEG image', { where, fatal: false });
  }
  let rgba: { width: number; height: number; data: Uint8Array };
  try {
    if (format === 'png') {
      const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      rgba = { width: png.width, height: png.height, data: png.data };
    } else {
      const decoded = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: MAX_IMAGE_PIXELS / 1e6, maxMemoryUsageInMB: 2048 });
      rgba = { width: decoded.width, height: decoded.height, data: decoded.data };
    }
  } catch (err) {
    throw new SgusError(ErrorCode.UnsupportedFormat, `corrupt ${format.toUpperCase()}: ${describeError(err)}`, { where, fatal: false, cause: err });
  }
  if (rgba.width < 1 || rgba.height < 1 || rgba.width * rgba.height > MAX_IMAGE_PIXELS) {
    throw new SgusError(ErrorCode.UnsupportedFormat, `image size ${rgba.width}x${rgba.height} is outside 1x1..${MAX_IMAGE_PIXELS} pixels`, { where, fatal: false });
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
export async function readImage(path: string): Promise<RgbImage> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : code === 'EACCES' ? 'permission denied' : describeError(err);
    throw new SgusError(ErrorCode.FileUnreadable, `cannot read: ${why}`, { where: path, fatal: false, cause: err });
  }
  if (bytes.length === 0) throw new SgusError(ErrorCode.UnsupportedFormat, 'empty file (0 bytes)', { where: path, fatal: false });
  return decodeImage(bytes, path);
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
