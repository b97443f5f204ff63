/**
 * Helpers for the streaming pipeline's tests: small generated clips (cached per test process), a
 * fake segmenter with a fixed cost per frame (no model needed), frame counting with ffprobe.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { FloatMap, RgbImage } from '../../src/core/image.js';
import type { Frame } from '../../src/pipeline/frame.js';
import { writeSyntheticClip } from '../../src/pipeline/synthetic-clip.js';
import { PACKAGE_ROOT as ROOT } from '../../src/segmenter/model-registry.js';
import type { Segmenter } from '../../src/segmenter/segmenter.js';

const run = promisify(execFile);

export const TMP = mkdtempSync(path.join(os.tmpdir(), 'sgus-pipeline-test-'));

const clips = new Map<string, Promise<string>>();

/** A synthetic H.264 MP4 (no B-frames), generated once per process per shape. */
export function clip(options: { width?: number; height?: number; fps?: number; seconds?: number } = {}): Promise<string> {
  const w = options.width ?? 160;
  const h = options.height ?? 120;
  const fps = options.fps ?? 25;
  const s = options.seconds ?? 2;
  const key = `${w}x${h}@${fps}x${s}`;
  let p = clips.get(key);
  if (p === undefined) {
    p = writeSyntheticClip({ path: path.join(TMP, `clip-${key}.mp4`), width: w, height: h, fps, seconds: s }).then((r) => r.path);
    clips.set(key, p);
  }
  return p;
}

/** Frames in a video as decoded by ffprobe (-count_frames). */
export async function countFrames(file: string): Promise<number> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=nb_read_frames', '-of', 'csv=p=0', file]);
  return Number(stdout.trim());
}

/**
 * A segmenter without a model: the "gland" is where the picture is brighter than its mean, after a
 * fixed delay per batch plus per frame (an engine of known speed). Records batch sizes. `blocking`:
 * the delay is spent on the main thread (a heavy post-processing, a loaded machine), so the event
 * loop reads no pipe meanwhile and FFmpeg's writes back up.
 */
export function fakeSegmenter(options: { msPerBatch?: number; msPerFrame?: number; blocking?: boolean } = {}): Segmenter & { batches: number[] } {
  const batches: number[] = [];
  const probabilities = async (images: readonly RgbImage[]): Promise<FloatMap[]> => {
    batches.push(images.length);
    const ms = (options.msPerBatch ?? 0) + (options.msPerFrame ?? 0) * images.length;
    if (ms > 0 && options.blocking === true) {
      const until = performance.now() + ms;
      while (performance.now() < until);
    } else if (ms > 0) await new Promise((r) => setTimeout(r, ms));
    return images.map((img) => {
      const n = img.width * img.height;
      let mean = 0;
      for (let i = 0; i < n; i++) mean += img.data[i * 3]!;
      mean /= n;
      const data = new Float32Array(n);
      for (let i = 0; i < n; i++) data[i] = img.data[i * 3]! > mean * 1.3 ? 1 : 0;
      return { width: img.width, height: img.height, data };
    });
  };
  return {
    batches,
    card: { name: 'fake', input: { width: 64, height: 64 }, output: { name: 'logits', kind: 'logits', classes: ['background', 'gland'] } } as unknown as Segmenter['card'],
    modelPath: 'fake',
    engineInfo: { engine: 'onnxruntime', device: 'cpu', providers: ['cpu'], threads: 1, reason: 'fake' },
    probabilities,
    segment: () => Promise.reject(new Error('not used')),
    segmentBatch: () => Promise.reject(new Error('not used')),
    close: () => Promise.resolve(),
  };
}

/** A minimal frame for stage tests. */
export function fakeFrame(streamId: string, index: number, captureTs = performance.timeOrigin + performance.now()): Frame {
  return { streamId, index, pts: index / 25, captureTs, sourceWidth: 8, sourceHeight: 8, pixels: { width: 8, height: 8, data: new Uint8Array(8 * 8 * 3) } };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Runs `sgus` from source through tsx (no build needed); SIGINT after `interruptAfterMs` if given. */
export function runSgus(args: string[], options: { timeoutMs?: number; interruptAfterMs?: number; onStderr?: (text: string) => void } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src', 'cli', 'main.ts'), ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      options.onStderr?.(stderr);
    });
    const kill = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 90_000);
    const int = options.interruptAfterMs !== undefined ? setTimeout(() => child.kill('SIGINT'), options.interruptAfterMs) : undefined;
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(kill);
      clearTimeout(int);
      resolve({ code, stdout, stderr });
    });
  });
}

/** `--model X` for the test model, or nothing for the shipped default. */
export function modelArgs(): string[] {
  const m = process.env.SGUS_TEST_MODEL;
  return m !== undefined && m !== '' ? ['--model', m] : [];
}
