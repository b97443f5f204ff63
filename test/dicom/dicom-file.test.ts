import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isSgusError } from '../../src/errors.js';
import { isDicomPart10, readDicom } from '../../src/dicom/dicom-file.js';
import { TransferSyntax } from '../../src/dicom/uids.js';
import { writeUltrasoundDicom } from '../../src/dicom/us-writer.js';
import { syntheticFrames } from '../helpers/dicom.js';

const frames = syntheticFrames(3);

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(isSgusError(err), 'an SgusError');
    assert.equal(err.fatal, false, 'not fatal to a batch');
    assert.doesNotMatch(err.message, /\n/);
    return err.message;
  }
  assert.fail('no error thrown');
}

test('a cine loop is read with its size, frame count, transfer syntax and identity', () => {
  const file = writeUltrasoundDicom(frames, { encoding: 'jpeg-baseline', identity: { studyInstanceUid: '1.2.3', seriesInstanceUid: '1.2.3.4', sopInstanceUid: '1.2.3.4.5' } });
  assert.ok(isDicomPart10(file));
  const inst = readDicom(file, 'loop.dcm');
  assert.equal(inst.frames, 3);
  assert.equal(inst.declaredFrames, 3);
  assert.equal(inst.image.columns, 160);
  assert.equal(inst.image.rows, 120);
  assert.equal(inst.image.photometric, 'YBR_FULL_422');
  assert.equal(inst.transferSyntaxUid, TransferSyntax.JpegBaseline);
  assert.deepEqual([inst.studyInstanceUid, inst.seriesInstanceUid, inst.sopInstanceUid], ['1.2.3', '1.2.3.4', '1.2.3.4.5']);
  // Each encapsulated frame is a whole JPEG stream.
  for (let i = 0; i < 3; i++) assert.deepEqual([...inst.frameBytes(i).subarray(0, 2)], [0xff, 0xd8]);
  assert.deepEqual(inst.warnings, []);
});

test('frame timing comes from Frame Time, Frame Time Vector or Cine Rate', () => {
  assert.equal(readDicom(writeUltrasoundDicom(frames, { frameTimeMs: 33.3 }), 'a').frameTimeMs, 33.3);
  assert.equal(readDicom(writeUltrasoundDicom(frames, { frameTimeMs: 50, timing: 'frame-time-vector' }), 'b').frameTimeMs, 50);
  assert.equal(readDicom(writeUltrasoundDicom(frames, { frameTimeMs: 20, timing: 'cine-rate' }), 'c').frameTimeMs, 20);
});

test('a file with no pixel data is refused in one line naming it', () => {
  assert.match(errorOf(() => readDicom(writeUltrasoundDicom(frames, { omitPixelData: true }), 'nopix.dcm')), /^nopix\.dcm: no pixel data/);
});

test('an unsupported transfer syntax is refused in one line naming the syntax', () => {
  const file = writeUltrasoundDicom(frames);
  // The transfer syntax UID is in the meta header; put Explicit VR Big Endian's (same length) in its place.
  const at = file.indexOf(`${TransferSyntax.ExplicitLittle}\0`, 0, 'latin1');
  assert.ok(at > 0);
  file.write(TransferSyntax.ExplicitBig, at, 'latin1');
  assert.equal(errorOf(() => readDicom(file, 'big.dcm')), 'big.dcm: unsupported transfer syntax 1.2.840.10008.1.2.2 (Explicit VR Big Endian)');
});

test('a non-ultrasound modality is refused by default, read with a warning when allowed', () => {
  const file = writeUltrasoundDicom(frames, { modality: 'CT' });
  assert.match(errorOf(() => readDicom(file, 'ct.dcm')), /^ct\.dcm: not an ultrasound image \(modality CT\); refused/);
  const inst = readDicom(file, 'ct.dcm', { ultrasoundOnly: false });
  assert.equal(inst.frames, 3);
  assert.match(inst.warnings.join(), /not an ultrasound image/);
});

test('a file cut inside its pixel data keeps the whole frames before the cut, with a warning', () => {
  const file = writeUltrasoundDicom(frames);
  const frameBytes = 160 * 120 * 3;
  const cut = file.subarray(0, file.length - Math.round(frameBytes * 1.5));
  const inst = readDicom(cut, 'cut.dcm');
  assert.equal(inst.frames, 1);
  assert.match(inst.warnings.join(), /truncated: holds 1 of the 3 frames/);
  assert.match(errorOf(() => readDicom(file.subarray(0, 600), 'short.dcm')), /^short\.dcm: truncated or damaged DICOM/);
  assert.match(errorOf(() => readDicom(file.subarray(0, 100), 'tiny.dcm')), /^tiny\.dcm: not a DICOM Part 10 file/);
});

test('a multi-frame file holding fewer frames than it declares reads those it holds, with a warning', () => {
  for (const encoding of ['explicit', 'jpeg-baseline'] as const) {
    const inst = readDicom(writeUltrasoundDicom(frames, { encoding, declaredFrames: 5 }), 'short.dcm');
    assert.equal(inst.declaredFrames, 5);
    assert.equal(inst.frames, 3, encoding);
    assert.match(inst.warnings.join(), /holds 3 of the 5 frames it declares/);
  }
});
