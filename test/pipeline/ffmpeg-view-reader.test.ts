import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ViewPictureReader } from '../../src/pipeline/ffmpeg-view-reader.js';

// Annex B NAL units: an access unit delimiter (FFmpeg puts one before every picture), an SPS
// (Constrained Baseline, level 3.1), an IDR slice and a non-IDR slice.
const AUD = [0, 0, 0, 1, 0x09, 0xf0];
const SPS = [0, 0, 0, 1, 0x67, 0x42, 0xc0, 0x1f, 0xda, 0x01];
const IDR = [0, 0, 1, 0x65, 0x88, 0x84, 0x21];
const P = [0, 0, 1, 0x41, 0x9a, 0x02];

describe('ViewPictureReader', () => {
  it('cuts H.264 at each delimiter: a key picture with its codec string, then the last one at the end of the pipe', () => {
    const key = Buffer.from([...AUD, ...SPS, ...IDR]);
    const next = Buffer.from([...AUD, ...P]);
    const r = new ViewPictureReader('h264');
    const first = r.push(Buffer.concat([key, next]), { width: 640, height: 480 });
    assert.equal(first.length, 1);
    assert.deepEqual(Buffer.from(first[0]!.data), key);
    assert.equal(first[0]!.key, true);
    assert.equal(first[0]!.codec, 'h264');
    assert.match(first[0]!.codecString ?? '', /^avc1\.42c01f$/i);
    assert.deepEqual([first[0]!.width, first[0]!.height], [640, 480]);
    const last = r.flush({ width: 640, height: 480 });
    assert.equal(last.length, 1);
    assert.deepEqual(Buffer.from(last[0]!.data), next);
    assert.equal(last[0]!.key, false);
    assert.equal(last[0]!.codecString, undefined);
  });

  it('gives Buffers (the shared splitter hands out plain byte arrays)', () => {
    const r = new ViewPictureReader('h264');
    const [u] = r.push(Buffer.from([...AUD, ...IDR, ...AUD, ...P]), undefined);
    assert.ok(Buffer.isBuffer(u!.data));
  });

  it('every MJPEG picture is a key picture; the size is 0 until the source knows it', () => {
    const jpeg = Buffer.from([0xff, 0xd8, 1, 2, 3, 0xff, 0xd9]);
    const r = new ViewPictureReader('jpeg');
    const [a] = r.push(jpeg, undefined);
    assert.deepEqual({ codec: a!.codec, key: a!.key, width: a!.width, height: a!.height }, { codec: 'jpeg', key: true, width: 0, height: 0 });
    assert.equal(a!.codecString, undefined);
    const [b] = r.push(jpeg, { width: 320, height: 240 });
    assert.deepEqual([b!.width, b!.height], [320, 240]);
  });
});
