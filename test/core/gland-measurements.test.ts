import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findContours } from '../../src/core/contours.js';
import { formatMeasurements, measureGland } from '../../src/core/gland-measurements.js';
import { createGrey } from '../../src/core/image.js';

/** A filled rectangle of w x h pixels at (x, y) in a 100x80 class map. */
function rectangle(x: number, y: number, w: number, h: number): { classMap: ReturnType<typeof createGrey>; contours: ReturnType<typeof findContours> } {
  const classMap = createGrey(100, 80);
  for (let j = y; j < y + h; j++) for (let i = x; i < x + w; i++) classMap.data[j * 100 + i] = 1;
  return { classMap, contours: findContours(classMap) };
}

test('a calibrated gland is measured in mm² / cm² / mm, with anisotropic pixels', () => {
  const m = measureGland(rectangle(10, 20, 40, 25), { mmPerPxX: 0.1, mmPerPxY: 0.2 });
  assert.equal(m.calibrated, true);
  assert.equal(m.pixels, 1000);
  assert.deepEqual(m.area, { value: 20, unit: 'mm2' });
  assert.deepEqual(m.areaCm2, { value: 0.2, unit: 'cm2' });
  assert.deepEqual(m.length, { value: 4, unit: 'mm' });
  assert.deepEqual(m.depth, { value: 5, unit: 'mm' });
  // Contours join boundary pixel centres: a 39 x 24 pixel-step rectangle.
  assert.equal(m.perimeter.unit, 'mm');
  assert.ok(Math.abs(m.perimeter.value - 2 * (39 * 0.1 + 24 * 0.2)) < 1e-9, String(m.perimeter.value));
  assert.match(formatMeasurements(m), /^area 0\.20 cm² \(20\.0 mm²\), perimeter 17\.4 mm, length 4\.0 mm, depth 5\.0 mm$/);
});

test('an uncalibrated gland is measured in pixels and says so', () => {
  const m = measureGland(rectangle(0, 0, 10, 5), undefined);
  assert.equal(m.calibrated, false);
  assert.deepEqual(m.area, { value: 50, unit: 'px2' });
  assert.equal(m.areaCm2, undefined);
  assert.deepEqual([m.length, m.depth, m.perimeter], [{ value: 10, unit: 'px' }, { value: 5, unit: 'px' }, { value: 26, unit: 'px' }]);
  assert.match(formatMeasurements(m), /uncalibrated: pixels/);
});

test('no gland gives zero figures, not infinities', () => {
  const m = measureGland({ classMap: createGrey(10, 10), contours: [] }, { mmPerPxX: 0.1, mmPerPxY: 0.1 });
  assert.deepEqual([m.area.value, m.length.value, m.depth.value, m.perimeter.value], [0, 0, 0, 0]);
});
