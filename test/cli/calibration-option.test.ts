import assert from 'node:assert/strict';
import { test } from 'node:test';
import { calibrationOption, streamCalibration } from '../../src/cli/calibration-option.js';

test('--mm-per-px takes one value for both axes or X,Y, and says where the scale came from', () => {
  assert.deepEqual(calibrationOption({ 'mm-per-px': '0.08' }), { mmPerPxX: 0.08, mmPerPxY: 0.08, source: 'from --mm-per-px' });
  assert.deepEqual(calibrationOption({ 'mm-per-px': '0.1,0.12' }), { mmPerPxX: 0.1, mmPerPxY: 0.12, source: 'from --mm-per-px' });
  assert.equal(calibrationOption({}), undefined);
});

test('--mm-per-px refuses zero, negatives, junk and implausible scales in one line', () => {
  for (const v of ['0', '-0.1', 'abc', '0.1,', '0.1,0.1,0.1', '25']) {
    assert.throws(() => calibrationOption({ 'mm-per-px': v }), (e: Error) => /--mm-per-px must be X or X,Y millimetres per pixel/.test(e.message) && !e.message.includes('\n'), v);
  }
});

test("a preset's mmPerPx is used unless --mm-per-px is given; none means uncalibrated", () => {
  const opt = calibrationOption({ 'mm-per-px': '0.2' });
  assert.deepEqual(streamCalibration(undefined, { name: 'ward-3', mmPerPx: 0.05 }), { mmPerPxX: 0.05, mmPerPxY: 0.05, source: 'from preset ward-3 (mmPerPx)' });
  assert.equal(streamCalibration(opt, { name: 'ward-3', mmPerPx: 0.05 })?.source, 'from --mm-per-px');
  assert.equal(streamCalibration(undefined, { name: 'ward-3' }), undefined);
  assert.throws(() => streamCalibration(undefined, { name: 'ward-3', mmPerPx: 50 }), /preset ward-3: settings.mmPerPx/);
});
