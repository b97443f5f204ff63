/**
 * The DICOM UIDs the project names: SOP classes and transfer syntaxes. Their own module so that
 * reading a file (or replaying a video) does not load the writer's dcmjs.
 */

export const SopClass = {
  UltrasoundImage: '1.2.840.10008.5.1.4.1.1.6.1',
  UltrasoundMultiframeImage: '1.2.840.10008.5.1.4.1.1.3.1',
  Segmentation: '1.2.840.10008.5.1.4.1.1.66.4',
  ComprehensiveSr: '1.2.840.10008.5.1.4.1.1.88.33',
  EnhancedSr: '1.2.840.10008.5.1.4.1.1.88.22',
} as const;

export const TransferSyntax = {
  ImplicitLittle: '1.2.840.10008.1.2',
  ExplicitLittle: '1.2.840.10008.1.2.1',
  DeflatedExplicitLittle: '1.2.840.10008.1.2.1.99',
  ExplicitBig: '1.2.840.10008.1.2.2',
  JpegBaseline: '1.2.840.10008.1.2.4.50',
  JpegExtended: '1.2.840.10008.1.2.4.51',
  JpegLossless: '1.2.840.10008.1.2.4.57',
  JpegLosslessSv1: '1.2.840.10008.1.2.4.70',
  JpegLsLossless: '1.2.840.10008.1.2.4.80',
  JpegLsNearLossless: '1.2.840.10008.1.2.4.81',
  Jpeg2000Lossless: '1.2.840.10008.1.2.4.90',
  Jpeg2000: '1.2.840.10008.1.2.4.91',
  Rle: '1.2.840.10008.1.2.5',
} as const;
