import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findContours } from '../../src/core/contours.js';
import { measureGland } from '../../src/core/gland-measurements.js';
import { measureOutline, pointsFromFlat } from '../../src/core/outline-figures.js';
import { syntheticFrame } from '../../src/synthetic/ultrasound-frame.js';

test('figures from the outline alone equal those measured on the class map (gland of a synthetic frame)', () => {
  for (const seed of [1, 4, 9]) {
    const { mask } = syntheticFrame({ width: 200, height: 150, seed });
    const contours = findContours(mask);
    let area = 0;
    for (const v of mask.data) if (v !== 0) area++;
    assert.ok(area > 100, `seed ${seed} has a gland`);
    for (const scale of [undefined, { mmPerPxX: 0.1, mmPerPxY: 0.15 }]) {
      const fromMask = measureGland({ classMap: mask, contours }, scale);
      assert.deepEqual(measureOutline(contours, area, scale), fromMask, `seed ${seed}, scale ${JSON.stringify(scale)}`);
    }
  }
});

test('uncalibrated outline figures stay in pixels; holes add nothing to extent or perimeter', () => {
  const outer = { points: pointsFromFlat([0, 0, 9, 0, 9, 4, 0, 4]), hole: false };
  const hole = { points: pointsFromFlat([3, 1, 5, 1, 5, 3, 3, 3]), hole: true };
  const m = measureOutline([outer, hole], 41, undefined);
  assert.equal(m.calibrated, false);
  assert.deepEqual([m.area, m.length, m.depth, m.perimeter], [{ value: 41, unit: 'px2' }, { value: 10, unit: 'px' }, { value: 5, unit: 'px' }, { value: 26, unit: 'px' }]);
  assert.equal(m.areaCm2, undefined);
});

test('no outline gives zero figures, not infinities', () => {
  const m = measureOutline([], 0, { mmPerPxX: 0.1, mmPerPxY: 0.1 });
  assert.deepEqual([m.area.value, m.areaCm2?.value, m.length.value, m.depth.value, m.perimeter.value], [0, 0, 0, 0, 0]);
});
