import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PNG } from 'pngjs';
import { decodeImage, encodeJpegRgb, encodePngGrey, encodePngRgb, readImage } from '../../src/core/image-io.js';
import { isSgusError } from '../../src/errors.js';
import { jpegBomb, pngBomb } from '../helpers/image-bombs.js';

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

test('a PNG declaring 28000x28000 pixels is refused from its header, quickly and without a big allocation', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sgus-io-'));
  const f = path.join(dir, 'bomb.png');
  const bytes = pngBomb(28000, 28000);
  assert.ok(bytes.length < 1_000_000, `the bomb is small (${bytes.length} bytes)`);
  await writeFile(f, bytes);
  const before = process.memoryUsage().arrayBuffers;
  const t0 = performance.now();
  await assert.rejects(readImage(f), (err: unknown) => {
    assert.ok(isSgusError(err) && err.fatal === false);
    assert.equal(err.message, `${f}: image of 28000x28000 pixels (784 megapixels) is over the 100-megapixel limit; not decoded`);
    return true;
  });
  assert.ok(performance.now() - t0 < 1000, `refused in ${(performance.now() - t0).toFixed(0)} ms`);
  assert.ok(process.memoryUsage().arrayBuffers - before < 64 * 1024 * 1024, 'no pixel buffer was allocated');
});

test('a JPEG whose SOF declares 60000x60000 pixels is refused from its header with its size', () => {
  const t0 = performance.now();
  assert.throws(() => decodeImage(jpegBomb(60000, 60000), 'bomb.jpg'), /^SgusError: bomb\.jpg: image of 60000x60000 pixels \(3600 megapixels\) is over the 100-megapixel limit; not decoded$/);
  assert.ok(performance.now() - t0 < 1000);
});

test('the pixel limit can be lowered per call, and images within it still decode', () => {
  assert.throws(() => decodeImage(pngBomb(2000, 1000), 'wide.png', { maxPixels: 1_000_000 }), /wide\.png: image of 2000x1000 pixels \(2 megapixels\) is over the 1-megapixel limit/);
  assert.throws(() => decodeImage(jpegBomb(2000, 1000), 'wide.jpg', { maxPixels: 1_000_000 }), /wide\.jpg: image of 2000x1000 pixels/);
  assert.equal(decodeImage(encodePngRgb(rgb), 'small.png', { maxPixels: 6 }).width, 3);
});

test('a truncated PNG or JPEG is reported in words, not in the decoder\'s', () => {
  const png = encodePngRgb({ width: 64, height: 64, data: new Uint8Array(64 * 64 * 3).fill(7) });
  const jpg = encodeJpegRgb({ width: 64, height: 64, data: new Uint8Array(64 * 64 * 3).fill(7) });
  for (const [name, bytes] of [['cut.png', png.subarray(0, png.length - 20)], ['cut.jpg', jpg.subarray(0, jpg.length - 50)]] as const) {
    assert.throws(() => decodeImage(bytes, name), (err: unknown) => {
      assert.ok(isSgusError(err));
      assert.match(err.message, new RegExp(`^${name.replace('.', '\\.')}: corrupt (PNG|JPEG): the file ends before its image data \\(truncated\\?\\)$`));
      assert.doesNotMatch(err.message, /read requests|waitng|marker was not found/);
      return true;
    });
  }
});
