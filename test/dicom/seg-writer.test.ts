import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readDicom } from '../../src/dicom/dicom-file.js';
import { SopClass } from '../../src/dicom/dicom-write.js';
import { packBits, unpackFrame, writeSegmentation } from '../../src/dicom/seg-writer.js';
import { writeUltrasoundDicom } from '../../src/dicom/us-writer.js';
import { syntheticFrame } from '../../src/synthetic/ultrasound-frame.js';
import { dciodvfyErrors, hasTool, naturalize, tempDir, writeTemp } from '../helpers/dicom.js';

const synth = [0, 1, 2].map((i) => syntheticFrame({ width: 150, height: 100, t: i * 0.2 }));
const source = readDicom(writeUltrasoundDicom(synth.map((s) => s.image), { identity: { patientName: 'Doe^Jane', patientId: 'P-42', studyInstanceUid: '1.2.826.0.1.3680043.2.1', seriesInstanceUid: '1.2.826.0.1.3680043.2.1.1', sopInstanceUid: '1.2.826.0.1.3680043.2.1.1.1' } }), 'exam.dcm');
// Frames 1 and 3 segmented (frame 2 left out, as when it failed): references must say which.
const frames = [{ sourceFrame: 0, mask: synth[0]!.mask }, { sourceFrame: 2, mask: synth[2]!.mask }];

test('bits pack frame after frame, least significant bit first, and unpack to the same masks', () => {
  const a = { width: 3, height: 3, data: new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0, 255]) };
  const b = { width: 3, height: 3, data: new Uint8Array([0, 1, 0, 0, 0, 0, 0, 0, 0]) };
  const bits = packBits([a, b]);
  // 18 bits in 3 bytes, padded to an even length as DICOM values are.
  assert.deepEqual([...bits], [0b00000001, 0b00000101, 0, 0]);
  assert.deepEqual([...unpackFrame(bits, 3, 3, 0).data], [1, 0, 0, 0, 0, 0, 0, 0, 1]);
  assert.deepEqual([...unpackFrame(bits, 3, 3, 1).data], [0, 1, 0, 0, 0, 0, 0, 0, 0]);
});

test('the Segmentation reads back to the masks it was given, each frame referencing its source frame', async () => {
  const seg = writeSegmentation(source, frames, { algorithmName: 'unet-test' });
  const ds = await naturalize(seg.bytes);
  assert.equal(ds.SOPClassUID, SopClass.Segmentation);
  assert.equal(ds.SegmentationType, 'BINARY');
  assert.equal(ds.NumberOfFrames, 2);
  const segment = (ds.SegmentSequence as Array<Record<string, unknown>>)[0]!;
  assert.equal(segment.SegmentLabel, 'salivary gland');
  assert.equal((segment.SegmentedPropertyTypeCodeSequence as Array<Record<string, unknown>>)[0]!.CodeValue, '385294005');
  const pixel = new Uint8Array((ds.PixelData as ArrayBuffer[])[0]!);
  frames.forEach((f, k) => {
    const back = unpackFrame(pixel, 150, 100, k);
    for (let i = 0; i < back.data.length; i++) assert.equal(back.data[i], f.mask.data[i] !== 0 ? 1 : 0, `frame ${k} pixel ${i}`);
  });
  const perFrame = ds.PerFrameFunctionalGroupsSequence as Array<Record<string, any>>;
  assert.deepEqual(perFrame.map((p) => p.DerivationImageSequence[0].SourceImageSequence[0].ReferencedFrameNumber), [1, 3]);
  assert.ok(perFrame.every((p) => p.DerivationImageSequence[0].SourceImageSequence[0].ReferencedSOPInstanceUID === source.sopInstanceUid));
});

test('the Segmentation carries the source patient and study, with new series and instance UIDs', async () => {
  const seg = writeSegmentation(source, frames);
  const ds = await naturalize(seg.bytes);
  assert.equal(ds.PatientID, 'P-42');
  assert.equal((ds.PatientName as Array<{ Alphabetic: string }>)[0]!.Alphabetic, 'Doe^Jane');
  assert.equal(ds.StudyInstanceUID, source.studyInstanceUid);
  assert.notEqual(ds.SeriesInstanceUID, source.seriesInstanceUid);
  assert.notEqual(ds.SOPInstanceUID, source.sopInstanceUid);
  assert.equal(ds.SOPInstanceUID, seg.sopInstanceUid);
  const refSeries = (ds.ReferencedSeriesSequence as Array<Record<string, any>>)[0]!;
  assert.equal(refSeries.SeriesInstanceUID, source.seriesInstanceUid);
});

test('the Segmentation is valid for dciodvfy', { skip: hasTool('dciodvfy') ? false : 'dciodvfy (dicom3tools) is not installed' }, () => {
  const file = writeTemp(tempDir(), 'seg.dcm', writeSegmentation(source, frames).bytes);
  assert.deepEqual(dciodvfyErrors(file), []);
});

test('a mask of another size than the source is refused', () => {
  assert.throws(() => writeSegmentation(source, [{ sourceFrame: 0, mask: { width: 10, height: 10, data: new Uint8Array(100) } }]), /mask of frame 1 is 10x10, the source 150x100/);
});

test('packed frames longer than one internal chunk unpack exactly', () => {
  const w = 700;
  const h = 500;
  const masks = [0, 1].map((k) => ({ width: w, height: h, data: Uint8Array.from({ length: w * h }, (_, i) => ((i * 7 + k) % 3 === 0 ? 1 : 0)) }));
  const bits = packBits(masks);
  masks.forEach((m, k) => assert.deepEqual(unpackFrame(bits, w, h, k).data, m.data));
});
