import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FrameJoiner } from '../../src/pipeline/ffmpeg-frame-joiner.js';
import type { JoinResult } from '../../src/pipeline/ffmpeg-frame-joiner.js';
import type { ViewPayload } from '../../src/pipeline/frame.js';

const px = (k: number): Buffer => Buffer.from([k]);
const view = (k: number): ViewPayload => ({ codec: 'h264', key: k === 0, data: Buffer.from([k]), width: 0, height: 0 });

/** Every picture `next` gives now, as [seq, pixel byte, view byte, full byte, ptsTime]. */
function drain(j: FrameJoiner, final = false): (JoinResult | undefined)[] {
  const out: (JoinResult | undefined)[] = [];
  for (let r = j.next(final); r !== undefined; r = j.next(final)) out.push(r);
  return out;
}
function pictures(results: (JoinResult | undefined)[]): [number, number, number | undefined, number | undefined, number | undefined][] {
  return results.map((r) => {
    assert.ok(r !== undefined && r.kind === 'picture', `not a picture: ${JSON.stringify(r)}`);
    const p = r.picture;
    return [p.seq, p.pixels[0]!, p.view?.data[0], p.full?.[0], p.ptsTime];
  });
}

describe('FrameJoiner', () => {
  it("joins the k-th part of every pipe and the k-th timestamp into picture k, whatever order they came in", () => {
    const j = new FrameJoiner({ withView: true, withFull: true });
    j.addModel(px(10), 1000);
    j.addModel(px(11), 1040);
    j.addPts(0, 0.0);
    // Picture 0 waits for its view and full-size parts.
    assert.equal(j.next(), undefined);
    j.addView(view(0));
    assert.equal(j.next(), undefined);
    j.addFull(px(20));
    j.addFull(px(21));
    j.addView(view(1));
    j.addPts(1, 0.04);
    assert.deepEqual(pictures(drain(j)), [[0, 10, 0, 20, 0], [1, 11, 1, 21, 0.04]]);
    assert.equal(j.waiting, 0);
  });

  it('without view or full-size output a picture waits only for its timestamp, and not for long', () => {
    const j = new FrameJoiner();
    j.addModel(px(1), 0);
    j.addModel(px(2), 40);
    assert.deepEqual(drain(j), []);
    // A third picture: the lost line is not waited for (the source estimates the pts).
    j.addModel(px(3), 80);
    assert.deepEqual(pictures([j.next()]), [[0, 1, undefined, undefined, undefined]]);
  });

  it('a timestamp of a picture already gone is skipped, not given to the next', () => {
    const j = new FrameJoiner();
    j.addModel(px(1), 0);
    j.addModel(px(2), 40);
    j.addModel(px(3), 80);
    j.addPts(2, 0.08);
    assert.deepEqual(pictures(drain(j)).map((p) => p[4]), [undefined, undefined, 0.08]);
    j.addPts(2, 0.5); // a stale line for picture 2
    j.addModel(px(4), 120);
    j.addPts(3, 0.12);
    assert.deepEqual(pictures(drain(j)).map((p) => [p[0], p[4]]), [[3, 0.12]]);
  });

  it('replay waits long for a lagging view part; live at most a few pictures', () => {
    for (const [mode, limit] of [['replay', 64], ['live', 8]] as const) {
      const j = new FrameJoiner({ mode, withView: true });
      for (let k = 0; k < limit; k++) {
        j.addModel(px(k), k);
        j.addPts(k, k / 25);
      }
      assert.equal(j.next(), undefined, `${mode}: ${limit} pictures wait`);
      j.addModel(px(limit), limit);
      const r = j.next();
      assert.ok(r?.kind === 'picture' && r.picture.view === undefined, `${mode}: one more goes without its view`);
    }
  });

  it('once the view pipe ended, pictures stop waiting for view parts', () => {
    const j = new FrameJoiner({ withView: true });
    j.addModel(px(1), 0);
    j.addPts(0, 0);
    assert.equal(j.next(), undefined);
    j.viewEnded();
    assert.deepEqual(pictures([j.next()]), [[0, 1, undefined, undefined, 0]]);
  });

  it('at the end of a run what is there goes; a picture without its full-size part is reported, its view part used up', () => {
    const j = new FrameJoiner({ withView: true, withFull: true });
    j.addModel(px(1), 0);
    j.addModel(px(2), 40);
    j.addView(view(0));
    j.addView(view(1));
    j.addFull(px(30));
    assert.equal(j.next(), undefined);
    const out = drain(j, true);
    assert.equal(out.length, 2);
    assert.deepEqual(pictures([out[0]]), [[0, 1, 0, 30, undefined]]);
    assert.deepEqual(out[1], { kind: 'no-full', seq: 1 });
    assert.equal(j.waiting, 0);
  });

  it('trim drops the oldest unmatched parts beyond the bounds and says how many', () => {
    const j = new FrameJoiner({ withFull: true });
    for (let k = 0; k < 130; k++) j.addModel(px(k % 256), k);
    for (let k = 0; k < 129; k++) j.addFull(px(k % 256));
    assert.equal(j.trim(), 2 + 1);
    assert.equal(j.waiting, 128);
    assert.equal(j.trim(), 0);
    // The oldest went: the first left is picture 2.
    j.addPts(2, 0.08);
    const r = j.next();
    assert.ok(r?.kind === 'picture' && r.picture.seq === 2);
  });
});
