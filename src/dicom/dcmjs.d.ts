/**
 * The part of dcmjs (no types of its own) this project uses: naturalized datasets (keyword →
 * value objects) and Part 10 reading and writing.
 */
declare module 'dcmjs' {
  /** A naturalized dataset: DICOM keywords to values; sequences are arrays of datasets. */
  export type NaturalDataset = Record<string, unknown> & { _vrMap?: Record<string, string> };

  export interface DicomDictInstance {
    meta: Record<string, unknown>;
    dict: Record<string, unknown>;
    write(options?: { fragmentMultiframe?: boolean; allowInvalidVRLength?: boolean }): ArrayBuffer;
  }

  interface DcmjsData {
    DicomDict: new (meta: Record<string, unknown>) => DicomDictInstance;
    DicomMessage: {
      readFile(buffer: ArrayBuffer, options?: { ignoreErrors?: boolean; untilTag?: string; includeUntilTagValue?: boolean }): DicomDictInstance;
    };
    DicomMetaDictionary: {
      naturalizeDataset(dict: Record<string, unknown>): NaturalDataset;
      denaturalizeDataset(dataset: NaturalDataset): Record<string, unknown>;
      uid(): string;
    };
  }

  const dcmjs: { data: DcmjsData; log: { setLevel(level: string): void } };
  export default dcmjs;
}
