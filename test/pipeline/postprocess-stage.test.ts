import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { lastValueFrom, of, toArray } from 'rxjs';
import { postprocessStage, workingSize } from '../../src/pipeline/postprocess-stage.js';
import type { Inferred } from '../../src/pipeline/stage-types.js';
import { postprocess } from '../../src/segmenter/postprocess.js';
import { fakeFrame } from '../helpers/pipeline.js';

/** A 56x56 probability map with a disc of radius r at (cx, cy), values p inside. */
function disc(cx: number, cy: number, r: number, p = 0.9): { width: number; height: number; data: Float32Array } {
  const data = new Float32Array(56 * 56);
  for (let y = 0; y < 56; y++) for (let x = 0; x < 56; x++) data[y * 56 + x] = Math.hypot(x - cx, y - cy) <= r ? p : 0.05;
  return { width: 56, height: 56, data };
}

function inferred(index: number, prob: ReturnType<typeof disc>, w = 1120, h = 560): Inferred {
  const frame = { ...fakeFrame('s', index), sourceWidth: w, sourceHeight: h };
  return { frame, probability: prob, batchSize: 1, formedTs: frame.captureTs, inferenceMs: 1, inferredTs: frame.captureTs };
}

describe('postprocessStage', () => {
  it('reports contours and area in source pixels when working at a reduced size', async () => {
    const [r] = await lastValueFrom(of(inferred(0, disc(28, 28, 10))).pipe(postprocessStage({ maxWorkingSize: 280 }), toArray()));
    const outer = r!.contours.filter((c) => !c.hole);
    assert.equal(outer.length, 1);
    const xs = outer[0]!.points.map((p) => p[0]);
    const ys = outer[0]!.points.map((p) => p[1]);
    // Disc of radius 10 around map pixel (28, 28): centre (28.5 * 20 - 0.5, 28.5 * 10 - 0.5) in source
    // pixels, half-widths 200 (x, 1120 wide) and 100 (y, 560 high), within a map pixel.
    const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
    assert.ok(Math.abs((x0 + x1) / 2 - 569.5) < 6 && Math.abs((x1 - x0) / 2 - 200) < 20, `x ${x0}..${x1}`);
    assert.ok(Math.abs((y0 + y1) / 2 - 284.5) < 6 && Math.abs((y1 - y0) / 2 - 100) < 10, `y ${y0}..${y1}`);
    const ellipse = Math.PI * 200 * 100;
    assert.ok(Math.abs(r!.area - ellipse) / ellipse < 0.05, `area ${r!.area} vs ${ellipse}`);
    assert.ok(r!.timings.postprocess >= 0);
  });

  it('EMA smoothing damps a one-frame jump of the outline', async () => {
    const items = [inferred(0, disc(28, 28, 10)), inferred(1, disc(28, 28, 10)), inferred(2, disc(28, 28, 20))];
    const plain = await lastValueFrom(of(...items).pipe(postprocessStage({ maxWorkingSize: 280 }), toArray()));
    const smooth = await lastValueFrom(of(...items).pipe(postprocessStage({ maxWorkingSize: 280, smoothing: 'ema', emaAlpha: 0.3 }), toArray()));
    assert.ok(smooth[2]!.area < plain[2]!.area * 0.8, `smoothed ${smooth[2]!.area} vs ${plain[2]!.area}`);
    assert.equal(smooth[0]!.area, plain[0]!.area);
  });

  it('checks its options at construction', () => {
    assert.throws(() => postprocessStage({ smoothing: 'median' as 'ema' }), /smoothing must be none or ema/);
    assert.throws(() => postprocessStage({ emaAlpha: 0 }), /emaAlpha must be in \(0, 1\]/);
    assert.throws(() => postprocessStage({ maxWorkingSize: -1 }), /maxWorkingSize must be an integer >= 0/);
    assert.deepEqual(workingSize(1280, 720, 640), { width: 640, height: 360 });
    assert.deepEqual(workingSize(320, 240, 640), { width: 320, height: 240 });
  });
});
