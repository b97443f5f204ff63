/**
 * The peer measured in the same run: scripts/opencv-peer.py (the seed's video mode in OpenCV:
 * VideoCapture, cv2.dnn frame by frame, findContours, drawContours, VideoWriter) on the same video
 * and model, as a child process. A peer that cannot run (no Python, no cv2, a model cv2.dnn refuses)
 * is a reason, never an error of the benchmark.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PACKAGE_ROOT } from '../segmenter/model-registry.js';

export const PEER_SCRIPT = path.join(PACKAGE_ROOT, 'scripts', 'opencv-peer.py');

export interface OpenCvPeerOptions {
  video: string;
  /** The model's card.json (the script reads its pre-processing and model file from it). */
  cardPath: string;
  threads: number;
  /** Stop after this many frames; 0: the whole video. */
  maxFrames: number;
  /** Python with cv2. Default $SGUS_BENCH_PYTHON or /usr/bin/python3. */
  python?: string;
  /** Kill it after this long. Default 30 min. */
  timeoutMs?: number;
}

export type OpenCvPeerResult =
  | { ok: true; frames: number; seconds: number; fps: number; firstFrameS: number | undefined; opencv: string }
  | { ok: false; reason: string };

export async function runOpenCvPeer(o: OpenCvPeerOptions): Promise<OpenCvPeerResult> {
  const python = o.python ?? process.env.SGUS_BENCH_PYTHON ?? '/usr/bin/python3';
  if (!existsSync(PEER_SCRIPT)) return { ok: false, reason: `${PEER_SCRIPT} is missing` };
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sgus-bench-peer-'));
  try {
    const args = [PEER_SCRIPT, '--video', o.video, '--card', o.cardPath, '--out', path.join(dir, 'peer.annotated.mp4'), '--threads', String(o.threads), '--max-frames', String(o.maxFrames)];
    const r = await new Promise<{ code: number | null; stdout: string; stderr: string; spawnError?: string }>((resolve) => {
      const child = spawn(python, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
      const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 30 * 60_000);
      child.once('error', (e) => {
        clearTimeout(timer);
        resolve({ code: null, stdout, stderr, spawnError: e.message });
      });
      child.once('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });
    if (r.spawnError !== undefined) return { ok: false, reason: `cannot run ${python}: ${r.spawnError}` };
    const last = r.stdout.trim().split('\n').pop() ?? '';
    let j: { frames?: number; seconds?: number; fps?: number; firstFrameS?: number | null; opencv?: string; error?: string };
    try {
      j = JSON.parse(last) as typeof j;
    } catch {
      return { ok: false, reason: `the peer exited with code ${String(r.code)} without a result (${r.stderr.trim().split('\n').pop() ?? 'no output'})` };
    }
    if (typeof j.error === 'string') return { ok: false, reason: j.error };
    if (r.code !== 0 || typeof j.fps !== 'number') return { ok: false, reason: `the peer exited with code ${String(r.code)}` };
    return { ok: true, frames: j.frames ?? 0, seconds: j.seconds ?? 0, fps: j.fps, firstFrameS: j.firstFrameS ?? undefined, opencv: j.opencv ?? '?' };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
