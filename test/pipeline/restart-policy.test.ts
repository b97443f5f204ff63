import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { shouldRestart } from '../../src/pipeline/restart-policy.js';
import type { RunEnd } from '../../src/pipeline/restart-policy.js';

const file = { type: 'file', path: 'exam.mp4' } as const;
const udp = { type: 'url', url: 'udp://127.0.0.1:5000' } as const;
const device = { type: 'device', path: '/dev/video0' } as const;
const end = (o: Partial<RunEnd>): RunEnd => ({ mode: 'live', loop: false, source: udp, reason: 'ffmpeg exited with signal SIGKILL', permanent: false, deliveredFrames: true, ...o });

describe('whether a source restarts when its FFmpeg run ends', () => {
  it('a looping replay whose FFmpeg died restarts; a plain replay, or one that never played, does not', () => {
    assert.equal(shouldRestart(end({ mode: 'replay', loop: true, source: file })), true);
    assert.equal(shouldRestart(end({ mode: 'replay', loop: false, source: file })), false);
    assert.equal(shouldRestart(end({ mode: 'replay', loop: true, source: file, deliveredFrames: false })), false);
    assert.equal(shouldRestart(end({ mode: 'replay', loop: true, source: file, reason: undefined })), false, 'a normal end is an end');
  });

  it('live restarts on any failure and at the end of a network stream or device, not at the end of a file', () => {
    assert.equal(shouldRestart(end({ source: udp })), true);
    assert.equal(shouldRestart(end({ source: udp, reason: undefined })), true);
    assert.equal(shouldRestart(end({ source: device, reason: undefined })), true);
    assert.equal(shouldRestart(end({ source: file, reason: undefined })), false);
    assert.equal(shouldRestart(end({ source: file })), true);
  });

  it('a permanent failure is fatal before the first frame, an outage like any other after it', () => {
    assert.equal(shouldRestart(end({ source: device, permanent: true, deliveredFrames: false })), false);
    assert.equal(shouldRestart(end({ source: device, permanent: true, deliveredFrames: true })), true, 'a device unplugged mid-exam may come back');
    assert.equal(shouldRestart(end({ source: udp, permanent: false, deliveredFrames: false })), true, 'nobody sending yet');
  });
});
