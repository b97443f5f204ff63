import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AdaptiveRate } from '../../src/server/adaptive-rate.js';

/** Offers pictures at `offerFps` for `seconds` from `t0` ms; the pictures admitted. */
function run(rate: AdaptiveRate, t0: number, seconds: number, queued: () => number, offerFps = 25, bytes = 10_000): number {
  let sent = 0;
  for (let t = t0; t < t0 + seconds * 1000; t += 1000 / offerFps) if (rate.admit(t, queued(), bytes)) sent++;
  return sent;
}

describe('AdaptiveRate', () => {
  it('sends at most its highest rate while the socket drains', () => {
    const rate = new AdaptiveRate({ maxFps: 10 });
    const sent = run(rate, 0, 4, () => 0);
    assert.ok(sent >= 38 && sent <= 41, `${sent} pictures in 4 s`);
    assert.equal(rate.fps, 10);
  });

  it('lowers the rate while the socket backs up, never below 2 a second, and climbs back once it drains', () => {
    const rate = new AdaptiveRate({ maxFps: 10 });
    run(rate, 0, 1, () => 0);
    const backedUp = run(rate, 1000, 4, () => 100_000);
    assert.equal(rate.fps, 2);
    assert.ok(backedUp >= 8 && backedUp <= 20, `${backedUp} pictures in 4 s backed up`);
    const floor = run(rate, 5000, 2, () => 100_000);
    assert.ok(floor >= 4 && floor <= 5, `${floor} pictures in 2 s at the floor`);
    run(rate, 7000, 5, () => 0);
    assert.equal(rate.fps, 10);
  });

  it('refuses a rate of 0', () => {
    assert.throws(() => new AdaptiveRate({ maxFps: 0 }), /maxFps/);
  });
});
