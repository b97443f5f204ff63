import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readDicom } from '../../src/dicom/dicom-file.js';
import { writeUltrasoundDicom } from '../../src/dicom/us-writer.js';
import { syntheticFrames } from '../helpers/dicom.js';

const frames = syntheticFrames(2);

test('the ultrasound region gives mm per pixel from Physical Delta X/Y in cm', () => {
  const cal = readDicom(writeUltrasoundDicom(frames, { calibration: { mmPerPxX: 0.12, mmPerPxY: 0.08, region: { x0: 10, y0: 12, x1: 150, y1: 110 } } }), 'a').calibration;
  assert.ok(cal !== undefined);
  assert.equal(cal.source, 'ultrasound-region');
  assert.ok(Math.abs(cal.mmPerPxX - 0.12) < 1e-12);
  assert.ok(Math.abs(cal.mmPerPxY - 0.08) < 1e-12);
  assert.deepEqual(cal.region, { x0: 10, y0: 12, x1: 150, y1: 110 });
});

test('Pixel Spacing (row, column) is the fallback when no ultrasound region is calibrated', () => {
  const cal = readDicom(writeUltrasoundDicom(frames, { pixelSpacingMm: [0.3, 0.25] }), 'a').calibration;
  assert.deepEqual(cal, { mmPerPxX: 0.25, mmPerPxY: 0.3, source: 'pixel-spacing' });
});

test('the ultrasound region wins over Pixel Spacing', () => {
  const cal = readDicom(writeUltrasoundDicom(frames, { pixelSpacingMm: [0.3, 0.3], calibration: { mmPerPxX: 0.1, mmPerPxY: 0.1 } }), 'a').calibration;
  assert.equal(cal?.source, 'ultrasound-region');
});

test('a file with neither has no calibration (never a guessed scale)', () => {
  assert.equal(readDicom(writeUltrasoundDicom(frames), 'a').calibration, undefined);
});
