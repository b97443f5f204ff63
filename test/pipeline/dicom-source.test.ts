import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { readDicom } from '../../src/dicom/dicom-file.js';
import { decodeFrame } from '../../src/dicom/pixel-decode.js';
import { writeUltrasoundDicom } from '../../src/dicom/us-writer.js';
import { ffmpegInputArgs } from '../../src/pipeline/ffmpeg-args.js';
import { DicomFeed, dicomProbe } from '../../src/pipeline/dicom-source.js';
import { syntheticFrames } from '../helpers/dicom.js';

async function collect(feed: DicomFeed, loop: boolean, limit = Infinity): Promise<Buffer> {
  const pipe = new PassThrough();
  const chunks: Buffer[] = [];
  let n = 0;
  const stop = feed.start(pipe, loop, (l) => assert.fail(l));
  return new Promise((resolve) => {
    pipe.on('data', (c: Buffer) => {
      chunks.push(c);
      n += c.length;
      if (n >= limit) {
        stop();
        resolve(Buffer.concat(chunks));
      }
    });
    pipe.on('end', () => resolve(Buffer.concat(chunks)));
  });
}

test('a JPEG Baseline cine loop is fed as its own JPEG fragments, an MJPEG pipe at the file frame rate', async () => {
  const inst = readDicom(writeUltrasoundDicom(syntheticFrames(3, 64, 48), { encoding: 'jpeg-baseline', frameTimeMs: 20 }), 'j.dcm');
  const feed = new DicomFeed(inst);
  assert.deepEqual(feed.inputArgs, ['-f', 'image2pipe', '-c:v', 'mjpeg', '-framerate', '50']);
  const bytes = await collect(feed, false);
  assert.deepEqual(bytes, Buffer.concat([0, 1, 2].map((i) => inst.frameBytes(i))));
  assert.deepEqual(dicomProbe(inst), { width: 64, height: 48, fps: 50, codec: 'mjpeg', hasBFrames: false, frames: 3, duration: 0.06 });
});

test('an uncompressed cine loop is decoded in Node and fed as rgb24 frames of its size; with loop the frames come again', async () => {
  const inst = readDicom(writeUltrasoundDicom(syntheticFrames(2, 32, 24), { frameTimeMs: 40 }), 'e.dcm');
  const feed = new DicomFeed(inst);
  assert.deepEqual(feed.inputArgs, ['-f', 'rawvideo', '-pix_fmt', 'rgb24', '-video_size', '32x24', '-framerate', '25']);
  const one = Buffer.concat([0, 1].map((i) => decodeFrame(inst, i).data));
  assert.deepEqual(await collect(feed, false), one);
  const looped = await collect(feed, true, one.length * 2 + 1);
  assert.deepEqual(looped.subarray(0, one.length * 2), Buffer.concat([one, one]), 'the loop starts again at frame 1');
});

test('FFmpeg reads a DICOM source from stdin, paced with -re in real time', () => {
  const spec = { type: 'dicom' as const, path: 'x.dcm' };
  assert.deepEqual(ffmpegInputArgs(spec, { realtime: true, loop: true, ioTimeoutS: 5, stdinFormat: ['-f', 'image2pipe'] }), ['-re', '-f', 'image2pipe', '-i', 'pipe:0']);
});
