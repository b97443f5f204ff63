import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { from, lastValueFrom, toArray } from 'rxjs';
import { rectIou } from '../../src/core/field-of-view.js';
import { resizeRgb } from '../../src/core/resize.js';
import type { Frame } from '../../src/pipeline/frame.js';
import { fovStage, FOV_ANALYSIS_SIZE } from '../../src/pipeline/fov-stage.js';
import { FieldOfViewTracker } from '../../src/pipeline/fov-tracker.js';
import { scannerScreen } from '../../src/synthetic/scanner-screen.js';

const SHALLOW = { x: 40, y: 120, width: 560, height: 200 };
const ZOOMED = { x: 120, y: 60, width: 400, height: 380 };
const screen = (fov: typeof SHALLOW, t: number) => scannerScreen({ width: 640, height: 480, fov, seed: 2, t });
const black = { width: 640, height: 480, data: new Uint8Array(640 * 480 * 3) };

describe('FieldOfViewTracker', () => {
  it('finds the field of view on the first frame and keeps it between checks', () => {
    const tr = new FieldOfViewTracker({ recheckEvery: 10 });
    const first = tr.update(screen(SHALLOW, 0).image, 0, 640, 480);
    assert.ok(rectIou(first.window.fov, SHALLOW) > 0.95);
    assert.equal(first.changed, false);
    // A black frame between checks does not move the crop.
    assert.equal(tr.update(black, 5, 640, 480).window, first.window);
  });

  it('notices a change of layout (zoom, depth) after it is confirmed, not on one odd frame', () => {
    const tr = new FieldOfViewTracker({ recheckEvery: 5, confirmations: 2 });
    tr.update(screen(SHALLOW, 0).image, 0, 640, 480);
    // One odd check (a black frame at a check) is not a new layout.
    assert.equal(tr.update(black, 5, 640, 480).changed, false);
    assert.equal(tr.update(screen(SHALLOW, 0.4).image, 10, 640, 480).changed, false);
    assert.ok(rectIou(tr.window!.fov, SHALLOW) > 0.95);
    // The user zooms: the second check that sees it switches.
    assert.equal(tr.update(screen(ZOOMED, 0.8).image, 15, 640, 480).changed, false);
    const sw = tr.update(screen(ZOOMED, 1.0).image, 20, 640, 480);
    assert.equal(sw.changed, true);
    assert.ok(rectIou(sw.window.fov, ZOOMED) > 0.95, JSON.stringify(sw.window.fov));
  });

  it('gives a window square in source pixels from a stretched, scaled copy', () => {
    const tr = new FieldOfViewTracker();
    const small = resizeRgb(screen(SHALLOW, 0).image, 448, 448);
    const { window } = tr.update(small, 0, 640, 480);
    assert.equal(window.frameWidth, 640);
    assert.ok(Math.abs(window.window.width - window.window.height) < 1e-9);
    assert.ok(rectIou(window.fov, SHALLOW) > 0.93, JSON.stringify(window.fov));
  });

  it('refuses bad options at once', () => {
    assert.throws(() => new FieldOfViewTracker({ recheckEvery: 0 }), /recheckEvery/);
    assert.throws(() => new FieldOfViewTracker({ changeIou: 2 }), /changeIou/);
  });
});

describe('fovStage', () => {
  it('gives each frame the model\'s view of its field of view and the window in source pixels', async () => {
    const frames: Frame[] = [0, 1, 2].map((index) => ({
      streamId: 's', index, pts: index / 25, captureTs: 0, sourceWidth: 640, sourceHeight: 480,
      pixels: resizeRgb(screen(SHALLOW, index / 25).image, FOV_ANALYSIS_SIZE, FOV_ANALYSIS_SIZE),
    }));
    const changes: string[] = [];
    const out = await lastValueFrom(from(frames).pipe(fovStage({ modelWidth: 224, modelHeight: 224, onChange: (id) => changes.push(id) }), toArray()));
    assert.equal(out.length, 3);
    for (const f of out) {
      assert.equal(f.pixels.width, 224);
      assert.equal(f.pixels.height, 224);
      assert.ok(rectIou(f.window!.fov, SHALLOW) > 0.93);
      // The model sees a 560x200 image in a 560 square: black bands above and below it.
      assert.equal(f.pixels.data[(5 * 224 + 112) * 3], 0);
      assert.ok(f.pixels.data[(112 * 224 + 112) * 3]! > 0);
    }
    assert.deepEqual(changes, []);
  });
});
