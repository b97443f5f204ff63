import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AnnexBSplitter, ParameterSetCache, codecStringFromSps, describeUnit, nalUnits } from '../../src/shared/h264-annexb.js';

const AUD = [0, 0, 0, 1, 0x09, 0xf0];
const SPS = [0, 0, 0, 1, 0x67, 0x42, 0xc0, 0x1f, 0xaa];
const PPS = [0, 0, 0, 1, 0x68, 0xce, 0x3c, 0x80];
const IDR = [0, 0, 1, 0x65, 0x88, 0x84, 1, 2];
const P = [0, 0, 1, 0x41, 0x9a, 0x02, 7];

const concat = (parts: Uint8Array[]): number[] => parts.flatMap((p) => [...p]);

describe('nalUnits', () => {
  it('finds every NAL unit with 3- and 4-byte start codes, each ending where the next start code begins', () => {
    const au = new Uint8Array([...AUD, ...SPS, ...PPS, ...IDR]);
    const units = nalUnits(au);
    assert.deepEqual(units.map((u) => u.type), [9, 7, 8, 5]);
    assert.deepEqual(units.map((u) => [u.start, u.payloadStart, u.end]), [[0, 4, 6], [6, 10, 15], [15, 19, 23], [23, 26, au.length]]);
  });

  it('finds none in bytes without a start code', () => {
    assert.deepEqual(nalUnits(new Uint8Array([1, 2, 0, 0, 2, 3])), []);
  });
});

describe('codecStringFromSps', () => {
  it('makes the WebCodecs codec string from the first SPS: profile, constraints and level', () => {
    assert.equal(codecStringFromSps(new Uint8Array([...AUD, ...SPS, ...PPS, ...IDR])), 'avc1.42c01f');
    assert.equal(codecStringFromSps(new Uint8Array([0, 0, 1, 0x67, 0x64, 0x00, 0x28, 0xac])), 'avc1.640028');
  });

  it('is undefined without an SPS or with one cut short', () => {
    assert.equal(codecStringFromSps(new Uint8Array([...AUD, ...P])), undefined);
    assert.equal(codecStringFromSps(new Uint8Array([0, 0, 1, 0x67, 0x64, 0x00])), undefined);
  });
});

describe('describeUnit', () => {
  it('flags a unit with an IDR slice as key, with the codec string of its SPS', () => {
    assert.deepEqual({ ...describeUnit(new Uint8Array([...AUD, ...SPS, ...PPS, ...IDR])), data: undefined }, { data: undefined, key: true, codecString: 'avc1.42c01f' });
    const delta = describeUnit(new Uint8Array([...AUD, ...P]));
    assert.equal(delta.key, false);
    assert.equal('codecString' in delta, false);
  });
});

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
      assert.deepEqual(concat(units.map((u) => u.data)), [...stream]);
    }
  });

  it('drops a unit over its size bound and counts it', () => {
    const s = new AnnexBSplitter(16);
    assert.deepEqual(s.push(new Uint8Array([...AUD, ...IDR, ...IDR, ...IDR])), []);
    assert.equal(s.oversize, 1);
    assert.deepEqual(s.flush(), []);
  });
});

describe('ParameterSetCache', () => {
  it('puts the last SPS/PPS in front of key frames that lack them, and leaves other units as they are', () => {
    const cache = new ParameterSetCache();
    const first = new Uint8Array([...SPS, ...PPS, ...IDR]);
    assert.equal(cache.prepare(first, true), first);
    const fixed = cache.prepare(new Uint8Array([...AUD, ...IDR]), true);
    assert.deepEqual(nalUnits(fixed).map((u) => u.type), [7, 8, 9, 5]);
    assert.deepEqual([...fixed], [...SPS, ...PPS, ...AUD, ...IDR]);
    const delta = new Uint8Array([...AUD, ...P]);
    assert.equal(cache.prepare(delta, false), delta);
  });
});
