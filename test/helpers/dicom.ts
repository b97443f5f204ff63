/** Generated DICOM test exams: synthetic frames written as ultrasound DICOM, and the DICOM tools' checks. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { RgbImage } from '../../src/core/image.js';
import { syntheticFrame } from '../../src/synthetic/ultrasound-frame.js';

/** `n` synthetic ultrasound frames of one clip (25 frames/s motion). */
export function syntheticFrames(n: number, width = 160, height = 120, seed = 1): RgbImage[] {
  return Array.from({ length: n }, (_, i) => syntheticFrame({ width, height, t: i * 0.04, seed }).image);
}

/** Largest difference of two same-size RGB images, grey levels (0: identical). */
export function maxDiff(a: RgbImage, b: RgbImage): number {
  assert.equal(a.width, b.width);
  assert.equal(a.height, b.height);
  let m = 0;
  for (let i = 0; i < a.data.length; i++) m = Math.max(m, Math.abs(a.data[i]! - b.data[i]!));
  return m;
}

export function tempDir(prefix = 'sgus-dicom-'): string {
  return mkdtempSync(path.join(tmpdir(), prefix));
}

export function writeTemp(dir: string, name: string, bytes: Uint8Array): string {
  const file = path.join(dir, name);
  writeFileSync(file, bytes);
  return file;
}

/** Whether a DICOM tool (dciodvfy, dcmdump) is installed; tests that need it skip otherwise. */
export function hasTool(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`]).status === 0;
}

/** dciodvfy's error lines for a file (empty: valid). Warnings are not errors. */
export function dciodvfyErrors(file: string): string[] {
  const r = spawnSync('dciodvfy', [file], { encoding: 'utf8' });
  return `${r.stdout}\n${r.stderr}`.split('\n').filter((l) => /^Error/.test(l));
}

/** A DICOM file naturalized by dcmjs (to read back what the writers wrote). */
export async function naturalize(bytes: Uint8Array): Promise<Record<string, unknown>> {
  const { default: dcmjs } = await import('dcmjs');
  const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  return dcmjs.data.DicomMetaDictionary.naturalizeDataset(dcmjs.data.DicomMessage.readFile(ab).dict);
}
