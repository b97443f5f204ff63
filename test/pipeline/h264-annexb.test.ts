import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AnnexBSplitter, codecStringFromSps } from '../../src/pipeline/h264-annexb.js';

const AUD = [0, 0, 0, 1, 0x09, 0xf0];
const SPS = [0, 0, 0, 1, 0x67, 0x42, 0xc0, 0x1f, 0xaa];
const PPS = [0, 0, 0, 1, 0x68, 0xce];
const IDR = [0, 0, 1, 0x65, 1, 2, 3, 4];
const P = [0, 0, 1, 0x41, 5, 6, 7];

describe('AnnexBSplitter', () => {
  it('splits at access unit delimiters, whatever the chunking, and flags IDR units with their codec string', () => {
    const stream = Buffer.from([...AUD, ...SPS, ...PPS, ...IDR, ...AUD, ...P, ...AUD, ...P]);
    for (const chunk of [1, 3, 7, 1000]) {
      const s = new AnnexBSplitter();
      const units = [];
      for (let i = 0; i < stream.length; i += chunk) units.push(...s.push(stream.subarray(i, i + chunk)));
      units.push(...s.flush());
      assert.equal(units.length, 3, `chunk ${chunk}`);
      assert.deepEqual(units.map((u) => u.key), [true, false, false]);
      assert.equal(units[0]!.codecString, 'avc1.42c01f');
      assert.equal(Buffer.concat(units.map((u) => u.data)).equals(stream), true);
    }
  });

  it('makes the WebCodecs codec string from profile, constraints and level', () => {
    assert.equal(codecStringFromSps(Buffer.from([0x67, 0x64, 0x00, 0x28])), 'avc1.640028');
  });
});
