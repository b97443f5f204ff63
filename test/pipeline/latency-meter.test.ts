import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FpsMeter } from '../../src/pipeline/fps-meter.js';
import { LatencyMeter } from '../../src/pipeline/latency-meter.js';

describe('LatencyMeter', () => {
  it('gives percentiles within 2 % of the exact ones, with exact max and mean', () => {
    const m = new LatencyMeter();
    for (let i = 1; i <= 1000; i++) m.record(i);
    const s = m.summary();
    assert.equal(s.count, 1000);
    assert.equal(s.max, 1000);
    assert.equal(s.mean, 500.5);
    assert.ok(Math.abs(s.p50 - 500) / 500 < 0.025, `p50 ${s.p50}`);
    assert.ok(Math.abs(s.p95 - 950) / 950 < 0.025, `p95 ${s.p95}`);
    assert.ok(Math.abs(s.p99 - 990) / 990 < 0.025, `p99 ${s.p99}`);
  });

  it('keeps memory bounded: a million samples change no structure size', () => {
    const m = new LatencyMeter({ recent: 16 });
    for (let i = 0; i < 1_000_000; i++) m.record(i % 100);
    assert.equal(m.count, 1_000_000);
    assert.ok(m.recent(0.5) >= 0);
  });

  it('publishes slow samples as events', () => {
    const m = new LatencyMeter({ slowMs: 50 });
    const slow: number[] = [];
    m.on('slow', (ms) => slow.push(ms));
    m.record(10);
    m.record(80);
    assert.deepEqual(slow, [80]);
  });
});

describe('FpsMeter', () => {
  it('measures the rate over its window and publishes it on tick', () => {
    let now = 0;
    const f = new FpsMeter({ windowS: 2, now: () => now });
    for (let i = 0; i < 100; i++) {
      now += 40;
      f.add();
    }
    const rates: number[] = [];
    f.on('rate', (fps) => rates.push(fps));
    f.tick();
    assert.ok(Math.abs(rates[0]! - 25) <= 1.5, `fps ${rates[0]}`);
    assert.equal(f.total, 100);
  });
});
