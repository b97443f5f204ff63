import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { JpegSplitter } from '../../src/pipeline/jpeg-splitter.js';

/** A JPEG-shaped picture: SOI, `body` bytes (FF stuffed as FF 00, as in entropy-coded data), EOI. */
function picture(body: number[]): Buffer {
  return Buffer.from([0xff, 0xd8, ...body, 0xff, 0xd9]);
}

describe('JpegSplitter', () => {
  it('splits an MJPEG stream at each end-of-image marker, every picture a key picture', () => {
    const a = picture([1, 2, 0xff, 0x00, 3]);
    const b = picture([4]);
    const out = new JpegSplitter().push(Buffer.concat([a, b]));
    assert.deepEqual(out.map((u) => Buffer.from(u.data)), [a, b]);
    assert.ok(out.every((u) => u.key));
  });

  it('joins a picture split across chunks, even inside its end marker', () => {
    const a = picture([9, 8, 7]);
    const b = picture([6]);
    const stream = Buffer.concat([a, b]);
    const s = new JpegSplitter();
    const cut = a.length - 1; // between FF and D9 of the first picture's end marker
    assert.deepEqual(s.push(stream.subarray(0, cut)), []);
    const out = s.push(stream.subarray(cut));
    assert.deepEqual(out.map((u) => Buffer.from(u.data)), [a, b]);
  });

  it("a picture's bytes stay its own after the splitter reads on", () => {
    const s = new JpegSplitter();
    const chunk = Buffer.concat([picture([1]), picture([2]).subarray(0, 3)]);
    const [first] = s.push(chunk);
    chunk.fill(0);
    s.push(Buffer.concat([picture([3]).subarray(3)]));
    assert.deepEqual(Buffer.from(first!.data), picture([1]));
  });

  it('an unfinished picture at the end of the stream is dropped, not given half', () => {
    const s = new JpegSplitter();
    assert.deepEqual(s.push(picture([5, 5]).subarray(0, 4)), []);
    assert.deepEqual(s.flush(), []);
    // Nothing of it is left to prefix the next stream's picture.
    const next = picture([7]);
    assert.deepEqual(s.push(next).map((u) => Buffer.from(u.data)), [next]);
  });
});
