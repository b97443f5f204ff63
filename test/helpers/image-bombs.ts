/** Image bombs: small files whose headers declare huge images (the pixel limit must refuse them unread). */
import assert from 'node:assert/strict';
import { deflateSync } from 'node:zlib';
import { encodeJpegRgb } from '../../src/core/image-io.js';

/** CRC-32 of PNG chunks (ISO 3309), bit by bit: the test needs a handful of bytes. */
function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

/** A small, valid-looking RGB PNG that declares width x height: its IDAT holds the first rows, all zero. */
export function pngBomb(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const rows = deflateSync(Buffer.alloc((1 + width * 3) * 64));
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', rows), chunk('IEND', new Uint8Array(0))]);
}

/** A real JPEG whose SOF0 is patched to declare width x height. */
export function jpegBomb(width: number, height: number): Buffer {
  const j = Buffer.from(encodeJpegRgb({ width: 8, height: 8, data: new Uint8Array(8 * 8 * 3).fill(90) }));
  const sof = j.indexOf(Buffer.from([0xff, 0xc0]));
  assert.ok(sof > 0, 'the encoder writes a baseline SOF0');
  j.writeUInt16BE(height, sof + 5);
  j.writeUInt16BE(width, sof + 7);
  return j;
}
