/**
 * Parse speed of the two DICOM libraries on a generated 300-frame ultrasound cine loop
 * (uncompressed RGB and JPEG Baseline): the measurement behind reading with dicom-parser.
 *   npx tsx scripts/dicom-parse-speed.ts [frames] [width] [height]
 */
import dcmjs from 'dcmjs';
import dicomParser from 'dicom-parser';
import { readDicom } from '../src/dicom/dicom-file.js';
import { toArrayBuffer } from '../src/dicom/dicom-write.js';
import { decodeFrame } from '../src/dicom/pixel-decode.js';
import { writeUltrasoundDicom } from '../src/dicom/us-writer.js';
import { syntheticFrame } from '../src/synthetic/ultrasound-frame.js';

const [frames = 300, width = 640, height = 480] = process.argv.slice(2).map(Number);
dcmjs.log.setLevel('error');
const base = Array.from({ length: 10 }, (_, i) => syntheticFrame({ width, height, t: i * 0.04 }).image);
const all = Array.from({ length: frames }, (_, i) => base[i % base.length]!);

function time(label: string, fn: () => void, runs = 5): void {
  fn();
  const t: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    fn();
    t.push(performance.now() - t0);
  }
  t.sort((a, b) => a - b);
  process.stdout.write(`${label.padEnd(48)} median ${t[Math.floor(runs / 2)]!.toFixed(1)} ms\n`);
}

for (const encoding of ['explicit', 'jpeg-baseline'] as const) {
  const file = writeUltrasoundDicom(all, { encoding, calibration: { mmPerPxX: 0.1, mmPerPxY: 0.1 } });
  const ab = toArrayBuffer(file);
  process.stdout.write(`${encoding}: ${frames} frames ${width}x${height}, ${(file.length / 1e6).toFixed(1)} MB\n`);
  time('  dicom-parser parseDicom', () => void dicomParser.parseDicom(file));
  time('  dcmjs DicomMessage.readFile + naturalize', () => void dcmjs.data.DicomMetaDictionary.naturalizeDataset(dcmjs.data.DicomMessage.readFile(ab).dict));
  time('  readDicom (dicom-parser) + every frame\'s bytes', () => {
    const inst = readDicom(file, 'x.dcm');
    for (let i = 0; i < inst.frames; i++) inst.frameBytes(i);
  });
  time('  readDicom + decode every frame to RGB', () => {
    const inst = readDicom(file, 'x.dcm');
    for (let i = 0; i < inst.frames; i++) decodeFrame(inst, i);
  }, 1);
}
