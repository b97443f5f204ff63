import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RawPictureReader } from '../../src/pipeline/ffmpeg-frame-reader.js';
import { isSgusError } from '../../src/errors.js';

/** Bytes 0, 1, 2, … (mod 256) from `start`, so a picture's content tells where it was cut. */
function bytes(start: number, n: number): Buffer {
  return Buffer.from(Array.from({ length: n }, (_, i) => (start + i) % 256));
}

describe('RawPictureReader', () => {
  it('cuts chunks that do not follow picture bounds into whole pictures, in order', () => {
    let clock = 100;
    const r = new RawPictureReader({ pictureBytes: 4, now: () => clock++ });
    const stream = bytes(0, 14);
    // 3 bytes, then 6 (ends picture 0, holds picture 1 whole, begins picture 2), then 5.
    assert.deepEqual(r.push(stream.subarray(0, 3)), []);
    assert.equal(r.partialBytes, 3);
    const a = r.push(stream.subarray(3, 9));
    assert.deepEqual(a.map((p) => [...p.bytes]), [[0, 1, 2, 3], [4, 5, 6, 7]]);
    const b = r.push(stream.subarray(9));
    assert.deepEqual(b.map((p) => [...p.bytes]), [[8, 9, 10, 11]]);
    // Two bytes of a fourth picture: a short read if the stream ends now.
    assert.equal(r.partialBytes, 2);
    // A picture's time is when its first byte came, not when it completed.
    assert.deepEqual([...a, ...b].map((p) => p.firstByteTs), [100, 101, 102]);
  });

  it('one chunk holding many small pictures gives them all', () => {
    const r = new RawPictureReader({ pictureBytes: 3 });
    const out = r.push(bytes(0, 30));
    assert.equal(out.length, 10);
    assert.deepEqual([...out[9]!.bytes], [27, 28, 29]);
    assert.equal(r.partialBytes, 0);
  });

  it('takes every picture buffer from the given allocator (the source pool), each once', () => {
    const given: Buffer[] = [];
    const r = new RawPictureReader({ pictureBytes: 5, alloc: (n) => { const b = Buffer.alloc(n); given.push(b); return b; } });
    const out = [...r.push(bytes(0, 7)), ...r.push(bytes(7, 8))];
    assert.equal(out.length, 3);
    assert.equal(given.length, 3);
    for (let k = 0; k < 3; k++) assert.equal(out[k]!.bytes, given[k]);
  });

  it('holds bytes until the picture size is known, then gives the pictures they hold', () => {
    const r = new RawPictureReader();
    assert.equal(r.pictureBytes, undefined);
    assert.deepEqual(r.push(bytes(0, 5)), []);
    assert.deepEqual(r.push(bytes(5, 4)), []);
    const held = r.setPictureBytes(4);
    assert.deepEqual(held.map((p) => [...p.bytes]), [[0, 1, 2, 3], [4, 5, 6, 7]]);
    assert.equal(r.partialBytes, 1);
    assert.deepEqual(r.push(bytes(9, 3)).map((p) => [...p.bytes]), [[8, 9, 10, 11]]);
    // The size is set once: a second size (a later log line) changes nothing.
    assert.deepEqual(r.setPictureBytes(2), []);
    assert.equal(r.pictureBytes, 4);
  });

  it('refuses a picture size that is not a positive integer', () => {
    assert.throws(() => new RawPictureReader({ pictureBytes: 0 }), (e: unknown) => isSgusError(e) && /pictureBytes/.test(e.message));
    assert.throws(() => new RawPictureReader().setPictureBytes(2.5), (e: unknown) => isSgusError(e));
  });
});
