import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RgbImage } from '../../src/core/image.js';
import { readDicom } from '../../src/dicom/dicom-file.js';
import { decodeFrame, decodeRle } from '../../src/dicom/pixel-decode.js';
import { testPalette, writeUltrasoundDicom } from '../../src/dicom/us-writer.js';
import type { UsWriterOptions } from '../../src/dicom/us-writer.js';
import { maxDiff, syntheticFrames } from '../helpers/dicom.js';

const frames = syntheticFrames(3);

function meanDiff(a: RgbImage, b: RgbImage): number {
  let s = 0;
  for (let i = 0; i < a.data.length; i++) s += Math.abs(a.data[i]! - b.data[i]!);
  return s / a.data.length;
}

function decoded(options: UsWriterOptions, index = 1): RgbImage {
  return decodeFrame(readDicom(writeUltrasoundDicom(frames, options), 'x.dcm'), index);
}

test('uncompressed RGB frames decode exactly, in explicit and implicit VR', () => {
  assert.equal(maxDiff(decoded({}), frames[1]!), 0);
  assert.equal(maxDiff(decoded({ encoding: 'implicit' }, 2), frames[2]!), 0);
});

test('YBR_FULL (colour by plane) decodes to the RGB it was made from, within rounding', () => {
  assert.ok(maxDiff(decoded({ photometric: 'YBR_FULL' }), frames[1]!) <= 2);
});

test('MONOCHROME2 decodes to grey RGB of the frame luma', () => {
  const img = decoded({ photometric: 'MONOCHROME2' });
  for (let i = 0; i < img.width * img.height; i += 97) {
    assert.equal(img.data[i * 3], img.data[i * 3 + 1]);
    assert.equal(img.data[i * 3], img.data[i * 3 + 2]);
  }
  assert.ok(maxDiff(img, frames[1]!) <= 4);
});

test('PALETTE COLOR indices are looked up in the palette', () => {
  const img = decoded({ photometric: 'PALETTE COLOR' });
  const grey = decoded({ photometric: 'MONOCHROME2' });
  for (let i = 0; i < img.width * img.height; i += 31) {
    assert.deepEqual([...img.data.subarray(i * 3, i * 3 + 3)], testPalette(grey.data[i * 3]!));
  }
});

test('JPEG Baseline (YBR_FULL_422) frames decode close to their source', () => {
  const img = decoded({ encoding: 'jpeg-baseline', jpegQuality: 95 });
  assert.ok(meanDiff(img, frames[1]!) < 3, `mean difference ${meanDiff(img, frames[1]!)}`);
});

test('RLE segments (PackBits, most significant byte plane first) decode to interleaved pixels', () => {
  // 2x2 RGB: one segment per colour, each a literal run or a replicate run.
  const header = new Uint8Array(64);
  const view = new DataView(header.buffer);
  view.setUint32(0, 3, true);
  const segs = [new Uint8Array([3, 10, 20, 30, 40]), new Uint8Array([256 - 3, 7]), new Uint8Array([1, 1, 2, 255 - 0, 9])];
  let offset = 64;
  segs.forEach((s, k) => {
    view.setUint32(4 + k * 4, offset, true);
    offset += s.length;
  });
  const bytes = new Uint8Array(offset);
  bytes.set(header);
  let o = 64;
  for (const s of segs) {
    bytes.set(s, o);
    o += s.length;
  }
  const im = { rows: 2, columns: 2, samplesPerPixel: 3, photometric: 'RGB', bitsAllocated: 8, bitsStored: 8, pixelRepresentation: 0, planarConfiguration: 1 };
  // Segment 3: literal [1, 2], then 0xFF = replicate the next byte twice: [1, 2, 9, 9].
  assert.deepEqual([...decodeRle(bytes, im, 'rle')], [10, 7, 1, 20, 7, 2, 30, 7, 9, 40, 7, 9]);
});
