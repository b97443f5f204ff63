import { test } from 'node:test';
import assert from 'node:assert/strict';
import { postprocess, postprocessDefaults } from '../../src/segmenter/postprocess.js';
import { validateCard } from '../../src/segmenter/model-card.js';

function disc(w: number, h: number, cx: number, cy: number, r: number, inside = 0.9, outside = 0.1): { width: number; height: number; data: Float32Array } {
  const data = new Float32Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data[y * w + x] = (x - cx) ** 2 + (y - cy) ** 2 <= r * r ? inside : outside;
  return { width: w, height: h, data };
}

test('probabilities are resized to the input size before the class is taken: a smooth outline, scaled area', () => {
  const prob = disc(224, 224, 112, 112, 60);
  const s = postprocess(prob, 1120, 1120);
  assert.equal(s.classMap.width, 1120);
  // Area of a disc of radius 300 px at 5x scale, within 1%.
  assert.ok(Math.abs(s.area - Math.PI * 300 ** 2) / (Math.PI * 300 ** 2) < 0.01, `area ${s.area}`);
  assert.equal(s.contours.filter((c) => !c.hole).length, 1);
  // Perimeter of the pixel-centre outline is close to 2*pi*r (8-connected steps overestimate a little).
  assert.ok(Math.abs(s.perimeter - 2 * Math.PI * 300) / (2 * Math.PI * 300) < 0.1, `perimeter ${s.perimeter}`);
});

test('specks below the minimum area are dropped and small holes filled; large ones stay', () => {
  const prob = disc(224, 224, 100, 100, 50);
  // A 3x3 speck far away (9 px < 0.002 * 224^2 = 100 px) and a 4x4 hole inside the disc.
  for (let y = 200; y < 203; y++) for (let x = 200; x < 203; x++) prob.data[y * 224 + x] = 0.95;
  for (let y = 98; y < 102; y++) for (let x = 98; x < 102; x++) prob.data[y * 224 + x] = 0.05;
  const s = postprocess(prob, 224, 224);
  assert.equal(s.contours.length, 1, 'speck removed and hole filled');
  assert.equal(s.classMap.data[201 * 224 + 201], 0);
  assert.equal(s.classMap.data[100 * 224 + 100], 1);
  const keepAll = postprocess(prob, 224, 224, { minComponentFraction: 0, maxHoleFraction: 0 });
  assert.equal(keepAll.contours.filter((c) => !c.hole).length, 2);
  assert.equal(keepAll.contours.filter((c) => c.hole).length, 1);
});

test('the threshold option moves the outline', () => {
  const prob = { width: 100, height: 1, data: Float32Array.from({ length: 100 }, (_, i) => i / 99) };
  const a = postprocess(prob, 100, 1, { threshold: 0.25, minComponentFraction: 0, maxHoleFraction: 0 });
  const b = postprocess(prob, 100, 1, { threshold: 0.75, minComponentFraction: 0, maxHoleFraction: 0 });
  assert.ok(a.area > b.area);
  assert.equal(a.area, 100 - Math.ceil(0.25 * 99 + 1e-9));
});

test('singleRegion keeps one gland: a second blob above the speck size is dropped, a large hole filled', () => {
  const prob = disc(224, 224, 70, 70, 50);
  const second = disc(224, 224, 180, 180, 25);
  for (let i = 0; i < prob.data.length; i++) prob.data[i] = Math.max(prob.data[i]!, second.data[i]!);
  // A 20x20 hole (400 px, above the 100 px hole limit) inside the big disc.
  for (let y = 60; y < 80; y++) for (let x = 60; x < 80; x++) prob.data[y * 224 + x] = 0.05;
  const all = postprocess(prob, 224, 224);
  assert.equal(all.contours.filter((c) => !c.hole).length, 2);
  assert.equal(all.contours.filter((c) => c.hole).length, 1);
  const one = postprocess(prob, 448, 448, { singleRegion: true });
  assert.equal(one.contours.length, 1);
  assert.equal(one.classMap.data[140 * 448 + 140], 1, 'hole filled');
  assert.equal(one.classMap.data[360 * 448 + 360], 0, 'second blob dropped');
});

test('the card decides singleRegion unless the caller overrides it; a non-boolean is refused', () => {
  const base = { name: 'm', file: 'model.onnx', output: { singleRegion: true } };
  const card = validateCard(base, 'card.json');
  assert.equal(postprocessDefaults(card).singleRegion, true);
  assert.equal(postprocessDefaults(card, { singleRegion: false }).singleRegion, false);
  assert.equal(postprocessDefaults(validateCard({ name: 'm', file: 'model.onnx' }, 'c')).singleRegion, undefined);
  assert.throws(() => validateCard({ ...base, output: { singleRegion: 'yes' } }, 'card.json'), /output.singleRegion/);
});
