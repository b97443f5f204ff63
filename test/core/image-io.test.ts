import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PNG } from 'pngjs';
import { decodeImage, encodeJpegRgb, encodePngGrey, encodePngRgb, readImage } from '../../src/core/image-io.js';
import { isSgusError } from '../../src/errors.js';

const rgb = { width: 3, height: 2, data: Uint8Array.from([255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30, 40, 50, 60, 70, 80, 90]) };

test('an RGB PNG decodes to the same pixels it was encoded from', () => {
  const back = decodeImage(encodePngRgb(rgb));
  assert.deepEqual(back, rgb);
});

test('a grey PNG decodes to RGB with the grey value in every channel, 0/1 values kept', () => {
  const back = decodeImage(encodePngGrey({ width: 2, height: 1, data: Uint8Array.from([0, 1]) }));
  assert.deepEqual(Array.from(back.data), [0, 0, 0, 1, 1, 1]);
});

test('an RGBA PNG drops alpha', () => {
  const png = new PNG({ width: 1, height: 1 });
  png.data = Buffer.from([9, 8, 7, 0]);
  assert.deepEqual(Array.from(decodeImage(PNG.sync.write(png)).data), [9, 8, 7]);
});

test('a JPEG decodes close to the encoded pixels', () => {
  const flat = { width: 16, height: 16, data: new Uint8Array(16 * 16 * 3).fill(128) };
  const back = decodeImage(encodeJpegRgb(flat, 95));
  assert.ok(back.data.every((v) => Math.abs(v - 128) <= 2));
});

test('the format is sniffed from the bytes, not the extension', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sgus-io-'));
  const f = path.join(dir, 'really-a-png.jpg');
  await writeFile(f, encodePngRgb(rgb));
  assert.deepEqual(await readImage(f), rgb);
});

test('bad files get one-line, non-fatal errors naming the file', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sgus-io-'));
  const cases: Array<[string, Uint8Array | undefined, RegExp]> = [
    ['missing.png', undefined, /missing\.png: cannot read: no such file/],
    ['empty.png', new Uint8Array(0), /empty\.png: empty file/],
    ['random.png', Uint8Array.from({ length: 500 }, (_, i) => (i * 37) % 256), /random\.png: not a PNG or JPEG/],
    ['truncated.png', encodePngRgb({ width: 64, height: 64, data: new Uint8Array(64 * 64 * 3).fill(7) }).subarray(0, 60), /truncated\.png: corrupt PNG/],
  ];
  for (const [name, bytes, re] of cases) {
    const f = path.join(dir, name);
    if (bytes !== undefined) await writeFile(f, bytes);
    await assert.rejects(readImage(f), (err: unknown) => {
      assert.ok(isSgusError(err), `${name}: not an SgusError`);
      assert.equal(err.fatal, false);
      assert.match(err.message, re);
      assert.ok(!err.message.includes('\n'));
      return true;
    });
  }
});

test('a 1x1 image decodes', () => {
  assert.deepEqual(decodeImage(encodePngRgb({ width: 1, height: 1, data: Uint8Array.from([1, 2, 3]) })).data, Uint8Array.from([1, 2, 3]));
});
