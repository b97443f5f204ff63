/**
 * A TID 1500 Measurement Report (Comprehensive SR) of the gland on each segmented frame of a
 * source ultrasound instance: area, perimeter, length and depth (TID 1410 planar ROI groups, one
 * per frame), each group referencing its source frame and, when written, its Segmentation frame.
 */
import type { NaturalDataset } from 'dcmjs';
import type { Figure, GlandMeasurements } from '../core/gland-measurements.js';
import { ErrorCode, SgusError } from '../errors.js';
import { code, CODES, contentDateTime, copiedModules, equipment, sourceHeader } from './derived-common.js';
import type { Code } from './derived-common.js';
import type { DicomInstance } from './dicom-file.js';
import { IMPLEMENTATION_CLASS_UID, newUid, SopClass, TransferSyntax, writePart10 } from './dicom-write.js';

export interface SrFrame {
  /** 0-based frame of the source instance. */
  sourceFrame: number;
  measurements: GlandMeasurements;
  /** 1-based frame of the Segmentation that holds this frame's mask, when one was written. */
  segFrame?: number;
}

export interface SrWriterOptions {
  /** The Segmentation written for the same frames, to reference. Default: none. */
  segmentation?: { sopInstanceUid: string; seriesInstanceUid: string };
  /** Name of the device observer (the model). Default 'sgus'. */
  observerName?: string;
  softwareVersion?: string;
  /** Series number of the new series. Default 902. */
  seriesNumber?: number;
}

const UNITS: Record<Figure['unit'], Code> = {
  mm2: code('mm2', 'UCUM', 'square millimeter'),
  cm2: code('cm2', 'UCUM', 'square centimeter'),
  mm: code('mm', 'UCUM', 'millimeter'),
  px2: code('{pixels}', 'UCUM', 'pixels'),
  px: code('{pixels}', 'UCUM', 'pixels'),
};

const item = (relationship: string, valueType: string, concept: Code, value: NaturalDataset): NaturalDataset => ({ RelationshipType: relationship, ValueType: valueType, ConceptNameCodeSequence: [concept], ...value });
const container = (relationship: string, concept: Code, children: NaturalDataset[], template?: string): NaturalDataset =>
  item(relationship, 'CONTAINER', concept, { ContinuityOfContent: 'SEPARATE', ...(template !== undefined ? { ContentTemplateSequence: [{ MappingResource: 'DCMR', TemplateIdentifier: template }] } : {}), ContentSequence: children });
const num = (concept: Code, f: Figure): NaturalDataset => item('CONTAINS', 'NUM', concept, { MeasuredValueSequence: [{ MeasurementUnitsCodeSequence: [UNITS[f.unit]], NumericValue: f.value }] });
const image = (concept: Code, ref: NaturalDataset): NaturalDataset => item('CONTAINS', 'IMAGE', concept, { ReferencedSOPSequence: [ref] });

export function writeMeasurementReport(inst: DicomInstance, frames: readonly SrFrame[], options: SrWriterOptions = {}): { bytes: Buffer; sopInstanceUid: string; seriesInstanceUid: string } {
  const where = `${inst.where}: measurement report`;
  if (frames.length === 0) throw new SgusError(ErrorCode.InvalidArgument, 'no measured frame to report', { where });
  const multi = inst.declaredFrames > 1;
  const seg = options.segmentation;
  const source = (frame: number): NaturalDataset => ({ ReferencedSOPClassUID: inst.sopClassUid, ReferencedSOPInstanceUID: inst.sopInstanceUid, ...(multi ? { ReferencedFrameNumber: frame + 1 } : {}) });
  const groups = frames.map((f) => {
    const m = f.measurements;
    const children: NaturalDataset[] = [
      item('CONTAINS', 'TEXT', code('112039', 'DCM', 'Tracking Identifier'), { TextValue: `salivary gland, frame ${f.sourceFrame + 1}` }),
      item('CONTAINS', 'UIDREF', code('112040', 'DCM', 'Tracking Unique Identifier'), { UID: newUid() }),
      item('CONTAINS', 'CODE', code('121071', 'DCM', 'Finding'), { ConceptCodeSequence: [CODES.salivaryGland] }),
      item('HAS CONCEPT MOD', 'CODE', code('363698007', 'SCT', 'Finding Site'), { ConceptCodeSequence: [CODES.salivaryGland] }),
    ];
    if (seg !== undefined && f.segFrame !== undefined) {
      children.push(image(code('121214', 'DCM', 'Referenced Segmentation Frame'), { ReferencedSOPClassUID: SopClass.Segmentation, ReferencedSOPInstanceUID: seg.sopInstanceUid, ReferencedFrameNumber: f.segFrame }));
    }
    children.push(image(code('121233', 'DCM', 'Source image for segmentation'), source(f.sourceFrame)));
    children.push(num(code('42798000', 'SCT', 'Area'), m.area));
    children.push(num(code('131191004', 'SCT', 'Perimeter'), m.perimeter));
    children.push(num(code('410668003', 'SCT', 'Length'), m.length));
    children.push(num(code('131197000', 'SCT', 'Depth'), m.depth));
    return container('CONTAINS', code('125007', 'DCM', 'Measurement Group'), children, '1410');
  });
  const root: NaturalDataset[] = [
    item('HAS CONCEPT MOD', 'CODE', code('121049', 'DCM', 'Language of Content Item and Descendants'), { ConceptCodeSequence: [code('eng', 'RFC5646', 'English')] }),
    item('HAS OBS CONTEXT', 'CODE', code('121005', 'DCM', 'Observer Type'), { ConceptCodeSequence: [code('121007', 'DCM', 'Device')] }),
    item('HAS OBS CONTEXT', 'UIDREF', code('121012', 'DCM', 'Device Observer UID'), { UID: IMPLEMENTATION_CLASS_UID }),
    item('HAS OBS CONTEXT', 'TEXT', code('121013', 'DCM', 'Device Observer Name'), { TextValue: options.observerName ?? 'sgus' }),
    item('HAS CONCEPT MOD', 'CODE', code('121058', 'DCM', 'Procedure reported'), { ConceptCodeSequence: [code('16310003', 'SCT', 'Ultrasonography')] }),
    container('CONTAINS', code('111028', 'DCM', 'Image Library'), [container('CONTAINS', code('126200', 'DCM', 'Image Library Group'), [{ RelationshipType: 'CONTAINS', ValueType: 'IMAGE', ReferencedSOPSequence: [{ ReferencedSOPClassUID: inst.sopClassUid, ReferencedSOPInstanceUID: inst.sopInstanceUid }] }])]),
    container('CONTAINS', code('126010', 'DCM', 'Imaging Measurements'), groups),
  ];
  const header = sourceHeader(inst);
  const sopInstanceUid = newUid();
  const seriesInstanceUid = newUid();
  const evidence = [{ ReferencedSOPClassUID: inst.sopClassUid, ReferencedSOPInstanceUID: inst.sopInstanceUid }];
  const evidenceSeries: NaturalDataset[] = [{ SeriesInstanceUID: inst.seriesInstanceUid, ReferencedSOPSequence: evidence }];
  if (seg !== undefined) evidenceSeries.push({ SeriesInstanceUID: seg.seriesInstanceUid, ReferencedSOPSequence: [{ ReferencedSOPClassUID: SopClass.Segmentation, ReferencedSOPInstanceUID: seg.sopInstanceUid }] });
  const ds: NaturalDataset = {
    ...copiedModules(header),
    ...equipment(options.softwareVersion ?? '0.1.0'),
    ...contentDateTime(),
    SOPClassUID: SopClass.ComprehensiveSr,
    SOPInstanceUID: sopInstanceUid,
    Modality: 'SR',
    SeriesInstanceUID: seriesInstanceUid,
    SeriesNumber: options.seriesNumber ?? 902,
    SeriesDescription: 'Salivary gland measurements (SGUS Live)',
    InstanceNumber: 1,
    CompletionFlag: 'COMPLETE',
    VerificationFlag: 'UNVERIFIED',
    ReferencedPerformedProcedureStepSequence: [],
    PerformedProcedureCodeSequence: [],
    CurrentRequestedProcedureEvidenceSequence: [{ StudyInstanceUID: inst.studyInstanceUid, ReferencedSeriesSequence: evidenceSeries }],
    ValueType: 'CONTAINER',
    ConceptNameCodeSequence: [code('126000', 'DCM', 'Imaging Measurement Report')],
    ContinuityOfContent: 'SEPARATE',
    ContentTemplateSequence: [{ MappingResource: 'DCMR', TemplateIdentifier: '1500' }],
    ContentSequence: root,
  };
  return { bytes: writePart10(ds, TransferSyntax.ExplicitLittle, where), sopInstanceUid, seriesInstanceUid };
}
