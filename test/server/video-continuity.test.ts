import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Frame } from '../../src/pipeline/frame.js';
import { MAX_HELD_PICTURES, VideoContinuity } from '../../src/server/video-continuity.js';

const nal = (type: number, fill = 0x11): number[] => [0, 0, 0, 1, type, fill, fill];
const SPS = nal(0x67, 0x22);
const PPS = nal(0x68, 0x33);
const IDR = nal(0x65);
const P = nal(0x41);

function frame(index: number): Frame {
  return {
    streamId: 's', index, pts: index / 25, captureTs: 0, sourceWidth: 8, sourceHeight: 8,
    pixels: { width: 1, height: 1, data: new Uint8Array(3) },
    view: { codec: 'h264', key: false, data: Buffer.from(P), width: 8, height: 8 },
  };
}

describe('VideoContinuity', () => {
  it('admits pictures in order without a gap, and marks a delta picture after a missing one broken', () => {
    const c = new VideoContinuity();
    assert.deepEqual([0, 1, 2].map((i) => c.admit(i, i === 0, new Uint8Array(i === 0 ? IDR : P))).map((a) => !a.late && a.broken), [false, false, false]);
    const after = c.admit(4, false, new Uint8Array(P));
    assert.equal(after.late, false);
    assert.equal(!after.late && after.broken, true);
    assert.equal(c.gaps, 1);
    // A key frame after a gap starts a new run: decoders need nothing before it.
    const key = c.admit(7, true, new Uint8Array(IDR));
    assert.equal(!key.late && key.broken, false);
    assert.equal(c.gaps, 1);
    assert.equal(c.lastIndex, 7);
  });

  it('refuses a late picture and counts it as a gap without moving on', () => {
    const c = new VideoContinuity();
    c.admit(0, true, new Uint8Array(IDR));
    c.admit(1, false, new Uint8Array(P));
    assert.deepEqual(c.admit(1, false, new Uint8Array(P)), { late: true });
    assert.deepEqual(c.admit(0, true, new Uint8Array(IDR)), { late: true });
    assert.equal(c.gaps, 2);
    assert.equal(c.lastIndex, 1);
  });

  it('hands held pictures back in index order, only those before the given frame', () => {
    const c = new VideoContinuity();
    c.admit(0, true, new Uint8Array(IDR));
    for (const i of [3, 1, 2, 6]) c.hold(frame(i));
    assert.deepEqual(c.takeHeld(4).map((f) => f.index), [1, 2, 3]);
    assert.equal(c.held, 1);
    assert.deepEqual(c.takeHeld(4), []);
    c.clear();
    assert.equal(c.held, 0);
  });

  it('counts a picture held too late as a gap, and forgets the oldest beyond its limit', () => {
    const c = new VideoContinuity();
    c.admit(5, true, new Uint8Array(IDR));
    c.hold(frame(5));
    assert.equal(c.held, 0);
    assert.equal(c.gaps, 1);
    for (let i = 6; i < 6 + MAX_HELD_PICTURES + 3; i++) c.hold(frame(i));
    assert.equal(c.held, MAX_HELD_PICTURES);
    assert.equal(c.takeHeld(Infinity)[0]!.index, 9, 'the three oldest were forgotten');
  });

  it('puts the parameter sets before a key frame without them, also after the stream restarts', () => {
    const first = new VideoContinuity();
    first.admit(0, true, new Uint8Array([...SPS, ...PPS, ...IDR]));
    const restarted = new VideoContinuity(first.parameterSets);
    const a = restarted.admit(0, true, new Uint8Array(IDR));
    assert.ok(!a.late);
    assert.deepEqual([...a.video], [...SPS, ...PPS, ...IDR]);
    const delta = restarted.admit(1, false, new Uint8Array(P));
    assert.ok(!delta.late);
    assert.deepEqual([...delta.video], P, 'delta pictures go as they are');
  });
});
