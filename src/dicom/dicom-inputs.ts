/**
 * Image inputs of the batch commands (segment, eval) with DICOM files among them: a PNG or JPEG
 * is one frame; a DICOM instance is one frame per frame it holds, named `<stem>-f<N>` (N from 1)
 * when it is a multi-frame file. Frames are decoded only when asked for, so a 1000-frame cine loop
 * is never held decoded at once.
 */
import { open, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { RgbImage } from '../core/image.js';
import { readImage } from '../core/image-io.js';
import { ErrorCode, SgusError, describeError } from '../errors.js';
import type { Calibration } from './calibration.js';
import { isDicomPart10, readDicom } from './dicom-file.js';
import type { DicomInstance } from './dicom-file.js';
import { decodeFrame } from './pixel-decode.js';
import { loadCodecFor } from './wasm-codecs.js';

export interface InputFrame {
  /** The file it comes from. */
  file: string;
  /** Output stem: the file's, or `<stem>-f<N>` for frame N (from 1) of a multi-frame file. */
  stem: string;
  /** Decodes the frame; errors are one-line, non-fatal SgusErrors naming file (and frame). */
  load(): Promise<RgbImage>;
  /** The DICOM instance and 0-based frame, for DICOM inputs. */
  dicom?: { instance: DicomInstance; frame: number };
  /** Physical pixel size, when the DICOM file is calibrated. */
  calibration?: Calibration;
}

export interface ExpandedFrames {
  frames: InputFrame[];
  /** One line each (file named): files that could not be read at all. */
  errors: string[];
  /** One line each (file named): files read with a problem (fewer frames than declared...). */
  warnings: string[];
}

/** Whether a file starts as a DICOM Part 10 file (reads its first 132 bytes only). */
export async function isDicomFile(file: string): Promise<boolean> {
  let handle;
  try {
    handle = await open(file, 'r');
    const head = new Uint8Array(132);
    const { bytesRead } = await handle.read(head, 0, 132, 0);
    return bytesRead === 132 && isDicomPart10(head);
  } catch {
    return false;
  } finally {
    await handle?.close();
  }
}

function stemOf(file: string): string {
  return path.basename(file, path.extname(file));
}

/** Reads and parses a DICOM file (pixel data indexed, not decoded). */
export async function openDicom(file: string): Promise<DicomInstance> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new SgusError(ErrorCode.FileUnreadable, `cannot read: ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : describeError(err)}`, { where: file, fatal: false, cause: err });
  }
  const inst = readDicom(bytes, file);
  await loadCodecFor(inst.transferSyntaxUid);
  return inst;
}

/** The frames of `files`, in order; a bad DICOM file is an error line, the others go on. */
export async function expandFrames(files: readonly string[]): Promise<ExpandedFrames> {
  const out: ExpandedFrames = { frames: [], errors: [], warnings: [] };
  for (const file of files) {
    if (!(await isDicomFile(file))) {
      out.frames.push({ file, stem: stemOf(file), load: () => readImage(file) });
      continue;
    }
    let instance: DicomInstance;
    try {
      instance = await openDicom(file);
    } catch (err) {
      out.errors.push(describeError(err));
      continue;
    }
    for (const w of instance.warnings) out.warnings.push(`${file}: ${w}`);
    const multi = instance.declaredFrames > 1;
    for (let frame = 0; frame < instance.frames; frame++) {
      out.frames.push({
        file,
        stem: multi ? `${stemOf(file)}-f${frame + 1}` : stemOf(file),
        load: async () => decodeFrame(instance, frame),
        dicom: { instance, frame },
        ...(instance.calibration !== undefined ? { calibration: instance.calibration } : {}),
      });
    }
  }
  return out;
}
