/** `<stem>_SG_Measurements.json`: the gland's figures of one DICOM frame, with their units and calibration. */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { GlandMeasurements } from '../core/gland-measurements.js';
import type { InputFrame } from './dicom-inputs.js';

export function measurementsPath(dir: string, stem: string): string {
  return path.join(dir, `${stem}_SG_Measurements.json`);
}

/** The JSON record of one frame's measurements (also the `measurements` of replay's NDJSON lines). */
export function measurementRecord(frame: Pick<InputFrame, 'file' | 'calibration' | 'dicom'>, m: GlandMeasurements): Record<string, unknown> {
  return {
    source: frame.file,
    ...(frame.dicom !== undefined ? { sopInstanceUid: frame.dicom.instance.sopInstanceUid, frame: frame.dicom.frame + 1 } : {}),
    calibration: frame.calibration ?? null,
    units: m.calibrated ? 'mm' : 'pixels (uncalibrated)',
    ...m,
  };
}

export async function writeFrameMeasurements(dir: string, frame: InputFrame, m: GlandMeasurements): Promise<string> {
  await mkdir(dir, { recursive: true });
  const file = measurementsPath(dir, frame.stem);
  await writeFile(file, `${JSON.stringify(measurementRecord(frame, m), null, 2)}\n`);
  return file;
}
