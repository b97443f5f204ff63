/**
 * The preamble and file meta information of a Part 10 file, for a dataset that arrives over the
 * network as bytes already encoded in `transferSyntax`: the receiver writes this header and then
 * streams the dataset after it, so a received image is a DICOM file on disk without ever being
 * parsed or held whole in memory.
 */
import dcmjs from 'dcmjs';
import { fileMeta } from '../dicom/dicom-write.js';

export function part10Header(sopClassUid: string, sopInstanceUid: string, transferSyntax: string, sourceAet?: string): Buffer {
  const meta = fileMeta(sopClassUid, sopInstanceUid, transferSyntax, sourceAet);
  const dict = new dcmjs.data.DicomDict(dcmjs.data.DicomMetaDictionary.denaturalizeDataset(meta));
  // An empty dataset: dcmjs writes the preamble, "DICM" and the meta group with its length.
  dict.dict = {};
  return Buffer.from(dict.write());
}
