import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findContours } from '../../src/core/contours.js';
import { measureGland } from '../../src/core/gland-measurements.js';
import { readDicom } from '../../src/dicom/dicom-file.js';
import { SopClass } from '../../src/dicom/dicom-write.js';
import { writeSegmentation } from '../../src/dicom/seg-writer.js';
import { writeMeasurementReport } from '../../src/dicom/sr-writer.js';
import { writeUltrasoundDicom } from '../../src/dicom/us-writer.js';
import { syntheticFrame } from '../../src/synthetic/ultrasound-frame.js';
import { dciodvfyErrors, hasTool, naturalize, tempDir, writeTemp } from '../helpers/dicom.js';

const synth = [0, 1].map((i) => syntheticFrame({ width: 150, height: 100, t: i * 0.2 }));
const source = readDicom(writeUltrasoundDicom(synth.map((s) => s.image), { calibration: { mmPerPxX: 0.1, mmPerPxY: 0.125 } }), 'exam.dcm');
const measured = synth.map((s, i) => ({ sourceFrame: i, segFrame: i + 1, measurements: measureGland({ classMap: s.mask, contours: findContours(s.mask) }, source.calibration) }));

type Item = Record<string, any>;
const find = (items: Item[], meaning: string): Item => {
  const it = items.find((i) => i.ConceptNameCodeSequence?.[0]?.CodeMeaning === meaning);
  assert.ok(it !== undefined, `no item '${meaning}'`);
  return it;
};

test('the report is a TID 1500 measurement report with one group per frame holding area, perimeter, length and depth in mm', async () => {
  const seg = writeSegmentation(source, synth.map((s, i) => ({ sourceFrame: i, mask: s.mask })));
  const sr = writeMeasurementReport(source, measured, { segmentation: seg });
  const ds = await naturalize(sr.bytes);
  assert.equal(ds.SOPClassUID, SopClass.ComprehensiveSr);
  assert.equal((ds.ContentTemplateSequence as Item[])[0]!.TemplateIdentifier, '1500');
  const groups = find(ds.ContentSequence as Item[], 'Imaging Measurements').ContentSequence as Item[];
  assert.equal(groups.length, 2);
  groups.forEach((g, k) => {
    const items = g.ContentSequence as Item[];
    const m = measured[k]!.measurements;
    const value = (meaning: string): [number, string] => {
      const mv = find(items, meaning).MeasuredValueSequence[0];
      return [Number(mv.NumericValue), mv.MeasurementUnitsCodeSequence[0].CodeValue];
    };
    assert.deepEqual(value('Area'), [m.area.value, 'mm2']);
    assert.deepEqual(value('Perimeter'), [m.perimeter.value, 'mm']);
    assert.deepEqual(value('Length'), [m.length.value, 'mm']);
    assert.deepEqual(value('Depth'), [m.depth.value, 'mm']);
    // Area in mm² is the gland's pixels times the pixel's area.
    assert.ok(Math.abs(m.area.value - m.pixels * 0.1 * 0.125) < 1e-3);
    assert.equal(find(items, 'Source image for segmentation').ReferencedSOPSequence[0].ReferencedFrameNumber, k + 1);
    const segRef = find(items, 'Referenced Segmentation Frame').ReferencedSOPSequence[0];
    assert.deepEqual([segRef.ReferencedSOPInstanceUID, segRef.ReferencedFrameNumber], [seg.sopInstanceUid, k + 1]);
  });
  assert.equal(ds.StudyInstanceUID, source.studyInstanceUid);
  const evidence = (ds.CurrentRequestedProcedureEvidenceSequence as Item[])[0]!.ReferencedSeriesSequence as Item[];
  assert.deepEqual(evidence.map((s) => s.ReferencedSOPSequence[0].ReferencedSOPInstanceUID), [source.sopInstanceUid, seg.sopInstanceUid]);
});

test('uncalibrated figures are reported in pixels', async () => {
  const m = measureGland({ classMap: synth[0]!.mask, contours: findContours(synth[0]!.mask) }, undefined);
  const ds = await naturalize(writeMeasurementReport(source, [{ sourceFrame: 0, measurements: m }]).bytes);
  const group = (find(ds.ContentSequence as Item[], 'Imaging Measurements').ContentSequence as Item[])[0]!;
  assert.equal(find(group.ContentSequence, 'Area').MeasuredValueSequence[0].MeasurementUnitsCodeSequence[0].CodeValue, '{pixels}');
});

test('the report is valid for dciodvfy', { skip: hasTool('dciodvfy') ? false : 'dciodvfy (dicom3tools) is not installed' }, () => {
  const seg = writeSegmentation(source, synth.map((s, i) => ({ sourceFrame: i, mask: s.mask })));
  const file = writeTemp(tempDir(), 'sr.dcm', writeMeasurementReport(source, measured, { segmentation: seg }).bytes);
  assert.deepEqual(dciodvfyErrors(file), []);
});
