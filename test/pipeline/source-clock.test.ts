import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SourceClock } from '../../src/pipeline/source-clock.js';

describe('SourceClock', () => {
  it('reports a gap in the timestamps as missing frames, once, and keeps the pts', () => {
    const c = new SourceClock({ fps: 25 });
    const pts = [0, 0.04, 0.08, 0.12, 0.16, 0.28, 0.32];
    const out = pts.map((p, i) => c.frame(p, 1000 + i));
    assert.deepEqual(out.map((f) => f.pts), pts);
    assert.deepEqual(out.filter((f) => f.gap !== undefined).map((f) => f.gap), [{ missing: 2, fromPts: 0.16, toPts: 0.28, discontinuity: false }]);
    assert.equal(c.missing, 2);
  });

  it('learns the frame interval from the timestamps, so a field rate reported as fps is no gap', () => {
    const c = new SourceClock({ fps: 50 });
    for (let i = 0; i < 20; i++) c.frame(i * 0.04, i);
    assert.equal(c.missing, 0);
    c.frame(20 * 0.04 + 0.04, 21);
    assert.equal(c.missing, 1, 'a 40 ms hole in 40 ms steps is one frame');
  });

  it('in replay, a frame is captured when it arrives', () => {
    const c = new SourceClock({ mode: 'replay' });
    assert.equal(c.frame(0, 5000).captureTs, 5000);
    assert.equal(c.frame(0.04, 5001).captureTs, 5001);
  });

  it('live: a frame read late shows its lag (pts against the wall clock at stream start)', () => {
    const c = new SourceClock({ mode: 'live', fps: 25 });
    const near = (a: number, b: number): void => assert.ok(Math.abs(a - b) < 1e-6, `${a} vs ${b}`);
    near(c.frame(10, 1000).lagMs, 0);
    near(c.frame(10.04, 1040).lagMs, 0);
    // Read 2 s late: captured at stream start + pts.
    const late = c.frame(10.08, 3080);
    near(late.captureTs, 1080);
    near(late.lagMs, 2000);
  });

  it('live: a new run continues the stream pts at the wall clock and counts the frames between runs as missing', () => {
    const c = new SourceClock({ mode: 'live', fps: 25 });
    for (let i = 0; i < 10; i++) c.frame(i * 0.04, 1000 + i * 40);
    c.startRun();
    // Reopened 1 s after the last frame; the new run's timestamps start at 0 again.
    const f = c.frame(0, 1000 + 9 * 40 + 1000);
    assert.ok(Math.abs(f.pts - 1.36) < 1e-9, String(f.pts));
    assert.equal(f.lagMs, 0);
    assert.equal(c.missing, 24);
  });
  it('a run started at a seek point counts the stream pts from there, whatever FFmpeg counts from', () => {
    const c = new SourceClock({ fps: 25 });
    for (let i = 0; i < 5; i++) c.frame(i * 0.04, 1000 + i);
    c.startRun(25, 2);
    assert.equal(c.frame(0.01, 2000).pts, 2);
    assert.ok(Math.abs(c.frame(0.05, 2001).pts - 2.04) < 1e-9);
    // A later run without a seek point goes on after the last frame.
    c.startRun(25);
    assert.ok(Math.abs(c.frame(7, 2002).pts - 2.08) < 1e-9);
  });
});
