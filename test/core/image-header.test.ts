import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readImageHeader } from '../../src/core/image-header.js';
import { encodeJpegRgb, encodePngGrey, encodePngRgb } from '../../src/core/image-io.js';

test('reads width and height from a PNG IHDR and a JPEG SOF without decoding', () => {
  assert.deepEqual(readImageHeader(encodePngRgb({ width: 7, height: 5, data: new Uint8Array(7 * 5 * 3) })), { format: 'png', width: 7, height: 5 });
  assert.deepEqual(readImageHeader(encodePngGrey({ width: 3, height: 9, data: new Uint8Array(27) })), { format: 'png', width: 3, height: 9 });
  assert.deepEqual(readImageHeader(encodeJpegRgb({ width: 33, height: 17, data: new Uint8Array(33 * 17 * 3) })), { format: 'jpeg', width: 33, height: 17 });
});

test('skips JPEG fill bytes and segments before the frame header', () => {
  const j = Buffer.from(encodeJpegRgb({ width: 12, height: 4, data: new Uint8Array(12 * 4 * 3) }));
  const comment = Buffer.from([0xff, 0xfe, 0x00, 0x07, 0x68, 0x69, 0x21, 0x21, 0x21, 0xff, 0xff]);
  const withComment = Buffer.concat([j.subarray(0, 2), comment, j.subarray(2)]);
  assert.deepEqual(readImageHeader(withComment), { format: 'jpeg', width: 12, height: 4 });
});

test('gives no size for a header that is cut short or not an image', () => {
  const png = encodePngRgb({ width: 7, height: 5, data: new Uint8Array(7 * 5 * 3) });
  assert.equal(readImageHeader(png.subarray(0, 20)), undefined);
  const jpg = encodeJpegRgb({ width: 8, height: 8, data: new Uint8Array(8 * 8 * 3) });
  assert.equal(readImageHeader(jpg.subarray(0, 12)), undefined);
  assert.equal(readImageHeader(Buffer.from('GIF89a........')), undefined);
});
