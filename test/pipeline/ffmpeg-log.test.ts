import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { damagedFrame, InputFactsReader, isTruncated, LineSplitter, openFailure, parseLogLine, showinfoFrame } from '../../src/pipeline/ffmpeg-log.js';

describe('FFmpeg log lines', () => {
  it('takes the level out and keeps the context', () => {
    assert.deepEqual(parseLogLine('[h264 @ 0x55e4] [error] error while decoding MB 0 6\r'), { level: 'error', line: '[h264 @ 0x55e4] error while decoding MB 0 6' });
    assert.deepEqual(parseLogLine('[warning] exam.mp4: corrupt decoded frame in stream 0'), { level: 'warning', line: 'exam.mp4: corrupt decoded frame in stream 0' });
    assert.deepEqual(parseLogLine('plain text'), { level: 'info', line: 'plain text' });
    assert.equal(parseLogLine('[info]   '), undefined);
  });

  it("counts FFmpeg's one report per damaged frame, not the decoder's detail lines", () => {
    const lines = [
      '[h264 @ 0x1] left block unavailable for requested intra mode',
      '[h264 @ 0x1] error while decoding MB 0 5',
      '[h264 @ 0x1] concealing 79 DC, 79 AC, 79 MV errors in I frame',
      '/data/exam 1.mp4: corrupt decoded frame in stream 0',
      '[h264 @ 0x2] Invalid NAL unit size (218971762 > 1843).',
      '[h264 @ 0x2] Error splitting the input into NAL units.',
      'Error while decoding stream #0:0: Invalid data found when processing input',
    ];
    assert.deepEqual(lines.map(damagedFrame).filter((x) => x !== undefined), ['concealed', 'undecodable']);
  });

  it('tells a truncated MP4 from its partial-file line', () => {
    assert.equal(isTruncated('[mov,mp4,m4a,3gp,3g2,mj2 @ 0x55e2] stream 0, offset 0x20b97: partial file'), true);
    assert.equal(isTruncated('[h264 @ 0x1] error while decoding MB 0 5'), false);
  });

  it("reads the frame number and pts of showinfo's lines only", () => {
    assert.deepEqual(showinfoFrame('[Parsed_showinfo_1 @ 0x563d] n:  46 pts:  23552 pts_time:1.84    pos:    97302 fmt:rgb24 sar:0/1 s:64x64 i:P iskey:1 type:I'), { n: 46, ptsTime: 1.84 });
    assert.equal(showinfoFrame('[Parsed_showinfo_1 @ 0x563d]   color_range:unknown color_space:unknown'), undefined);
    assert.equal(showinfoFrame('[Parsed_scale_0 @ 0x1] w:160 h:120 fmt:yuv420p -> w:64 h:64'), undefined);
  });

  it('splits chunks into lines across chunk boundaries', () => {
    const s = new LineSplitter();
    assert.deepEqual(s.push('one\ntw'), ['one']);
    assert.deepEqual(s.push('o\nthree\n'), ['two', 'three']);
    assert.deepEqual(s.push(''), []);
  });

  it("reads the input's size, rate and codec from its stream line, else from the scaler's", () => {
    const r = new InputFactsReader();
    assert.equal(r.push("Input #0, mpegts, from 'udp://127.0.0.1:5000':"), undefined);
    assert.deepEqual(r.push('  Stream #0:0[0x100]: Video: h264 (Constrained Baseline) ([27][0][0][0] / 0x001B), yuv420p(progressive), 320x240, 25 fps, 25 tbr, 90k tbn'), { width: 320, height: 240, fps: 25, codec: 'h264' });
    const joined = new InputFactsReader();
    assert.equal(joined.push('  Stream #0:0[0x100]: Video: h264 ([27][0][0][0] / 0x001B), none, 30 tbr, 90k tbn'), undefined);
    assert.deepEqual(joined.push('[Parsed_scale_0 @ 0x55] w:1280 h:720 fmt:yuv420p sar:0/1 -> w:224 h:224 fmt:rgb24 sar:0/1 flags:0x2'), { width: 1280, height: 720, fps: 30, codec: 'h264' });
  });
});

describe('why FFmpeg could not open an input', () => {
  // Lines as FFmpeg 5.1 prints them (level tag taken out), for each kind of source.
  it('a missing device, file, filter or option, an unknown protocol or a bad port is permanent', () => {
    assert.deepEqual(openFailure('[video4linux2,v4l2 @ 0x5630] Cannot open video device /dev/video99: No such file or directory', 'device'), { what: 'no such capture device', permanent: true });
    assert.deepEqual(openFailure('/dev/video99: No such file or directory', 'device'), { what: 'no such capture device', permanent: true });
    assert.deepEqual(openFailure('/dev/null: Inappropriate ioctl for device', 'device'), { what: 'not a capture device', permanent: true });
    assert.deepEqual(openFailure('/tmp/exam.mp4: No such file or directory', 'file'), { what: 'no such file', permanent: true });
    assert.deepEqual(openFailure('notes.mp4: Invalid data found when processing input', 'file'), { what: 'not a video FFmpeg can read', permanent: true });
    assert.deepEqual(openFailure("[lavfi @ 0x55ad] No such filter: 'nosuchfilter'", 'lavfi'), { what: "no such filter 'nosuchfilter'", permanent: true });
    assert.deepEqual(openFailure("[Parsed_testsrc2_0 @ 0x555f] Option 'bogusopt' not found", 'lavfi'), { what: "unknown option 'bogusopt'", permanent: true });
    assert.deepEqual(openFailure('[testsrc2 @ 0x5555] Unable to parse option value "abc" as image size', 'lavfi'), { what: "'abc' is not a valid image size", permanent: true });
    assert.deepEqual(openFailure('nosuchfilter=x: Invalid argument', 'lavfi'), { what: 'invalid argument', permanent: true });
    assert.deepEqual(openFailure('[tcp @ 0x55fd] Port missing in uri', 'url'), { what: 'no valid port in the URL', permanent: true });
    assert.deepEqual(openFailure('rtsp://127.0.0.1:99999/x: Invalid argument', 'url'), { what: 'invalid argument', permanent: true });
    assert.deepEqual(openFailure('notaprotocol://x: Protocol not found', 'file'), { what: 'unknown protocol', permanent: true });
    assert.deepEqual(openFailure("Stream map '0:v:0' matches no streams.", 'file'), { what: 'no video stream', permanent: true });
    assert.deepEqual(openFailure('id3-only.mp4: Invalid argument', 'file'), { what: 'not a video FFmpeg can read', permanent: true });
  });

  it('a network source that refuses, does not resolve or sends nothing may come up later', () => {
    assert.deepEqual(openFailure('[tcp @ 0x55fb] Failed to resolve hostname nonexistent.invalid: Name or service not known', 'url'), { what: 'cannot resolve host nonexistent.invalid', permanent: false });
    assert.deepEqual(openFailure('rtsp://127.0.0.1:1/x: Connection refused', 'url'), { what: 'connection refused', permanent: false });
    assert.deepEqual(openFailure('udp://127.0.0.1:5000: Input/output error', 'url'), { what: 'no data', permanent: false });
    assert.deepEqual(openFailure('[http @ 0x55] Server returned 404 Not Found', 'url'), { what: 'the server answered 404 Not Found', permanent: false });
    // A path that happens to be missing on the server is not a missing local file.
    assert.equal(openFailure('http://h/x.mp4: No such file or directory', 'url'), undefined);
    assert.equal(openFailure('[h264 @ 0x55] error while decoding MB 0 6', 'url'), undefined);
  });
});
