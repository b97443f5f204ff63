/**
 * The preamble and file meta information of a Part 10 file, for a dataset that arrives over the
 * network as bytes already encoded in `transferSyntax`: the receiver writes this header and then
 * streams the dataset after it, so a received image is a DICOM file on disk without ever being
 * parsed or held whole in memory.
 */
import dcmjs from 'dcmjs';
import type { NaturalDataset } from 'dcmjs';
import { IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION } from '../dicom/dicom-write.js';

export function part10Header(sopClassUid: string, sopInstanceUid: string, transferSyntax: string, sourceAet?: string): Buffer {
  const meta: NaturalDataset = {
    FileMetaInformationVersion: new Uint8Array([0, 1]).buffer,
    MediaStorageSOPClassUID: sopClassUid,
    MediaStorageSOPInstanceUID: sopInstanceUid,
    TransferSyntaxUID: transferSyntax,
    ImplementationClassUID: IMPLEMENTATION_CLASS_UID,
    ImplementationVersionName: IMPLEMENTATION_VERSION,
    ...(sourceAet !== undefined && sourceAet !== '' ? { SourceApplicationEntityTitle: sourceAet } : {}),
    _vrMap: { FileMetaInformationVersion: 'OB' },
  };
  const dict = new dcmjs.data.DicomDict(dcmjs.data.DicomMetaDictionary.denaturalizeDataset(meta));
  // An empty dataset: dcmjs writes the preamble, "DICM" and the meta group with its length.
  dict.dict = {};
  return Buffer.from(dict.write());
}
