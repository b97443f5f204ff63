import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { copyFile, stat, truncate } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { lastValueFrom, tap, toArray } from 'rxjs';
import { FfmpegSource, runningFfmpegCount } from '../../src/pipeline/ffmpeg-source.js';
import type { Frame } from '../../src/pipeline/frame.js';
import { probeVideo } from '../../src/pipeline/probe.js';
import { corruptedCopy, truncatedCopy } from '../helpers/damaged-clip.js';
import { clip, countFrames, sleep, TMP } from '../helpers/pipeline.js';

/** A killed process's exit arrives asynchronously: wait for it (up to 3 s on a loaded machine). */
async function noFfmpegLeft(): Promise<void> {
  const t0 = Date.now();
  while (runningFfmpegCount() > 0 && Date.now() - t0 < 3000) await sleep(50);
  assert.equal(runningFfmpegCount(), 0, 'every FFmpeg started was stopped');
}

describe('FfmpegSource', () => {
  it('emits every frame of a file at the model size, with source size, index, pts and capture time', async () => {
    const file = await clip();
    const src = new FfmpegSource({ source: { type: 'file', path: file }, modelWidth: 64, modelHeight: 48 });
    const frames = await lastValueFrom(src.frames().pipe(tap(() => src.release()), toArray()));
    assert.equal(frames.length, await countFrames(file));
    const f = frames[10]!;
    assert.equal(f.index, 10);
    // FFmpeg's own timestamp (showinfo), in floating point: 10 frames at 25 fps.
    assert.ok(Math.abs(f.pts - 10 / 25) < 1e-9, `pts ${f.pts}`);
    assert.equal(f.pixels.width, 64);
    assert.equal(f.pixels.data.length, 64 * 48 * 3);
    assert.equal(f.sourceWidth, 160);
    assert.equal(f.sourceHeight, 120);
    assert.ok(f.captureTs <= f.decodedTs! && f.captureTs > Date.now() - 60_000);
    assert.equal(runningFfmpegCount(), 0);
  });

  it('joins viewer H.264 (passed through) and full-size frames to the same picture, one access unit per frame', async () => {
    const file = await clip();
    const probe = await probeVideo(file);
    const src = new FfmpegSource({ source: { type: 'file', path: file }, modelWidth: 32, modelHeight: 32, view: 'auto', fullFrames: true, known: probe });
    const started: string[] = [];
    src.on('started', (i) => started.push(i.viewMode));
    const frames = await lastValueFrom(src.frames().pipe(tap(() => src.release()), toArray()));
    assert.deepEqual(started, ['copy']);
    assert.equal(frames.length, 50);
    assert.ok(frames.every((f) => f.view?.codec === 'h264' && f.full?.format === 'yuv420p' && f.full.data.length === 160 * 120 * 1.5));
    assert.equal(frames[0]!.view!.key, true);
    assert.match(frames[0]!.view!.codecString ?? '', /^avc1\.42/);
    const { stdout } = await promisify(execFile)('ffprobe', ['-v', 'error', '-select_streams', 'v', '-show_entries', 'frame=key_frame', '-of', 'json', file]);
    const keys = (JSON.parse(stdout) as { frames: { key_frame: number }[] }).frames.map((f, i) => (f.key_frame === 1 ? i : -1)).filter((i) => i >= 0);
    assert.deepEqual(frames.filter((f) => f.view!.key).map((f) => f.index), keys, 'key flags on the same pictures as in the file');
  });

  it('pauses decoding while highWaterMark frames are unreleased (replay flow control)', async () => {
    const file = await clip();
    const src = new FfmpegSource({ source: { type: 'file', path: file }, modelWidth: 32, modelHeight: 32, highWaterMark: 3, fullFrames: true });
    const got: Frame[] = [];
    const sub = src.frames().subscribe((f) => got.push(f));
    await sleep(1500);
    assert.equal(got.length, 3, 'no frame beyond the credits');
    src.release(3);
    await sleep(800);
    assert.equal(got.length, 6);
    sub.unsubscribe();
    await noFfmpegLeft();
  });

  it('in replay, a killed FFmpeg is a fatal error naming the stream and the cause', async () => {
    const file = await clip({ seconds: 4 });
    const src = new FfmpegSource({ streamId: 'exam', source: { type: 'file', path: file }, realtime: true, modelWidth: 32, modelHeight: 32 });
    let n = 0;
    const p = lastValueFrom(src.frames().pipe(tap(() => {
      src.release();
      if (++n === 5) process.kill(src.pid!, 'SIGKILL');
    })));
    await assert.rejects(p, (err: Error & { code?: string }) => {
      assert.equal(err.code, 'source-failure');
      assert.match(err.message, /^exam \(.*clip-.*\.mp4\): ffmpeg exited with signal SIGKILL/);
      return true;
    });
  });

  it('in live mode, a killed FFmpeg reconnects with backoff and the frame index keeps counting', async () => {
    const src = new FfmpegSource({ mode: 'live', source: { type: 'lavfi', graph: 'testsrc2=size=160x120:rate=25' }, realtime: true, modelWidth: 32, modelHeight: 32, reconnectInitialMs: 100 });
    const reconnects: string[] = [];
    src.on('reconnecting', (i) => reconnects.push(`${i.attempt}:${i.delayMs}:${i.reason}`));
    const frames: Frame[] = [];
    let killed = false;
    const sub = src.frames().subscribe((f) => {
      frames.push(f);
      if (frames.length === 5 && !killed) {
        killed = true;
        process.kill(src.pid!, 'SIGKILL');
      }
    });
    const t0 = Date.now();
    while (frames.length < 15 && Date.now() - t0 < 10_000) await sleep(50);
    sub.unsubscribe();
    assert.deepEqual(reconnects, ['1:100:ffmpeg exited with signal SIGKILL']);
    assert.ok(frames.length >= 15);
    assert.deepEqual(frames.map((f) => f.index), frames.map((_, i) => i));
    await noFfmpegLeft();
  });

  it('a live source with no data for stallTimeoutS restarts', async () => {
    // UDP port nobody sends to: FFmpeg waits for data forever; the watchdog must notice.
    const src = new FfmpegSource({ mode: 'live', source: { type: 'url', url: 'udp://127.0.0.1:45991' }, stallTimeoutS: 0.5, startTimeoutS: 0.5, reconnectInitialMs: 50, maxReconnects: 1, modelWidth: 32, modelHeight: 32 });
    const reasons: string[] = [];
    src.on('reconnecting', (i) => reasons.push(i.reason));
    await assert.rejects(lastValueFrom(src.frames()), /gave up after 1 reconnects/);
    assert.ok(reasons.length === 1 && /no picture within 0.5 s|ffmpeg exited/.test(reasons[0]!), reasons.join());
    await noFfmpegLeft();
  });

  it('many failed reconnects leave no listeners behind and raise no listener warning', async () => {
    // An FFmpeg that exits at once: every run fails before it starts.
    const src = new FfmpegSource({ mode: 'live', source: { type: 'lavfi', graph: 'testsrc2' }, ffmpegPath: '/bin/false', reconnectInitialMs: 1, reconnectMaxMs: 1, maxReconnects: 25, modelWidth: 32, modelHeight: 32 });
    const counts: number[] = [];
    src.on('reconnecting', () => counts.push(src.listenerCount('started') + src.listenerCount('ended')));
    const warnings: string[] = [];
    const onWarning = (w: Error): void => void warnings.push(w.name);
    process.on('warning', onWarning);
    try {
      await assert.rejects(lastValueFrom(src.frames()), /gave up after 25 reconnects/);
    } finally {
      process.off('warning', onWarning);
    }
    assert.equal(counts.length, 25);
    assert.ok(counts.every((n) => n === 0), `listeners per reconnect: ${counts.join()}`);
    assert.equal(src.listenerCount('started'), 0);
    assert.deepEqual(warnings.filter((w) => w === 'MaxListenersExceededWarning'), []);
    await noFfmpegLeft();
  });

  it('a live source that cannot open for good (missing device, invalid filter or option) fails at once, without a retry', async () => {
    for (const [source, message] of [
      [{ type: 'device', path: '/dev/video99' }, 'live (/dev/video99): cannot open: no such capture device'],
      [{ type: 'lavfi', graph: 'nosuchfilter=x' }, "live (lavfi:nosuchfilter=x): cannot open: no such filter 'nosuchfilter'"],
      [{ type: 'lavfi', graph: 'testsrc2=bogusopt=3' }, "live (lavfi:testsrc2=bogusopt=3): cannot open: unknown option 'bogusopt'"],
      [{ type: 'url', url: 'rtsp://127.0.0.1:99999/x' }, 'live (rtsp://127.0.0.1:99999/x): cannot open: no valid port in the URL'],
    ] as const) {
      // Bounded, so that a source that retries fails the test instead of hanging it.
      const src = new FfmpegSource({ mode: 'live', source, reconnectInitialMs: 50, maxReconnects: 3, modelWidth: 32, modelHeight: 32 });
      const reconnects: string[] = [];
      const logs: string[] = [];
      src.on('reconnecting', (i) => reconnects.push(i.reason));
      src.on('log', (l) => logs.push(l));
      await assert.rejects(lastValueFrom(src.frames()), (err: Error & { code?: string }) => {
        assert.equal(err.code, 'source-failure');
        assert.equal(err.message, message);
        return true;
      });
      assert.deepEqual(reconnects, [], `${message}: no retry`);
      assert.deepEqual(logs, [], 'FFmpeg\'s lines are the error, not log lines besides it');
    }
    await noFfmpegLeft();
  });

  it('a live network source nobody sends to keeps retrying, its reason without FFmpeg\'s socket options', async () => {
    const src = new FfmpegSource({ mode: 'live', source: { type: 'url', url: 'udp://127.0.0.1:45993' }, stallTimeoutS: 0.5, startTimeoutS: 5, reconnectInitialMs: 50, maxReconnects: 2, modelWidth: 32, modelHeight: 32 });
    const reasons: string[] = [];
    src.on('reconnecting', (i) => reasons.push(i.reason));
    await assert.rejects(lastValueFrom(src.frames()), /gave up after 2 reconnects/);
    assert.deepEqual(reasons, ['cannot open: no data', 'cannot open: no data']);
    await noFfmpegLeft();
  });

  it('a truncated file ends cleanly with the frames before the cut', async () => {
    const file = await clip();
    const cut = path.join(TMP, 'truncated.mp4');
    await copyFile(file, cut);
    // faststart puts the index first, so the cut loses only the tail frames.
    await truncate(cut, Math.floor((await stat(cut)).size * 0.6));
    const src = new FfmpegSource({ source: { type: 'file', path: cut }, modelWidth: 32, modelHeight: 32 });
    const frames = await lastValueFrom(src.frames().pipe(tap(() => src.release()), toArray()));
    assert.ok(frames.length > 10 && frames.length < 50, `${frames.length} frames`);
  });

  it('close() is safe twice and a missing file is a one-line error naming it', async () => {
    const src = new FfmpegSource({ source: { type: 'file', path: '/nonexistent/exam.mp4' } });
    await assert.rejects(lastValueFrom(src.frames()), (err: Error) => {
      assert.equal(err.message, 'replay (/nonexistent/exam.mp4): cannot open: no such file');
      assert.ok(!err.message.includes('\n'));
      return true;
    });
    src.close();
    src.close();
  });
});

describe('FfmpegSource on a damaged recording', () => {
  it('counts every frame FFmpeg reports damaged as corrupt and warns once per gap in the timestamps', async () => {
    const file = await corruptedCopy(await clip({ seconds: 4 }), path.join(TMP, 'corrupted.mp4'));
    const src = new FfmpegSource({ source: { type: 'file', path: file }, modelWidth: 32, modelHeight: 32 });
    const warnings: string[] = [];
    src.on('warning', (l) => warnings.push(l));
    // FFmpeg's own report, one line per damaged frame, as this very FFmpeg logged it.
    let reported = 0;
    src.on('log', (l) => {
      if (/: corrupt decoded frame in stream \d+$|^Error while decoding stream #/.test(l)) reported++;
    });
    const frames = await lastValueFrom(src.frames().pipe(tap(() => src.release()), toArray()));
    assert.ok(reported > 0, 'the scrambled bytes damage frames');
    assert.equal(src.corrupt, reported, `FFmpeg reported ${reported} damaged frames`);
    assert.ok(frames.length < 100, `${frames.length} frames`);
    // A frame FFmpeg could not decode leaves a hole in the timestamps: warned, counted, and the pts say so.
    const holes = frames.filter((f, i) => i > 0 && f.pts - frames[i - 1]!.pts > 1.5 / 25);
    assert.ok(holes.length >= 1, 'the pts show the hole');
    assert.equal(warnings.length, holes.length, warnings.join(' | '));
    const missing = holes.map((f) => Math.round((f.pts - frames[f.index - 1]!.pts) * 25) - 1);
    assert.match(warnings[0]!, new RegExp(`^${missing[0]!} frames? missing before frame ${holes[0]!.index} \\(timestamps jump from [\\d.]+ s to [\\d.]+ s\\)$`));
    assert.equal(src.missing, missing.reduce((a, b) => a + b, 0));
    assert.equal(frames.length + src.missing, 100, 'every frame of the clip is either delivered or counted missing');
    assert.equal(src.truncated, false);
  });

  it('a truncated file says so (truncated) besides ending with the frames before the cut', async () => {
    const file = await truncatedCopy(await clip({ seconds: 4 }), path.join(TMP, 'cut-60.mp4'));
    const src = new FfmpegSource({ source: { type: 'file', path: file }, modelWidth: 32, modelHeight: 32 });
    const frames = await lastValueFrom(src.frames().pipe(tap(() => src.release()), toArray()));
    assert.ok(frames.length > 30 && frames.length < 100, `${frames.length} frames`);
    assert.equal(src.truncated, true);
  });
});
