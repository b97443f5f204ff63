import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import type { RgbImage } from '../../src/core/image.js';
import { readDicom } from '../../src/dicom/dicom-file.js';
import { TransferSyntax } from '../../src/dicom/uids.js';
import { openDicom } from '../../src/dicom/dicom-inputs.js';
import { decodeFrame } from '../../src/dicom/pixel-decode.js';
import { writeUltrasoundDicom } from '../../src/dicom/us-writer.js';
import type { UsWriterOptions } from '../../src/dicom/us-writer.js';
import { decodeWasmFrame, loadCodecFor } from '../../src/dicom/wasm-codecs.js';
import { hasTool, maxDiff, syntheticFrames, tempDir, writeTemp } from '../helpers/dicom.js';

const frames = syntheticFrames(3);

function grey(img: RgbImage): RgbImage {
  return readAndDecode(writeUltrasoundDicom([img], { photometric: 'MONOCHROME2' }), 0);
}

function readAndDecode(bytes: Uint8Array, index: number): RgbImage {
  return decodeFrame(readDicom(bytes, 'x.dcm'), index);
}

/** dcmtk's JPEG-LS encoder (an independent implementation) on a file of ours. */
function viaDcmcjpls(options: UsWriterOptions, flags: string[]): string {
  const dir = tempDir();
  const src = writeTemp(dir, 'native.dcm', writeUltrasoundDicom(frames, options));
  const out = path.join(dir, 'jls.dcm');
  const r = spawnSync('dcmcjpls', [...flags, src, out], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return out;
}

for (const [name, flags] of [['line-interleaved', ['+il']], ['sample-interleaved', ['+is']], ['uninterleaved (planar)', ['+in']]] as const) {
  test(`JPEG-LS lossless RGB cine frames (${name}, from dcmcjpls) decode exactly to their source`, { skip: hasTool('dcmcjpls') ? false : 'dcmtk (dcmcjpls) not installed' }, async () => {
    const inst = await openDicom(viaDcmcjpls({}, [...flags]));
    assert.equal(inst.transferSyntaxUid, TransferSyntax.JpegLsLossless);
    assert.equal(inst.frames, 3);
    for (let k = 0; k < 3; k++) assert.equal(maxDiff(decodeFrame(inst, k), frames[k]!), 0);
  });
}

test('JPEG-LS lossless MONOCHROME2 frames decode exactly to the grey they were made from', { skip: hasTool('dcmcjpls') ? false : 'dcmtk (dcmcjpls) not installed' }, async () => {
  const inst = await openDicom(viaDcmcjpls({ photometric: 'MONOCHROME2' }, []));
  assert.equal(maxDiff(decodeFrame(inst, 1), grey(frames[1]!)), 0);
});

test('JPEG-LS near-lossless frames stay within their declared error', { skip: hasTool('dcmcjpls') ? false : 'dcmtk (dcmcjpls) not installed' }, async () => {
  const inst = await openDicom(viaDcmcjpls({}, ['+en', '+md', '3']));
  assert.equal(inst.transferSyntaxUid, TransferSyntax.JpegLsNearLossless);
  assert.ok(maxDiff(decodeFrame(inst, 2), frames[2]!) <= 3);
});

/** JPEG 2000 codestreams from FFmpeg's own encoder (lossless 5/3 wavelet), one per frame. */
function j2kFrames(imgs: readonly RgbImage[]): Uint8Array[] {
  return imgs.map((img) => {
    const r = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${img.width}x${img.height}`, '-i', '-', '-c:v', 'jpeg2000', '-pred', 'dwt53', '-pix_fmt', 'rgb24', '-f', 'image2pipe', '-'], { input: img.data, maxBuffer: 64 << 20 });
    assert.equal(r.status, 0, String(r.stderr));
    return new Uint8Array(r.stdout);
  });
}

test('JPEG 2000 lossless RGB cine frames (FFmpeg-encoded) decode exactly to their source', { skip: hasTool('ffmpeg') ? false : 'ffmpeg not installed' }, async () => {
  const dir = tempDir();
  const file = writeTemp(dir, 'j2k.dcm', writeUltrasoundDicom(frames, { encoded: { transferSyntax: TransferSyntax.Jpeg2000Lossless, photometric: 'RGB', samplesPerPixel: 3, lossy: false, frames: j2kFrames(frames) } }));
  const inst = await openDicom(file);
  assert.equal(inst.transferSyntaxUid, TransferSyntax.Jpeg2000Lossless);
  for (let k = 0; k < 3; k++) assert.equal(maxDiff(decodeFrame(inst, k), frames[k]!), 0);
});

test('a damaged JPEG 2000 frame is one clear, non-fatal line naming the file and frame', { skip: hasTool('ffmpeg') ? false : 'ffmpeg not installed' }, async () => {
  const [good] = j2kFrames([frames[0]!]);
  const bad = good!.slice(0, 40);
  const inst = readDicom(writeUltrasoundDicom([frames[0]!, frames[1]!], { encoded: { transferSyntax: TransferSyntax.Jpeg2000Lossless, photometric: 'RGB', samplesPerPixel: 3, lossy: false, frames: [good!, bad] } }), 'cut.dcm');
  await loadCodecFor(inst.transferSyntaxUid);
  assert.equal(maxDiff(decodeFrame(inst, 0), frames[0]!), 0);
  assert.throws(() => decodeFrame(inst, 1), (err: Error & { fatal?: boolean }) => {
    assert.match(err.message, /^cut\.dcm frame 2: /);
    assert.equal(err.fatal, false);
    return true;
  });
});

test('a JPEG-LS frame of another size than the header says is refused, naming both sizes', { skip: hasTool('dcmcjpls') ? false : 'dcmtk (dcmcjpls) not installed' }, async () => {
  const real = await openDicom(viaDcmcjpls({}, []));
  const fragment = real.frameBytes(0);
  const small = syntheticFrames(1, 80, 60)[0]!;
  const lie = readDicom(writeUltrasoundDicom([small], { encoded: { transferSyntax: TransferSyntax.JpegLsLossless, photometric: 'RGB', samplesPerPixel: 3, lossy: false, frames: [fragment] } }), 'lie.dcm');
  assert.throws(() => decodeFrame(lie, 0), /lie\.dcm frame 1: frame decodes to 160x120 with 3 samples, the header says 80x60 with 3/);
});

test('the decoders leave stdout alone (OpenJPEG prints a line per tile unless silenced)', { skip: hasTool('ffmpeg') ? false : 'ffmpeg not installed' }, async () => {
  const [cs] = j2kFrames([frames[0]!]);
  await loadCodecFor(TransferSyntax.Jpeg2000);
  const written: string[] = [];
  const orig = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array) => {
    written.push(String(chunk));
    return true;
  }) as typeof process.stdout.write;
  try {
    decodeWasmFrame(cs!, TransferSyntax.Jpeg2000, 'x');
  } finally {
    process.stdout.write = orig;
  }
  assert.deepEqual(written, []);
});
