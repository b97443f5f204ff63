/**
 * What every object derived from a source ultrasound instance shares: the source's Patient,
 * General Study and Patient Study modules copied as they are (PS3.3 requires derived objects of
 * the same study to carry them), the equipment that made it, codes, and references to the source.
 */
import dcmjs from 'dcmjs';
import type { NaturalDataset } from 'dcmjs';
import type { DicomInstance } from './dicom-file.js';
import { dicomDateTime, toArrayBuffer } from './dicom-write.js';

/** Attributes of the Patient, General Study and Patient Study modules (and the character set). */
const COPIED = [
  'SpecificCharacterSet',
  // Patient
  'PatientName', 'PatientID', 'IssuerOfPatientID', 'IssuerOfPatientIDQualifiersSequence', 'TypeOfPatientID', 'PatientBirthDate', 'PatientBirthTime', 'PatientSex',
  'OtherPatientIDsSequence', 'OtherPatientNames', 'PatientComments', 'PatientSpeciesDescription', 'PatientIdentityRemoved', 'DeidentificationMethod', 'DeidentificationMethodCodeSequence', 'EthnicGroup',
  // General Study
  'StudyInstanceUID', 'StudyDate', 'StudyTime', 'ReferringPhysicianName', 'ReferringPhysicianIdentificationSequence', 'StudyID', 'AccessionNumber', 'IssuerOfAccessionNumberSequence',
  'StudyDescription', 'PhysiciansOfRecord', 'NameOfPhysiciansReadingStudy', 'ProcedureCodeSequence', 'ReferencedStudySequence',
  // Patient Study
  'AdmittingDiagnosesDescription', 'PatientAge', 'PatientSize', 'PatientWeight', 'Occupation', 'AdditionalPatientHistory',
] as const;

/** Type 2 attributes of those modules: present, empty when the source lacks them. */
const TYPE2 = ['PatientName', 'PatientID', 'PatientBirthDate', 'PatientSex', 'StudyDate', 'StudyTime', 'ReferringPhysicianName', 'StudyID', 'AccessionNumber'] as const;

/** The source's header (everything before the pixel data), naturalized by dcmjs. */
export function sourceHeader(inst: DicomInstance): NaturalDataset {
  const dict = dcmjs.data.DicomMessage.readFile(toArrayBuffer(inst.bytes), { untilTag: '7FE00010', includeUntilTagValue: false });
  return dcmjs.data.DicomMetaDictionary.naturalizeDataset(dict.dict);
}

/** The patient and study modules of the source, to start a derived dataset with. */
export function copiedModules(header: NaturalDataset): NaturalDataset {
  const out: NaturalDataset = {};
  for (const k of COPIED) if (header[k] !== undefined) out[k] = header[k];
  for (const k of TYPE2) if (out[k] === undefined) out[k] = '';
  const vr = header._vrMap;
  if (vr !== undefined) out._vrMap = { ...vr };
  return out;
}

export interface Code {
  CodeValue: string;
  CodingSchemeDesignator: string;
  CodeMeaning: string;
}

export const code = (value: string, scheme: string, meaning: string): Code => ({ CodeValue: value, CodingSchemeDesignator: scheme, CodeMeaning: meaning });

export const CODES = {
  salivaryGland: code('385294005', 'SCT', 'Salivary gland structure'),
  anatomicalStructure: code('123037004', 'SCT', 'Anatomical Structure'),
  segmentation: code('113076', 'DCM', 'Segmentation'),
  sourceForProcessing: code('121322', 'DCM', 'Source image for image processing operation'),
} as const;

/** The equipment and software that made a derived object (General and Enhanced General Equipment). */
export function equipment(softwareVersion: string): NaturalDataset {
  return {
    Manufacturer: 'SGUS Live',
    ManufacturerModelName: 'sgus',
    DeviceSerialNumber: '0',
    SoftwareVersions: softwareVersion,
  };
}

export function contentDateTime(now = new Date()): NaturalDataset {
  const { date, time } = dicomDateTime(now);
  return { ContentDate: date, ContentTime: time, SeriesDate: date, SeriesTime: time };
}

/** Common Instance Reference: the source series and instance this object refers to. */
export function referencedSeries(inst: DicomInstance, extra: Array<{ sopClassUid: string; sopInstanceUid: string; seriesInstanceUid: string }> = []): NaturalDataset[] {
  const bySeries = new Map<string, NaturalDataset[]>();
  for (const r of [{ sopClassUid: inst.sopClassUid, sopInstanceUid: inst.sopInstanceUid, seriesInstanceUid: inst.seriesInstanceUid }, ...extra]) {
    const list = bySeries.get(r.seriesInstanceUid) ?? [];
    list.push({ ReferencedSOPClassUID: r.sopClassUid, ReferencedSOPInstanceUID: r.sopInstanceUid });
    bySeries.set(r.seriesInstanceUid, list);
  }
  return [...bySeries].map(([uid, refs]) => ({ SeriesInstanceUID: uid, ReferencedInstanceSequence: refs }));
}
