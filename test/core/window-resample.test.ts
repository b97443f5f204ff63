import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { modelWindow } from '../../src/core/field-of-view.js';
import { cropToModel, placeThreshold } from '../../src/core/window-resample.js';

function flat(width: number, height: number, v: number) {
  return { width, height, data: new Uint8Array(width * height * 3).fill(v) };
}

describe('cropToModel', () => {
  it('shows the field of view at its own aspect ratio, black above and below a wide one', () => {
    // A 400x100 field of view in a 640x480 frame: the model sees it as 224x56 in the middle rows.
    const img = flat(640, 480, 200);
    const mw = modelWindow({ x: 100, y: 200, width: 400, height: 100 }, 640, 480);
    const out = cropToModel(img, mw, 224, 224);
    const rowMean = (y: number): number => {
      let s = 0;
      for (let x = 0; x < 224; x++) s += out.data[(y * 224 + x) * 3]!;
      return s / 224;
    };
    assert.equal(rowMean(10), 0);
    assert.equal(rowMean(213), 0);
    assert.equal(rowMean(112), 200);
    let lit = 0;
    for (let y = 0; y < 224; y++) if (rowMean(y) > 100) lit++;
    assert.ok(Math.abs(lit - 56) <= 1, `${lit} rows lit`);
  });

  it('leaves out what lies outside the field of view, the interface beside it', () => {
    const img = flat(300, 300, 0);
    // Interface text, bright, left of the field of view.
    for (let y = 0; y < 300; y++) for (let x = 0; x < 50; x++) img.data.fill(255, (y * 300 + x) * 3, (y * 300 + x) * 3 + 3);
    for (let y = 0; y < 300; y++) for (let x = 50; x < 300; x++) img.data.fill(80, (y * 300 + x) * 3, (y * 300 + x) * 3 + 3);
    const out = cropToModel(img, modelWindow({ x: 50, y: 25, width: 250, height: 250 }, 300, 300), 100, 100);
    assert.ok(Math.max(...out.data) <= 80);
  });

  it('antialiases: a fine stripe pattern averages to its mean grey, not to aliased bands', () => {
    const img = flat(800, 800, 0);
    for (let y = 0; y < 800; y++) for (let x = 0; x < 800; x += 2) img.data.fill(200, (y * 800 + x) * 3, (y * 800 + x) * 3 + 3);
    const out = cropToModel(img, modelWindow({ x: 0, y: 0, width: 800, height: 800 }, 800, 800), 224, 224);
    for (let x = 10; x < 214; x++) assert.ok(Math.abs(out.data[(112 * 224 + x) * 3]! - 100) <= 12, `column ${x}: ${out.data[(112 * 224 + x) * 3]}`);
  });
});

describe('placeThreshold', () => {
  it('maps the model\'s gland back to frame pixels inside the window', () => {
    // The model saw the 400x400 window at (100, 50); it found gland in its middle 112x112 square.
    const mw = modelWindow({ x: 100, y: 200, width: 400, height: 100 }, 640, 480);
    const prob = { width: 224, height: 224, data: new Float32Array(224 * 224) };
    for (let y = 84; y < 140; y++) for (let x = 56; x < 168; x++) prob.data[y * 224 + x] = 1;
    const cls = placeThreshold(prob, mw, 0.5);
    assert.equal(cls.width, 640);
    assert.equal(cls.height, 480);
    // Model x 56..168 of 224 → frame x 100 + 400·(56/224 .. 168/224) = 200..400; y 50 + 400·(84..140)/224 = 200..300.
    let minX = Infinity, maxX = -1, minY = Infinity, maxY = -1, n = 0;
    for (let y = 0; y < 480; y++) for (let x = 0; x < 640; x++) if (cls.data[y * 640 + x] === 1) { n++; minX = Math.min(minX, x); maxX = Math.max(maxX, x); minY = Math.min(minY, y); maxY = Math.max(maxY, y); }
    assert.ok(Math.abs(minX - 200) <= 2 && Math.abs(maxX - 399) <= 2, `x ${minX}..${maxX}`);
    assert.ok(Math.abs(minY - 200) <= 2 && Math.abs(maxY - 299) <= 2, `y ${minY}..${maxY}`);
    assert.ok(Math.abs(n - 200 * 100) < 800, `${n} pixels`);
  });

  it('never puts gland outside the field of view, even where the model says so', () => {
    const mw = modelWindow({ x: 100, y: 200, width: 400, height: 100 }, 640, 480);
    const prob = { width: 224, height: 224, data: new Float32Array(224 * 224).fill(1) };
    const cls = placeThreshold(prob, mw, 0.5);
    for (let y = 0; y < 480; y++) {
      for (let x = 0; x < 640; x++) {
        const inside = x >= 100 && x < 500 && y >= 200 && y < 300;
        assert.equal(cls.data[y * 640 + x], inside ? 1 : 0, `(${x}, ${y})`);
      }
    }
  });
});
