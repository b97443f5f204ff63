/**
 * The DICOM JSON model (PS3.18 F.2) QIDO-RS answers in: attributes by 8-hex-digit tag, each a
 * {vr, Value}. Only what `sgus pacs` lists and follows: studies, series, instances.
 */
export type DicomJson = Record<string, { vr?: string; Value?: unknown[] } | undefined>;

export const Tag = {
  PatientName: '00100010',
  PatientID: '00100020',
  StudyDate: '00080020',
  StudyDescription: '00081030',
  ModalitiesInStudy: '00080061',
  Modality: '00080060',
  StudyInstanceUID: '0020000D',
  SeriesInstanceUID: '0020000E',
  SOPInstanceUID: '00080018',
  SOPClassUID: '00080016',
  SeriesNumber: '00200011',
  SeriesDescription: '0008103E',
  NumberOfFrames: '00280008',
  NumberOfStudyRelatedSeries: '00201206',
  NumberOfStudyRelatedInstances: '00201208',
  NumberOfSeriesRelatedInstances: '00201209',
  ReferencedSOPSequence: '00081199',
  FailedSOPSequence: '00081198',
  ReferencedSOPInstanceUID: '00081155',
  FailureReason: '00081197',
} as const;

/** The first value of `tag` as a string ('' when absent); person names give their Alphabetic form. */
export function str(ds: DicomJson, tag: string): string {
  const v = ds[tag]?.Value?.[0];
  if (v === undefined || v === null) return '';
  if (typeof v === 'object' && 'Alphabetic' in (v as Record<string, unknown>)) return String((v as { Alphabetic: unknown }).Alphabetic ?? '');
  return String(v);
}

/** Every value of `tag` as strings. */
export function strs(ds: DicomJson, tag: string): string[] {
  return (ds[tag]?.Value ?? []).map((v) => String(v));
}

/** The first value of `tag` as a number, or undefined. */
export function num(ds: DicomJson, tag: string): number | undefined {
  const v = ds[tag]?.Value?.[0];
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  return Number.isFinite(n) ? n : undefined;
}

/** The items of a sequence attribute. */
export function items(ds: DicomJson, tag: string): DicomJson[] {
  return (ds[tag]?.Value ?? []) as DicomJson[];
}

export interface StudySummary {
  studyInstanceUid: string;
  patientId: string;
  patientName: string;
  /** YYYYMMDD. */
  studyDate: string;
  studyDescription: string;
  modalities: string[];
  series: number | undefined;
  instances: number | undefined;
}

export interface SeriesSummary {
  studyInstanceUid: string;
  seriesInstanceUid: string;
  modality: string;
  seriesNumber: number | undefined;
  seriesDescription: string;
  instances: number | undefined;
}

export interface InstanceSummary {
  studyInstanceUid: string;
  seriesInstanceUid: string;
  sopInstanceUid: string;
  sopClassUid: string;
  frames: number | undefined;
}

export function studySummary(ds: DicomJson): StudySummary {
  return {
    studyInstanceUid: str(ds, Tag.StudyInstanceUID),
    patientId: str(ds, Tag.PatientID),
    patientName: str(ds, Tag.PatientName),
    studyDate: str(ds, Tag.StudyDate),
    studyDescription: str(ds, Tag.StudyDescription),
    modalities: strs(ds, Tag.ModalitiesInStudy),
    series: num(ds, Tag.NumberOfStudyRelatedSeries),
    instances: num(ds, Tag.NumberOfStudyRelatedInstances),
  };
}

export function seriesSummary(ds: DicomJson, studyInstanceUid = ''): SeriesSummary {
  return {
    studyInstanceUid: str(ds, Tag.StudyInstanceUID) || studyInstanceUid,
    seriesInstanceUid: str(ds, Tag.SeriesInstanceUID),
    modality: str(ds, Tag.Modality),
    seriesNumber: num(ds, Tag.SeriesNumber),
    seriesDescription: str(ds, Tag.SeriesDescription),
    instances: num(ds, Tag.NumberOfSeriesRelatedInstances),
  };
}

export function instanceSummary(ds: DicomJson, studyInstanceUid = '', seriesInstanceUid = ''): InstanceSummary {
  return {
    studyInstanceUid: str(ds, Tag.StudyInstanceUID) || studyInstanceUid,
    seriesInstanceUid: str(ds, Tag.SeriesInstanceUID) || seriesInstanceUid,
    sopInstanceUid: str(ds, Tag.SOPInstanceUID),
    sopClassUid: str(ds, Tag.SOPClassUID),
    frames: num(ds, Tag.NumberOfFrames),
  };
}
