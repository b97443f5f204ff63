/**
 * FfmpegSource's replay controls on a real FFmpeg and a clip the project generates: pause holds the
 * frames, a step lets exactly one out, a seek restarts at the frame of that time with the file's
 * index and pts, a step back shows the frame before, and a faster speed reads faster. Skips without FFmpeg.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FfmpegSource } from '../../src/pipeline/ffmpeg-source.js';
import type { Frame } from '../../src/pipeline/frame.js';
import { writeSyntheticClip } from '../../src/pipeline/synthetic-clip.js';
import { hasFfmpeg } from '../helpers/synthetic-stream.js';
import { SgusError } from '../../src/errors.js';

const FPS = 25;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(what: () => boolean, label: string, timeoutMs = 10000): Promise<void> {
  const t0 = Date.now();
  while (!what()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${label}`);
    await sleep(20);
  }
}

describe('FfmpegSource replay controls', { skip: hasFfmpeg() ? false : 'no ffmpeg' }, () => {
  let dir = '';
  let clip = '';
  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'sgus-source-controls-'));
    clip = path.join(dir, 'clip.mp4');
    await writeSyntheticClip({ path: clip, width: 160, height: 120, fps: FPS, seconds: 8, seed: 5 });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  function open(realtime = true, file = clip, holdAtEnd = false): { src: FfmpegSource; frames: Frame[]; ended: () => boolean } {
    const src = new FfmpegSource({ source: { type: 'file', path: file }, realtime, holdAtEnd, view: 'auto', known: { width: 160, height: 120, fps: FPS, codec: 'h264', hasBFrames: true } });
    const frames: Frame[] = [];
    let ended = false;
    src.frames().subscribe({
      next: (f) => {
        frames.push(f);
        src.release();
      },
      error: () => undefined,
      complete: () => (ended = true),
    });
    return { src, frames, ended: () => ended };
  }

  it('pause holds, step lets one frame out, seek lands on the frame of t with its index and pts, step back shows the one before', async () => {
    const { src, frames } = open();
    try {
      await until(() => frames.length >= 10, '10 frames');
      src.control({ action: 'pause' });
      await sleep(300);
      const n = frames.length;
      await sleep(600);
      assert.equal(frames.length, n, 'no frame while paused');
      const last = frames.at(-1)!.index;
      src.control({ action: 'step' });
      await until(() => frames.length === n + 1, 'the stepped frame');
      await sleep(300);
      assert.equal(frames.length, n + 1, 'exactly one');
      assert.equal(frames.at(-1)!.index, last + 1);

      const state = src.control({ action: 'seek', t: 3 });
      assert.equal(state.paused, true);
      assert.equal(state.index, 3 * FPS);
      await until(() => frames.at(-1)!.index === 3 * FPS, 'the frame at 3 s');
      const f = frames.at(-1)!;
      assert.ok(Math.abs(f.pts - 3) < 1e-6, `pts ${f.pts}`);
      assert.equal(f.epoch, state.epoch, 'frames after the seek carry its epoch');
      await sleep(400);
      assert.equal(frames.at(-1)!.index, 3 * FPS, 'a paused seek shows one frame');

      src.control({ action: 'step', frames: -1 });
      await until(() => frames.at(-1)!.index === 3 * FPS - 1, 'the frame before');
      assert.ok(Math.abs(frames.at(-1)!.pts - (3 * FPS - 1) / FPS) < 1e-6);

      src.control({ action: 'play' });
      await until(() => frames.at(-1)!.index >= 3 * FPS + 5, 'playing on');
      const run = frames.filter((x) => x.epoch === src.playback.epoch).map((x) => x.index);
      assert.deepEqual(run, run.map((_, i) => run[0]! + i), 'consecutive indices after play');
      assert.equal(run[0], 3 * FPS, 'play goes on right after the frame shown');
    } finally {
      src.close();
    }
  });

  it('reads about twice as many frames a second at 2x as at 1x', async () => {
    const { src, frames } = open();
    try {
      await until(() => frames.length >= 3, 'first frames');
      const rate = async (): Promise<number> => {
        await sleep(300);
        const a = frames.at(-1)!.pts;
        const t0 = Date.now();
        await sleep(1500);
        return (frames.at(-1)!.pts - a) / ((Date.now() - t0) / 1000);
      };
      const one = await rate();
      src.control({ action: 'speed', speed: 2 });
      const two = await rate();
      assert.ok(two >= 1.5 * one, `2x: ${two.toFixed(2)} s of pts a second, 1x: ${one.toFixed(2)}`);
    } finally {
      src.close();
    }
  });

  it('held at its end, keeps the last frame paused: a seek and a step back still show frames, play starts again, close ends it', async () => {
    const short = path.join(dir, 'short.mp4');
    await writeSyntheticClip({ path: short, width: 160, height: 120, fps: FPS, seconds: 1, seed: 6 });
    const { src, frames, ended } = open(true, short, true);
    let held: number | undefined;
    src.on('held', (pb) => (held = pb.index));
    try {
      await until(() => held !== undefined, 'the end held', 15000);
      assert.equal(held, FPS - 1, 'held at the last frame');
      assert.equal(frames.length, FPS);
      assert.deepEqual({ paused: src.playback.paused, index: src.playback.index }, { paused: true, index: FPS - 1 });
      assert.equal(src.reachedEnd, true);
      await sleep(300);
      assert.equal(ended(), false, 'the stream goes on');
      assert.throws(() => src.control({ action: 'step' }), /end of the file/);

      held = undefined;
      const before = frames.length;
      src.control({ action: 'play' });
      await until(() => held !== undefined, 'the end held again', 15000);
      const again = frames.slice(before).map((f) => f.index);
      assert.deepEqual(again, Array.from({ length: FPS }, (_, i) => i), 'play at the end plays the exam from its start');

      src.control({ action: 'step', frames: -1 });
      await until(() => frames.at(-1)!.index === FPS - 2, 'the frame before the last');
      src.control({ action: 'seek', t: 0.4 });
      await until(() => frames.at(-1)!.index === 10, 'the frame at 0.4 s');
      await sleep(300);
      assert.equal(frames.at(-1)!.index, 10, 'still paused where the seek landed');
      assert.equal(ended(), false);
      src.close();
      assert.equal(ended(), true, 'close() ends it');
    } finally {
      src.close();
    }
  });

  it('without holdAtEnd, ends with the file', async () => {
    const short = path.join(dir, 'short2.mp4');
    await writeSyntheticClip({ path: short, width: 160, height: 120, fps: FPS, seconds: 1, seed: 7 });
    const { src, frames, ended } = open(true, short);
    try {
      await until(ended, 'the end', 15000);
      assert.equal(frames.length, FPS);
      assert.throws(() => src.control({ action: 'seek', t: 0 }), /ended/);
    } finally {
      src.close();
    }
  });

  it('refuses controls it cannot do, with a one-line reason', () => {
    const { src } = open(false);
    try {
      assert.throws(() => src.control({ action: 'pause' }), (e: unknown) => e instanceof SgusError && /--realtime/.test(e.message));
    } finally {
      src.close();
    }
    const live = new FfmpegSource({ source: { type: 'file', path: clip }, mode: 'live', realtime: true });
    assert.throws(() => live.control({ action: 'seek', t: 1 }), /only a replayed file/);
    live.close();
  });
});
