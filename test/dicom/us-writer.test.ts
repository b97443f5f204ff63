import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readDicom } from '../../src/dicom/dicom-file.js';
import { SopClass } from '../../src/dicom/dicom-write.js';
import { writeUltrasoundDicom } from '../../src/dicom/us-writer.js';
import { dciodvfyErrors, hasTool, syntheticFrames, tempDir, writeTemp } from '../helpers/dicom.js';

const dciodvfy = hasTool('dciodvfy') ? false : 'dciodvfy (Debian package dicom3tools) is not installed';

test('written cine loops and single frames are valid US objects for dciodvfy, in every encoding and photometric the US Image module allows', { skip: dciodvfy }, () => {
  const dir = tempDir();
  const frames = syntheticFrames(3);
  const cases = {
    'rgb-explicit': { calibration: { mmPerPxX: 0.1, mmPerPxY: 0.1 } },
    'rgb-implicit': { encoding: 'implicit' },
    'mono-vector': { photometric: 'MONOCHROME2', timing: 'frame-time-vector' },
    'palette-cine': { photometric: 'PALETTE COLOR', timing: 'cine-rate' },
    jpeg: { encoding: 'jpeg-baseline', calibration: { mmPerPxX: 0.2, mmPerPxY: 0.1 } },
  } as const;
  for (const [name, options] of Object.entries(cases)) {
    const file = writeTemp(dir, `${name}.dcm`, writeUltrasoundDicom(frames, options));
    assert.deepEqual(dciodvfyErrors(file), [], name);
  }
  const single = writeTemp(dir, 'single.dcm', writeUltrasoundDicom(frames.slice(0, 1)));
  assert.deepEqual(dciodvfyErrors(single), []);
});

test('one frame is written as US Image Storage, several as US Multi-frame Image Storage', () => {
  const frames = syntheticFrames(2);
  assert.equal(readDicom(writeUltrasoundDicom(frames.slice(0, 1)), 'a').sopClassUid, SopClass.UltrasoundImage);
  assert.equal(readDicom(writeUltrasoundDicom(frames), 'b').sopClassUid, SopClass.UltrasoundMultiframeImage);
});
