/**
 * What the PACS routes (src/server/pacs-routes.ts) send the viewer's PACS panel
 * (web-viewer/src/pacs-browser.ts) about a study and a series: no credentials, no PACS address.
 */

export interface PacsStudyRow {
  studyInstanceUid: string;
  /** YYYYMMDD. */
  studyDate: string;
  patientId: string;
  patientName: string;
  description: string;
  modalities: string[];
}

export interface PacsSeriesRow {
  seriesInstanceUid: string;
  modality: string;
  description: string;
  seriesNumber: number | undefined;
  instances: Array<{ sopInstanceUid: string; frames: number | undefined; instanceNumber: number | undefined }>;
}
