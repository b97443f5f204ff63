/**
 * One DICOM frame to an 8-bit RGB image, the segmenter's input: native pixels in every
 * photometric interpretation ultrasound uses (MONOCHROME1/2, RGB, YBR_FULL, YBR_FULL_422, PALETTE
 * COLOR, 8 or 16 bits), JPEG Baseline / Extended through the project's JPEG decoder (jpeg-js), RLE
 * Lossless (PS3.5 G: PackBits segments, too small a codec to need a package), JPEG-LS and JPEG 2000
 * through WebAssembly CharLS / OpenJPEG (wasm-codecs.ts; load them first with `loadCodecFor`).
 */
import type { DataSet } from 'dicom-parser';
import type { RgbImage } from '../core/image.js';
import { decodeImage } from '../core/image-io.js';
import { ErrorCode, SgusError } from '../errors.js';
import type { DicomImageInfo, DicomInstance } from './dicom-file.js';
import { TransferSyntax } from './uids.js';
import { decodeWasmFrame, wasmCodecFamily } from './wasm-codecs.js';

function clamp8(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : Math.round(v);
}

function ybrToRgb(y: number, cb: number, cr: number, out: Uint8Array, o: number): void {
  out[o] = clamp8(y + 1.402 * (cr - 128));
  out[o + 1] = clamp8(y - 0.344136 * (cb - 128) - 0.714136 * (cr - 128));
  out[o + 2] = clamp8(y + 1.772 * (cb - 128));
}

interface Palette {
  lut: [Uint8Array, Uint8Array, Uint8Array];
  first: number;
}

/** Red, green and blue palette LUTs to 8 bits (16-bit entries keep their high byte). */
function readPalette(ds: DataSet, where: string): Palette {
  const lut: Uint8Array[] = [];
  let first = 0;
  ['x00281201', 'x00281202', 'x00281203'].forEach((dataTag, c) => {
    const descTag = ['x00281101', 'x00281102', 'x00281103'][c]!;
    const el = ds.elements[dataTag];
    const n0 = ds.uint16(descTag, 0) ?? 0;
    const n = n0 === 0 ? 65536 : n0;
    first = ds.uint16(descTag, 1) ?? 0;
    const bits = ds.uint16(descTag, 2) ?? 16;
    if (el === undefined) throw new SgusError(ErrorCode.UnsupportedFormat, 'PALETTE COLOR without its lookup tables', { where, fatal: false });
    const out = new Uint8Array(n);
    const b = ds.byteArray;
    for (let i = 0; i < n; i++) {
      if (bits === 16 || el.length >= n * 2) {
        const v = b[el.dataOffset + i * 2]! | (b[el.dataOffset + i * 2 + 1]! << 8);
        out[i] = bits === 16 ? v >> 8 : v & 0xff;
      } else {
        out[i] = b[el.dataOffset + i]!;
      }
    }
    lut.push(out);
  });
  return { lut: lut as [Uint8Array, Uint8Array, Uint8Array], first };
}

/** Native (uncompressed, or RLE-decoded) frame bytes to RGB. */
export function nativeToRgb(bytes: Uint8Array, im: DicomImageInfo, ds: DataSet, where: string): RgbImage {
  const { rows, columns } = im;
  const n = rows * columns;
  const out = new Uint8Array(n * 3);
  const p = im.photometric;
  if (im.samplesPerPixel === 1) {
    // Grey (or palette index) samples to 8 bits: 16-bit samples are scaled from their stored range.
    const sample = new Uint16Array(n);
    if (im.bitsAllocated === 16) {
      const signed = im.pixelRepresentation === 1;
      for (let i = 0; i < n; i++) {
        let v = bytes[i * 2]! | (bytes[i * 2 + 1]! << 8);
        if (signed && v >= 0x8000) v -= 0x10000;
        sample[i] = Math.max(0, v);
      }
    } else {
      for (let i = 0; i < n; i++) sample[i] = bytes[i]!;
    }
    if (p === 'PALETTE COLOR') {
      const pal = readPalette(ds, where);
      for (let i = 0; i < n; i++) {
        const k = Math.max(0, Math.min(pal.lut[0].length - 1, sample[i]! - pal.first));
        out[i * 3] = pal.lut[0][k]!;
        out[i * 3 + 1] = pal.lut[1][k]!;
        out[i * 3 + 2] = pal.lut[2][k]!;
      }
      return { width: columns, height: rows, data: out };
    }
    if (p !== 'MONOCHROME1' && p !== 'MONOCHROME2') throw new SgusError(ErrorCode.UnsupportedFormat, `photometric interpretation ${p} with 1 sample per pixel is not supported`, { where, fatal: false });
    const shift = im.bitsAllocated === 16 ? Math.max(0, im.bitsStored - 8) : 0;
    for (let i = 0; i < n; i++) {
      let v = Math.min(255, sample[i]! >> shift);
      if (p === 'MONOCHROME1') v = 255 - v;
      out[i * 3] = v;
      out[i * 3 + 1] = v;
      out[i * 3 + 2] = v;
    }
    return { width: columns, height: rows, data: out };
  }
  if (im.samplesPerPixel !== 3 || im.bitsAllocated !== 8) throw new SgusError(ErrorCode.UnsupportedFormat, `${im.samplesPerPixel} samples of ${im.bitsAllocated} bits per pixel are not supported`, { where, fatal: false });
  if (p === 'YBR_FULL_422') {
    // Two pixels share a chroma pair: Y1 Y2 Cb Cr.
    for (let i = 0, j = 0; i < n; i += 2, j += 4) {
      const cb = bytes[j + 2]!;
      const cr = bytes[j + 3]!;
      ybrToRgb(bytes[j]!, cb, cr, out, i * 3);
      if (i + 1 < n) ybrToRgb(bytes[j + 1]!, cb, cr, out, (i + 1) * 3);
    }
    return { width: columns, height: rows, data: out };
  }
  const planar = im.planarConfiguration === 1;
  const at = (i: number, c: number): number => (planar ? bytes[c * n + i]! : bytes[i * 3 + c]!);
  if (p === 'RGB') {
    if (!planar) out.set(bytes.subarray(0, n * 3));
    else for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) out[i * 3 + c] = at(i, c);
  } else if (p === 'YBR_FULL') {
    for (let i = 0; i < n; i++) ybrToRgb(at(i, 0), at(i, 1), at(i, 2), out, i * 3);
  } else {
    throw new SgusError(ErrorCode.UnsupportedFormat, `photometric interpretation ${p} is not supported`, { where, fatal: false });
  }
  return { width: columns, height: rows, data: out };
}

/** RLE Lossless (PS3.5 Annex G): a header of segment offsets, one PackBits segment per byte plane. */
export function decodeRle(bytes: Uint8Array, im: DicomImageInfo, where: string): Uint8Array {
  const n = im.rows * im.columns;
  const bytesPerSample = im.bitsAllocated / 8;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 64) throw new SgusError(ErrorCode.CorruptFrame, 'RLE frame shorter than its header', { where, fatal: false });
  const segments = view.getUint32(0, true);
  if (segments !== im.samplesPerPixel * bytesPerSample) throw new SgusError(ErrorCode.CorruptFrame, `RLE frame has ${segments} segments, ${im.samplesPerPixel * bytesPerSample} expected`, { where, fatal: false });
  const out = new Uint8Array(n * im.samplesPerPixel * bytesPerSample);
  for (let s = 0; s < segments; s++) {
    const start = view.getUint32(4 + s * 4, true);
    const end = s + 1 < segments ? view.getUint32(8 + s * 4, true) : bytes.length;
    // Segment s is byte plane (most significant first) of sample s / bytesPerSample; output is
    // little-endian, interleaved by pixel (planar configuration 0).
    const sampleIndex = Math.floor(s / bytesPerSample);
    const byteIndex = bytesPerSample - 1 - (s % bytesPerSample);
    const stride = im.samplesPerPixel * bytesPerSample;
    let o = 0;
    let i = start;
    const put = (v: number): void => {
      if (o < n) out[o * stride + sampleIndex * bytesPerSample + byteIndex] = v;
      o++;
    };
    while (i < end && o < n) {
      const c = bytes[i++]!;
      if (c < 128) {
        for (let k = 0; k <= c && i < end; k++) put(bytes[i++]!);
      } else if (c > 128) {
        const v = bytes[i++]!;
        for (let k = 0; k < 257 - c; k++) put(v);
      }
    }
    if (o < n) throw new SgusError(ErrorCode.CorruptFrame, `RLE segment ${s} ends after ${o} of ${n} pixels`, { where, fatal: false });
  }
  return out;
}

/** Frame `index` of an instance as RGB; errors name the file and frame and are not fatal. */
export function decodeFrame(inst: DicomInstance, index: number): RgbImage {
  const where = `${inst.where} frame ${index + 1}`;
  const bytes = inst.frameBytes(index);
  const ts = inst.transferSyntaxUid;
  const im = inst.image;
  if (ts === TransferSyntax.JpegBaseline || ts === TransferSyntax.JpegExtended) {
    // The JPEG stream carries its own colour transform (YBR_FULL_422 → RGB in the decoder).
    const img = decodeImage(bytes, where);
    if (img.width !== im.columns || img.height !== im.rows) throw new SgusError(ErrorCode.CorruptFrame, `JPEG frame is ${img.width}x${img.height}, the header says ${im.columns}x${im.rows}`, { where, fatal: false });
    if (im.samplesPerPixel === 1 && im.photometric === 'MONOCHROME1') for (let i = 0; i < img.data.length; i++) img.data[i] = 255 - img.data[i]!;
    return img;
  }
  if (wasmCodecFamily(ts) !== undefined) {
    const d = decodeWasmFrame(bytes, ts, where);
    if (d.width !== im.columns || d.height !== im.rows || d.components !== im.samplesPerPixel) {
      throw new SgusError(ErrorCode.CorruptFrame, `frame decodes to ${d.width}x${d.height} with ${d.components} samples, the header says ${im.columns}x${im.rows} with ${im.samplesPerPixel}`, { where, fatal: false });
    }
    // OpenJPEG undoes the codestream's colour transform (YBR_RCT / YBR_ICT), so such frames are RGB.
    const photometric = im.photometric === 'YBR_RCT' || im.photometric === 'YBR_ICT' ? 'RGB' : im.photometric;
    return nativeToRgb(d.pixels, { ...im, photometric, planarConfiguration: d.planar ? 1 : 0 }, inst.dataSet, where);
  }
  if (ts === TransferSyntax.Rle) {
    // RLE holds planes separately; once decoded the samples are pixel-interleaved.
    return nativeToRgb(decodeRle(bytes, im, where), { ...im, planarConfiguration: 0 }, inst.dataSet, where);
  }
  return nativeToRgb(bytes, im, inst.dataSet, where);
}
