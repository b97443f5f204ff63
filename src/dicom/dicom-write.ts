/**
 * Writing DICOM Part 10 files through dcmjs: UIDs, the file meta information, the dates every
 * object carries. The objects themselves (ultrasound cine loops, Segmentations, SRs) are built as
 * naturalized datasets by their own modules.
 */
import { randomUUID } from 'node:crypto';
import dcmjs from 'dcmjs';
import type { NaturalDataset } from 'dcmjs';
import { ErrorCode, SgusError, describeError } from '../errors.js';

export { SopClass, TransferSyntax } from './uids.js';

/** Our implementation class UID (a 2.25 UID derived once from a UUID) and version name. */
export const IMPLEMENTATION_CLASS_UID = '2.25.255371240393129924180913738101532318066';
export const IMPLEMENTATION_VERSION = 'SGUS_LIVE_0_1';

/** A new globally unique UID: 2.25 followed by a random UUID as a decimal integer (PS3.5 B.2). */
export function newUid(): string {
  return `2.25.${BigInt(`0x${randomUUID().replace(/-/g, '')}`).toString()}`;
}

/** DICOM DA and TM of a date (local time, as scanners write them). */
export function dicomDateTime(d: Date = new Date()): { date: string; time: string } {
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  return { date: `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}`, time: `${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}` };
}

/** The file meta information (group 0002) of a Part 10 file holding that instance. */
export function fileMeta(sopClassUid: string, sopInstanceUid: string, transferSyntax: string, sourceAet?: string): NaturalDataset {
  return {
    FileMetaInformationVersion: new Uint8Array([0, 1]).buffer,
    MediaStorageSOPClassUID: sopClassUid,
    MediaStorageSOPInstanceUID: sopInstanceUid,
    TransferSyntaxUID: transferSyntax,
    ImplementationClassUID: IMPLEMENTATION_CLASS_UID,
    ImplementationVersionName: IMPLEMENTATION_VERSION,
    ...(sourceAet !== undefined && sourceAet !== '' ? { SourceApplicationEntityTitle: sourceAet } : {}),
    _vrMap: { FileMetaInformationVersion: 'OB' },
  };
}

/**
 * Serialises a naturalized dataset as a Part 10 file. Encapsulated pixel data is written one
 * fragment per frame (with a basic offset table), which every reader maps back to frames.
 */
export function writePart10(dataset: NaturalDataset, transferSyntax: string, where = 'DICOM object'): Buffer {
  const sopClass = dataset['SOPClassUID'];
  const sopInstance = dataset['SOPInstanceUID'];
  if (typeof sopClass !== 'string' || typeof sopInstance !== 'string') throw new SgusError(ErrorCode.InvalidArgument, 'dataset has no SOPClassUID / SOPInstanceUID', { where });
  const meta = fileMeta(sopClass, sopInstance, transferSyntax);
  try {
    const dict = new dcmjs.data.DicomDict(dcmjs.data.DicomMetaDictionary.denaturalizeDataset(meta));
    dict.dict = dcmjs.data.DicomMetaDictionary.denaturalizeDataset(dataset);
    return Buffer.from(dict.write({ fragmentMultiframe: false }));
  } catch (err) {
    throw new SgusError(ErrorCode.SinkFailure, `cannot encode DICOM: ${describeError(err)}`, { where, cause: err });
  }
}

/** An ArrayBuffer holding exactly these bytes (dcmjs takes ArrayBuffers, not views). */
export function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}
