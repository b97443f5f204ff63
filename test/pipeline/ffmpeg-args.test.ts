import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ffmpegArgs, ffmpegInputArgs, viewPlan } from '../../src/pipeline/ffmpeg-args.js';
import type { FfmpegArgsOptions, ViewPlan } from '../../src/pipeline/ffmpeg-args.js';
import type { SourceSpec } from '../../src/pipeline/source-spec.js';

const file: SourceSpec = { type: 'file', path: 'exam.mp4' };
const NONE: ViewPlan = { mode: 'none', codec: undefined };
const H264_PROBED = { codec: 'h264', hasBFrames: false };

function options(o: Partial<FfmpegArgsOptions> = {}): FfmpegArgsOptions {
  return { source: file, realtime: false, loop: false, ioTimeoutS: 5, modelWidth: 224, modelHeight: 224, fullFrames: false, fullFormat: 'yuv420p', ...o };
}

/** The arguments of the output written to `pipe`, from its `-map` on. */
function output(args: string[], pipe: string): string[] | undefined {
  const end = args.indexOf(pipe);
  if (end < 0) return undefined;
  const start = args.lastIndexOf('-map', end);
  return args.slice(start, end + 1);
}

describe('ffmpegInputArgs', () => {
  it('a file replay is read as fast as FFmpeg can, looped and real-time only when asked', () => {
    assert.deepEqual(ffmpegInputArgs(file, { realtime: false, loop: false, ioTimeoutS: 5 }), ['-i', 'exam.mp4']);
    assert.deepEqual(ffmpegInputArgs(file, { realtime: true, loop: true, ioTimeoutS: 5 }), ['-stream_loop', '-1', '-re', '-i', 'exam.mp4']);
  });

  it('a replay moved by a viewer seeks before -i and paces at its speed (-readrate), -re at 1x', () => {
    assert.deepEqual(ffmpegInputArgs(file, { realtime: true, loop: false, ioTimeoutS: 5, seekS: 2.03, speed: 2 }), ['-readrate', '2', '-ss', '2.030000', '-i', 'exam.mp4']);
    assert.deepEqual(ffmpegInputArgs(file, { realtime: true, loop: true, ioTimeoutS: 5, seekS: 0, speed: 1 }), ['-stream_loop', '-1', '-re', '-i', 'exam.mp4']);
    // The whole command carries them too, and a seeked H.264 file is re-encoded (a copy would start at the key frame before).
    const args = ffmpegArgs(options({ realtime: true, seekS: 4, speed: 0.5 }), viewPlan('auto', file, false, H264_PROBED, true), 25);
    assert.deepEqual(args.slice(args.indexOf('-readrate'), args.indexOf('-i') + 2), ['-readrate', '0.5', '-ss', '4.000000', '-i', 'exam.mp4']);
    assert.deepEqual(viewPlan('auto', file, false, H264_PROBED, true), { mode: 'encode', codec: 'h264' });
    assert.deepEqual(viewPlan('auto', file, false, H264_PROBED), { mode: 'copy', codec: 'h264' });
  });

  it('a lavfi graph is read as a lavfi input; loop does not apply', () => {
    assert.deepEqual(ffmpegInputArgs({ type: 'lavfi', graph: 'testsrc2=size=640x480:rate=25' }, { realtime: true, loop: true, ioTimeoutS: 5 }), ['-re', '-f', 'lavfi', '-i', 'testsrc2=size=640x480:rate=25']);
  });

  it('a capture device is read through V4L2 with only the settings given', () => {
    assert.deepEqual(ffmpegInputArgs({ type: 'device', path: '/dev/video0' }, { realtime: false, loop: false, ioTimeoutS: 5 }), ['-f', 'v4l2', '-i', '/dev/video0']);
    assert.deepEqual(ffmpegInputArgs({ type: 'device', path: '/dev/video1', size: '1280x720', rate: 30, pixelFormat: 'mjpeg' }, { realtime: false, loop: false, ioTimeoutS: 5 }), [
      '-f', 'v4l2', '-video_size', '1280x720', '-framerate', '30', '-input_format', 'mjpeg', '-i', '/dev/video1',
    ]);
  });

  it('a live network stream is read without buffering, with its protocol\'s timeout in microseconds', () => {
    const low = ['-fflags', 'nobuffer', '-flags', 'low_delay', '-probesize', '1000000', '-analyzeduration', '2000000'];
    const io = { realtime: false, loop: false, ioTimeoutS: 2.5 };
    assert.deepEqual(ffmpegInputArgs({ type: 'url', url: 'rtsp://scanner:8554/live' }, io), [...low, '-rtsp_transport', 'tcp', '-timeout', '2500000', '-i', 'rtsp://scanner:8554/live']);
    assert.deepEqual(ffmpegInputArgs({ type: 'url', url: 'http://scanner/live.ts' }, io), [...low, '-rw_timeout', '2500000', '-i', 'http://scanner/live.ts']);
    assert.deepEqual(ffmpegInputArgs({ type: 'url', url: 'udp://127.0.0.1:5000' }, io), [...low, '-i', 'udp://127.0.0.1:5000?overrun_nonfatal=1&fifo_size=50000&timeout=2500000']);
    assert.deepEqual(ffmpegInputArgs({ type: 'url', url: 'udp://127.0.0.1:5000?pkt_size=1316' }, io).at(-1), 'udp://127.0.0.1:5000?pkt_size=1316&overrun_nonfatal=1&fifo_size=50000&timeout=2500000');
  });
});

describe('viewPlan', () => {
  it("'none' writes no viewer video and 'jpeg' always encodes MJPEG", () => {
    assert.deepEqual(viewPlan('none', file, false, H264_PROBED), NONE);
    assert.deepEqual(viewPlan('jpeg', file, false, H264_PROBED), { mode: 'encode', codec: 'jpeg' });
  });

  it('passes a probed H.264 file without B-frames through, and encodes otherwise', () => {
    assert.deepEqual(viewPlan('auto', file, false, H264_PROBED), { mode: 'copy', codec: 'h264' });
    assert.deepEqual(viewPlan('h264', file, false, H264_PROBED), { mode: 'copy', codec: 'h264' });
    const encode = { mode: 'encode', codec: 'h264' };
    assert.deepEqual(viewPlan('auto', file, false, { codec: 'h264', hasBFrames: true }), encode, 'B-frames: packet order is not picture order');
    assert.deepEqual(viewPlan('auto', file, false, { codec: 'hevc', hasBFrames: false }), encode);
    assert.deepEqual(viewPlan('auto', file, true, H264_PROBED), encode, 'a looped copy stops at the first loop');
    assert.deepEqual(viewPlan('auto', { type: 'url', url: 'rtsp://scanner/live' }, false, H264_PROBED), encode, 'a network stream is re-encoded');
    assert.deepEqual(viewPlan('auto', file, false, { codec: 'unknown', hasBFrames: true }), encode, 'an unprobed input is re-encoded');
  });
});

describe('ffmpegArgs', () => {
  it('always writes model-size RGB24 with showinfo to pipe:1, logging with levels at verbose', () => {
    const args = ffmpegArgs(options({ modelWidth: 64, modelHeight: 48 }), NONE, 25);
    assert.deepEqual(args.slice(0, 5), ['-hide_banner', '-nostdin', '-nostats', '-loglevel', 'level+verbose']);
    assert.deepEqual(args.slice(5, 7), ['-i', 'exam.mp4']);
    assert.deepEqual(output(args, 'pipe:1'), ['-map', '0:v:0', '-an', '-sn', '-dn', '-fps_mode', 'passthrough', '-vf', 'scale=64:48:flags=bilinear,showinfo=checksum=0', '-pix_fmt', 'rgb24', '-f', 'rawvideo', 'pipe:1']);
    assert.equal(output(args, 'pipe:3'), undefined);
    assert.equal(output(args, 'pipe:4'), undefined);
  });

  it('the network timeout and real-time reading reach the input', () => {
    const args = ffmpegArgs(options({ source: { type: 'url', url: 'rtsp://scanner/live' }, ioTimeoutS: 5, realtime: true }), NONE, 25);
    assert.deepEqual(args.slice(args.indexOf('-rtsp_transport'), args.indexOf('-i') + 2), ['-rtsp_transport', 'tcp', '-timeout', '5000000', '-re', '-i', 'rtsp://scanner/live']);
  });

  it('copied H.264 goes to pipe:3 as Annex B with an AUD before every picture', () => {
    assert.deepEqual(output(ffmpegArgs(options(), { mode: 'copy', codec: 'h264' }, 25), 'pipe:3'), ['-map', '0:v:0', '-an', '-sn', '-dn', '-c:v', 'copy', '-bsf:v', 'h264_mp4toannexb,h264_metadata=aud=insert', '-f', 'h264', 'pipe:3']);
  });

  it('encoded H.264 is low-latency baseline libx264 with a key frame every 2 s of the source rate', () => {
    const out = output(ffmpegArgs(options(), { mode: 'encode', codec: 'h264' }, 30), 'pipe:3')!;
    assert.deepEqual(out, ['-map', '0:v:0', '-an', '-sn', '-dn', '-fps_mode', 'passthrough', '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-profile:v', 'baseline', '-pix_fmt', 'yuv420p', '-g', '60', '-bsf:v', 'h264_metadata=aud=insert', '-f', 'h264', 'pipe:3']);
    const slow = output(ffmpegArgs(options(), { mode: 'encode', codec: 'h264' }, 0.2), 'pipe:3')!;
    assert.equal(slow[slow.indexOf('-g') + 1], '1', 'at least one frame per GOP');
  });

  it('MJPEG for viewers goes to pipe:3 as full-range JPEG pictures', () => {
    assert.deepEqual(output(ffmpegArgs(options(), { mode: 'encode', codec: 'jpeg' }, 25), 'pipe:3'), ['-map', '0:v:0', '-an', '-sn', '-dn', '-fps_mode', 'passthrough', '-c:v', 'mjpeg', '-q:v', '5', '-pix_fmt', 'yuvj420p', '-f', 'mjpeg', 'pipe:3']);
  });

  it('full-size pictures go to pipe:4 in the asked pixel format, after the other outputs', () => {
    const args = ffmpegArgs(options({ fullFrames: true, fullFormat: 'rgb24' }), { mode: 'copy', codec: 'h264' }, 25);
    assert.deepEqual(output(args, 'pipe:4'), ['-map', '0:v:0', '-an', '-sn', '-dn', '-fps_mode', 'passthrough', '-pix_fmt', 'rgb24', '-f', 'rawvideo', 'pipe:4']);
    assert.ok(args.indexOf('pipe:1') < args.indexOf('pipe:3') && args.indexOf('pipe:3') < args.indexOf('pipe:4'));
    assert.equal(args.at(-1), 'pipe:4');
  });
});
