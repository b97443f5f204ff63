import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FFMPEG_SOURCE_DEFAULTS, resolveSourceOptions } from '../../src/pipeline/ffmpeg-source-options.js';
import type { FfmpegSourceOptions } from '../../src/pipeline/ffmpeg-source-options.js';
import { FFMPEG_SOURCE_DEFAULTS as FROM_SOURCE } from '../../src/pipeline/ffmpeg-source.js';
import { ErrorCode, isSgusError } from '../../src/errors.js';

const file = { type: 'file', path: 'exam.mp4' } as const;

describe('resolveSourceOptions', () => {
  it('applies every default: a replay of the model size, no extra outputs, the shared backoff and stall figures', () => {
    const r = resolveSourceOptions({ source: file });
    assert.equal(r.mode, 'replay');
    assert.equal(r.streamId, 'replay');
    assert.equal(r.where, 'replay (exam.mp4)');
    assert.equal(r.known, undefined);
    const { ffmpegPath, ...rest } = r.o;
    assert.equal(ffmpegPath, process.env.FFMPEG_PATH ?? 'ffmpeg');
    assert.deepEqual(rest, {
      source: file, modelWidth: 224, modelHeight: 224, realtime: false, loop: false, view: 'none', fullFrames: false, fullFormat: 'yuv420p',
      highWaterMark: FFMPEG_SOURCE_DEFAULTS.highWaterMark, stallTimeoutS: FFMPEG_SOURCE_DEFAULTS.stallTimeoutS, startTimeoutS: 20,
      reconnectInitialMs: FFMPEG_SOURCE_DEFAULTS.reconnectInitialMs, reconnectMaxMs: FFMPEG_SOURCE_DEFAULTS.reconnectMaxMs, maxReconnects: Infinity, maxLagMs: Infinity,
      // No stdin feed: FFmpeg opens the file itself (a DICOM source brings one).
      stdin: undefined,
      // A replay ends with its file unless a viewer's review asks to hold it.
      holdAtEnd: false,
    });
  });

  it('the defaults importers read from ffmpeg-source.ts are the same object', () => {
    assert.equal(FROM_SOURCE, FFMPEG_SOURCE_DEFAULTS);
  });

  it('the first-frame wait is at least the stall timeout; the stream id defaults to the mode', () => {
    const r = resolveSourceOptions({ source: file, mode: 'live', stallTimeoutS: 30 });
    assert.equal(r.o.startTimeoutS, 30);
    assert.equal(r.streamId, 'live');
    assert.equal(resolveSourceOptions({ source: file, stallTimeoutS: 30, startTimeoutS: 3 }).o.startTimeoutS, 3);
  });

  it('a wrong value is an InvalidArgument naming the stream and the option', () => {
    const bad: [Partial<FfmpegSourceOptions>, RegExp][] = [
      [{ modelWidth: 4 }, /modelWidth must be an integer >= 8/],
      [{ modelHeight: 100.5 }, /modelHeight must be an integer >= 8/],
      [{ highWaterMark: 0 }, /highWaterMark must be an integer >= 1/],
      [{ stallTimeoutS: 0 }, /stallTimeoutS must be > 0/],
      [{ fullFormat: 'nv12' as 'rgb24' }, /fullFormat must be yuv420p or rgb24, got 'nv12'/],
      [{ view: 'vp9' as 'none' }, /view must be none, auto, h264 or jpeg, got 'vp9'/],
    ];
    for (const [o, message] of bad) {
      assert.throws(() => resolveSourceOptions({ source: file, streamId: 'us1', ...o }), (e: unknown) => isSgusError(e) && e.code === ErrorCode.InvalidArgument && e.where === 'us1 (exam.mp4)' && message.test(e.message), JSON.stringify(o));
    }
    assert.throws(() => resolveSourceOptions({ source: file, mode: 'both' as 'live' }), /mode must be replay or live, got 'both'/);
    assert.throws(() => resolveSourceOptions({} as FfmpegSourceOptions), /needs a source/);
  });
});
