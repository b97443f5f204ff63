/**
 * The shipped command timed from outside: `sgus replay VIDEO --out DIR --max-speed` spawned as a
 * child process and timed by wall clock from just before the spawn to its exit, so Node's start-up,
 * module loading, the model's session, FFmpeg's start and the outputs' finalisation all count, as
 * they do for a user. Start-up (command start → first frame segmented) is when the child's NDJSON
 * file first holds a line: the NDJSON sink writes each frame as it leaves post-processing, so no
 * hook inside the command is needed.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrorCode, SgusError } from '../errors.js';
import { PACKAGE_ROOT } from '../segmenter/model-registry.js';

export interface ReplayChildOptions {
  video: string;
  /** Model name or card path, as `--model` takes it. */
  model: string;
  batch: number;
  threads: number;
  /** false: `--no-video` (NDJSON and metrics only). */
  annotated: boolean;
  /** The annotated video's long side, px (the child's --video-size); default the source's size. */
  videoLongSide?: number;
  /** Kill the child after this long. Default 30 min. */
  timeoutMs?: number;
}

export interface ReplayChildResult {
  /** 'all outputs' or 'no annotated video'. */
  outputs: string;
  /** The annotated video's long side when it was scaled down. */
  videoLongSide?: number;
  model: string;
  frames: number;
  /** Wall clock, spawn → exit. */
  seconds: number;
  /** frames / wall seconds. */
  fps: number;
  /** The command's own figure (its pipeline's run, without start-up and finalisation). */
  pipelineFps: number | undefined;
  /** Spawn → first NDJSON line written, s; undefined when it was not seen. */
  startupS: number | undefined;
  /** Bytes of the annotated MP4, when written. */
  videoBytes: number | undefined;
}

/** The `sgus` entry point to spawn: the built one (dist/) when present, else this tree's through tsx. */
function entry(): { argv: string[] } {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.js')) return { argv: [path.join(path.dirname(here), '..', 'cli', 'main.js')] };
  const built = path.join(PACKAGE_ROOT, 'dist', 'cli', 'main.js');
  if (existsSync(built)) return { argv: [built] };
  return { argv: [...process.execArgv, path.join(path.dirname(here), '..', 'cli', 'main.ts')] };
}

export async function runReplayChild(o: ReplayChildOptions): Promise<ReplayChildResult> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sgus-bench-replay-'));
  const stem = path.basename(o.video).replace(/\.[^.]*$/, '').replace(/[^\w.@+-]+/g, '_') || 'stream';
  const ndjson = path.join(dir, `${stem}.contours.ndjson`);
  const args = [...entry().argv, 'replay', o.video, '--out', dir, '--max-speed', '--quiet', '--model', o.model, '--batch', String(o.batch), '--threads', String(o.threads), ...(o.annotated ? (o.videoLongSide !== undefined ? ['--video-size', String(o.videoLongSide)] : []) : ['--no-video'])];
  try {
    const t0 = performance.now();
    let startupS: number | undefined;
    // Polled, not fs.watch: the file does not exist yet and a watch on the folder fires on its creation, not its first line.
    let polling = false;
    const poll = setInterval(() => {
      if (startupS !== undefined || polling) return;
      polling = true;
      const t = performance.now();
      stat(ndjson)
        .then((s) => {
          if (s.size > 0 && startupS === undefined) startupS = (t - t0) / 1000;
        })
        .catch(() => undefined)
        .finally(() => (polling = false));
    }, 5);
    const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
      // The video's size is the command's own option: the environment must not set it for the other runs.
      const env = { ...process.env };
      delete env.SGUS_ANNOTATED_LONG_SIDE;
      const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'], env });
      let err = '';
      child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-2000)));
      const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 30 * 60_000);
      child.once('error', (e) => {
        clearTimeout(timer);
        reject(new SgusError(ErrorCode.SourceFailure, `cannot run sgus replay: ${e.message}`, { where: o.video }));
      });
      child.once('close', (c) => {
        clearTimeout(timer);
        resolve({ code: c, stderr: err });
      });
    });
    const seconds = (performance.now() - t0) / 1000;
    clearInterval(poll);
    if (code !== 0) throw new SgusError(ErrorCode.SourceFailure, `sgus replay exited with code ${String(code)}: ${stderr.trim().split('\n').pop() ?? ''}`, { where: o.video });
    const metrics = JSON.parse(await readFile(path.join(dir, `${stem}.metrics.json`), 'utf8')) as { fps?: number; streams?: Array<{ framesOut?: number }> };
    const frames = metrics.streams?.[0]?.framesOut ?? 0;
    const videoBytes = o.annotated ? (await stat(path.join(dir, `${stem}.annotated.mp4`)).catch(() => undefined))?.size : undefined;
    return {
      outputs: o.annotated ? 'all outputs' : 'no annotated video',
      ...(o.annotated && o.videoLongSide !== undefined ? { videoLongSide: o.videoLongSide } : {}),
      model: o.model,
      frames,
      seconds: round(seconds),
      fps: round(seconds > 0 ? frames / seconds : 0),
      pipelineFps: metrics.fps,
      startupS: startupS !== undefined ? Math.round(startupS * 1000) / 1000 : undefined,
      videoBytes,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function round(v: number): number {
  return Math.round(v * 100) / 100;
}
