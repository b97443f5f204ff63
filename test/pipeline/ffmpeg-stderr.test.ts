import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FfmpegStderr } from '../../src/pipeline/ffmpeg-stderr.js';

// Lines as FFmpeg 5.1 prints them with -loglevel level+verbose.
const STREAM = "  Stream #0:0: Video: h264 (High) (avc1 / 0x31637661), yuv420p(progressive), 320x240, 25 fps, 25 tbr, 12800 tbn";
const SHOWINFO = (n: number, t: number): string => `[Parsed_showinfo_1 @ 0x563d] [info] n:${String(n).padStart(4)} pts:${String(Math.round(t * 12800)).padStart(7)} pts_time:${t} pos: 1 fmt:rgb24 sar:0/1 s:64x64 i:P iskey:1 type:I`;

describe('FfmpegStderr', () => {
  it("tells the input's facts once, each frame's timestamp, damaged frames and a truncated file, in line order", () => {
    const r = new FfmpegStderr();
    const news = r.push([
      "[info] Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'exam.mp4':",
      `[info] ${STREAM}`,
      '[Parsed_scale_0 @ 0x55] [verbose] w:320 h:240 fmt:yuv420p sar:0/1 -> w:224 h:224 fmt:rgb24 sar:0/1 flags:0x2',
      SHOWINFO(0, 0),
      '[warning] exam.mp4: corrupt decoded frame in stream 0',
      SHOWINFO(1, 0.04),
      '[mov,mp4,m4a,3gp,3g2,mj2 @ 0x55e2] [error] stream 0, offset 0x20b97: partial file',
      '',
    ].join('\n'));
    assert.deepEqual(news.filter((n) => n.kind !== 'log'), [
      { kind: 'facts', width: 320, height: 240, fps: 25, codec: 'h264' },
      { kind: 'pts', n: 0, ptsTime: 0 },
      { kind: 'damaged' },
      { kind: 'pts', n: 1, ptsTime: 0.04 },
      { kind: 'truncated' },
    ]);
  });

  it('reads lines split across chunks only once they are whole', () => {
    const r = new FfmpegStderr();
    const line = SHOWINFO(7, 0.28);
    assert.deepEqual(r.push(line.slice(0, 30)), []);
    assert.deepEqual(r.push(`${line.slice(30)}\n`), [{ kind: 'pts', n: 7, ptsTime: 0.28 }]);
  });

  it('holds problem lines until data flows, then relays them once and the later ones as they come', () => {
    const r = new FfmpegStderr();
    assert.deepEqual(r.push('[h264 @ 0x1] [error] non-existing PPS 0 referenced\n[info] Output #0, rawvideo, to \'pipe:1\':\n'), []);
    assert.deepEqual(r.flowing(), ['[h264 @ 0x1] non-existing PPS 0 referenced']);
    assert.deepEqual(r.flowing(), []);
    assert.deepEqual(r.push('[h264 @ 0x1] [warning] mmco: unref short failure\n[info] frame= 10\n'), [{ kind: 'log', line: '[h264 @ 0x1] mmco: unref short failure' }]);
  });

  it("keeps the first error line that says why the input cannot open (warnings never do), in the user's name for it", () => {
    const url = 'udp://127.0.0.1:5000?overrun_nonfatal=1&fifo_size=50000&timeout=5000000';
    const r = new FfmpegStderr({ sourceKind: 'url', rename: { from: url, to: 'udp://127.0.0.1:5000' } });
    r.push(`[warning] ${url}: Connection refused\n[error] ${url}: Input/output error\n[error] ${url}: Invalid argument\n`);
    assert.deepEqual(r.openFailure, { what: 'no data', permanent: false });
    assert.equal(r.lastProblem, 'udp://127.0.0.1:5000: Invalid argument');
    assert.deepEqual(r.flowing(), ['udp://127.0.0.1:5000: Connection refused', 'udp://127.0.0.1:5000: Input/output error', 'udp://127.0.0.1:5000: Invalid argument']);
  });

  it("the last problem quoted is not FFmpeg's 'Last message repeated' nor an indented detail; the tail is bounded", () => {
    const r = new FfmpegStderr({ keep: 3 });
    r.flowing();
    const lines = ['[error] first', '[error] second', '[error] third', '[error] fourth', '[error]     Last message repeated 3 times', '[error]   indented detail'];
    const news = r.push(`${lines.join('\n')}\n`);
    assert.deepEqual(news.map((n) => (n.kind === 'log' ? n.line : n.kind)), ['first', 'second', 'third', 'fourth']);
    assert.equal(r.lastProblem, 'fourth');
  });

  it('info lines are never relayed nor held', () => {
    const r = new FfmpegStderr();
    assert.deepEqual(r.push('[info] Press [q] to stop\n[verbose] detail\n'), []);
    assert.deepEqual(r.flowing(), []);
    assert.equal(r.lastProblem, undefined);
  });
});
