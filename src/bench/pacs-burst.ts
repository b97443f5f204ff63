/**
 * The PACS burst: N ultrasound images pushed to `sgus listen` in one association (dcmtk's storescu,
 * as a scanner or a PACS forwards a study), each segmented and its Segmentation and report stored on
 * a real Orthanc of our own. Measured: instances per second from the first image sent to the last
 * result stored, every result accounted for, and the receiver's peak memory (VmHWM), which a
 * bounded queue keeps flat whatever N is.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { RgbImage } from '../core/image.js';
import { newUid } from '../dicom/dicom-write.js';
import { writeUltrasoundDicom } from '../dicom/us-writer.js';
import { PACKAGE_ROOT } from '../segmenter/model-registry.js';
import { syntheticFrame } from '../synthetic/ultrasound-frame.js';
import { freePort, OrthancProcess, orthancSkip, storescu } from './orthanc-process.js';
import { stopProcess } from '../helper-process.js';

export interface PacsBurstOptions {
  /** Images pushed. Default 100. */
  instances?: number;
  /** Their size (single frames, JPEG Baseline, calibrated). Default 640x480. */
  width?: number;
  height?: number;
  /** The model `sgus listen` runs. Default: the default model. */
  model?: string;
  /** Give up waiting for the results after this many seconds. Default 600. */
  timeoutS?: number;
  /** Progress lines. Default: none. */
  onProgress?: (line: string) => void;
}

export interface PacsBurstResult {
  instances: number;
  size: string;
  model: string;
  /** Seconds from the first image sent to the last result seen in Orthanc. */
  seconds: number;
  /** Seconds storescu took to hand over all images (the receiver acknowledges once on disk). */
  receiveSeconds: number;
  instancesPerSecond: number;
  segmentationsStored: number;
  reportsStored: number;
  /** The receiver's peak resident memory, MiB (Linux VmHWM); undefined elsewhere. */
  peakRssMiB: number | undefined;
}

export type PacsBurstOutcome = { ok: true; result: PacsBurstResult } | { ok: false; reason: string };

function peakRssMiB(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m === null ? undefined : Number(m[1]) / 1024;
  } catch {
    return undefined;
  }
}

async function waitForLine(child: ChildProcess, log: () => string, re: RegExp, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!re.test(log())) {
    if (child.exitCode !== null) throw new Error(`sgus listen exited (${child.exitCode}): ${log().slice(-1000)}`);
    if (Date.now() > deadline) throw new Error(`sgus listen did not log ${re} within ${timeoutMs} ms: ${log().slice(-1000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Counts the Segmentations and reports Orthanc holds for `study` (one query, no per-instance reads). */
async function countResults(orthanc: OrthancProcess, study: string): Promise<{ seg: number; sr: number }> {
  const count = async (modality: string): Promise<number> => {
    const r = await orthanc.rest('/tools/find', { method: 'POST', body: JSON.stringify({ Level: 'Series', Query: { StudyInstanceUID: study, Modality: modality }, Expand: true }) });
    const series = (await r.json()) as Array<{ Instances: string[] }>;
    return series.reduce((n, s) => n + s.Instances.length, 0);
  };
  return { seg: await count('SEG'), sr: await count('SR') };
}

/** Runs the burst against a new Orthanc; a missing Orthanc or dcmtk is a reason, not an error. */
export async function runPacsBurst(o: PacsBurstOptions = {}): Promise<PacsBurstOutcome> {
  const skip = orthancSkip();
  if (skip !== false) return { ok: false, reason: skip };
  const n = o.instances ?? 100;
  const [w, h] = [o.width ?? 640, o.height ?? 480];
  const progress = o.onProgress ?? (() => undefined);
  const dir = mkdtempSync(path.join(tmpdir(), 'sgus-pacs-burst-'));
  let orthanc: OrthancProcess | undefined;
  let child: ChildProcess | undefined;
  try {
    const study = newUid();
    const series = newUid();
    const files: string[] = [];
    for (let i = 0; i < n; i++) {
      const image: RgbImage = syntheticFrame({ width: w, height: h, t: i * 0.04, seed: 7 }).image;
      const file = path.join(dir, `i${String(i).padStart(4, '0')}.dcm`);
      writeFileSync(file, writeUltrasoundDicom([image], { singleFrame: true, encoding: 'jpeg-baseline', calibration: { mmPerPxX: 0.1, mmPerPxY: 0.1 }, identity: { patientId: 'BURST-1', studyInstanceUid: study, seriesInstanceUid: series, sopInstanceUid: newUid() } }));
      files.push(file);
    }
    progress(`starting Orthanc and sgus listen for a burst of ${n} ${w}x${h} images`);
    orthanc = await OrthancProcess.start();
    const port = await freePort();
    let log = '';
    const args = [path.join(PACKAGE_ROOT, 'dist', 'cli', 'main.js'), 'listen', '--aet', 'SGUS', '--port', String(port), '--host', '127.0.0.1', '--allow', 'BURST', '--queue', path.join(dir, 'queue'), '--retry', '0.5', ...(o.model !== undefined ? ['--model', o.model] : [])];
    child = spawn(process.execPath, args, { env: { ...process.env, ...orthanc.env }, stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr!.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-50_000)));
    await waitForLine(child, () => log, /listening as SGUS on/, 60_000);
    const model = /; model ([^;\s]+)/.exec(log)?.[1] ?? o.model ?? 'default';

    const t0 = performance.now();
    const push = await storescu(files, '127.0.0.1', port, { callingAet: 'BURST', calledAet: 'SGUS' });
    const receiveSeconds = (performance.now() - t0) / 1000;
    if (push.code !== 0) return { ok: false, reason: `storescu failed (${push.code}): ${push.output.split('\n').slice(-3).join(' ')}` };
    progress(`${n} images received in ${receiveSeconds.toFixed(1)} s; waiting for their results in Orthanc`);
    const deadline = Date.now() + (o.timeoutS ?? 600) * 1000;
    let got = { seg: 0, sr: 0 };
    let lastSeen = t0;
    for (;;) {
      got = await countResults(orthanc, study);
      lastSeen = performance.now();
      if ((got.seg >= n && got.sr >= n) || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const seconds = (lastSeen - t0) / 1000;
    const result: PacsBurstResult = {
      instances: n,
      size: `${w}x${h}`,
      model,
      seconds,
      receiveSeconds,
      instancesPerSecond: got.seg / seconds,
      segmentationsStored: got.seg,
      reportsStored: got.sr,
      peakRssMiB: peakRssMiB(child.pid),
    };
    return { ok: true, result };
  } finally {
    if (child !== undefined) await stopProcess(child, 'SIGTERM');
    await orthanc?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
