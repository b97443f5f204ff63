/**
 * A DICOM cine loop as a pipeline source: FFmpeg reads its frames from stdin, so the rest of the
 * pipeline (model window, batching, viewer, annotated video, NDJSON, --loop, --realtime) is the
 * same as for a video file ("live and recorded input differ only in the source").
 *   - JPEG Baseline / Extended fragments go through as they are, an MJPEG stream FFmpeg decodes
 *     itself (no decode in Node: the cost of the benchmark's 10 % budget);
 *   - every other transfer syntax (native, RLE, JPEG-LS, JPEG 2000) and JPEG frames whose colour
 *     space FFmpeg would misread (RGB, PALETTE) are decoded here (decodeFrame) and fed as rgb24.
 * Frames are timed by `-framerate` from the file's Frame Time / Frame Time Vector (its mean) /
 * Cine Rate (25 frames/s when it says nothing), so `-re` paces a loop at its own rate.
 */
import type { Writable } from 'node:stream';
import { readFileSync } from 'node:fs';
import { openDicom } from '../dicom/dicom-inputs.js';
import type { DicomInstance } from '../dicom/dicom-file.js';
import { readDicom } from '../dicom/dicom-file.js';
import { TransferSyntax } from '../dicom/uids.js';
import { decodeFrame } from '../dicom/pixel-decode.js';
import type { Calibration } from '../dicom/calibration.js';
import { describeError } from '../errors.js';
import type { VideoProbe } from './probe.js';
import type { SourceSpec } from './source-spec.js';

/** Frame rate when the file gives no timing. */
export const DICOM_DEFAULT_FPS = 25;

/** What FFmpeg's stdin is fed with, per run (ffmpeg-source.ts starts one per FFmpeg run). */
export interface StdinFeed {
  /** FFmpeg input arguments before `-i pipe:0` (format, size, rate). */
  readonly inputArgs: string[];
  /** Writes the frames (again and again with `loop`) into `stdin`; returns a stop function. */
  start(stdin: Writable, loop: boolean, log: (line: string) => void): () => void;
}

/** Whether FFmpeg's MJPEG decoder reads these frames right (it assumes YCbCr for 3 components). */
function passesJpeg(inst: DicomInstance): boolean {
  const ts = inst.transferSyntaxUid;
  if (ts !== TransferSyntax.JpegBaseline && ts !== TransferSyntax.JpegExtended) return false;
  const p = inst.image.photometric;
  return inst.image.samplesPerPixel === 1 ? p === 'MONOCHROME2' : p === 'YBR_FULL_422' || p === 'YBR_FULL';
}

export function dicomFps(inst: DicomInstance): number {
  return inst.frameTimeMs !== undefined && inst.frameTimeMs > 0 ? 1000 / inst.frameTimeMs : DICOM_DEFAULT_FPS;
}

/**
 * The source facts of a DICOM instance as a probe would give them (size, rate, frames). `frames` is
 * the count the file declares, as a container's index: a file holding fewer is then reported as
 * incomplete at the end of a replay (exit code 3), as a truncated video is.
 */
export function dicomProbe(inst: DicomInstance): VideoProbe {
  const fps = dicomFps(inst);
  return { width: inst.image.columns, height: inst.image.rows, fps, codec: passesJpeg(inst) ? 'mjpeg' : 'rawvideo', hasBFrames: false, frames: inst.declaredFrames, duration: inst.frames / fps };
}

export class DicomFeed implements StdinFeed {
  readonly inputArgs: string[];
  readonly #inst: DicomInstance;
  readonly #jpeg: boolean;

  constructor(inst: DicomInstance) {
    this.#inst = inst;
    this.#jpeg = passesJpeg(inst);
    // Rate as a fraction FFmpeg parses exactly enough (e.g. 1000/33.3 ms).
    const rate = String(Math.round(dicomFps(inst) * 1000) / 1000);
    this.inputArgs = this.#jpeg
      ? ['-f', 'image2pipe', '-c:v', 'mjpeg', '-framerate', rate]
      : ['-f', 'rawvideo', '-pix_fmt', 'rgb24', '-video_size', `${inst.image.columns}x${inst.image.rows}`, '-framerate', rate];
  }

  start(stdin: Writable, loop: boolean, log: (line: string) => void): () => void {
    let stopped = false;
    let wake: (() => void) | undefined;
    const wakeUp = (): void => {
      const w = wake;
      wake = undefined;
      w?.();
    };
    const onEnd = (): void => {
      stopped = true;
      wakeUp();
    };
    // FFmpeg gone (killed, restarted): EPIPE is how a pipe says so, not news.
    stdin.on('error', onEnd);
    stdin.on('close', onEnd);
    stdin.on('drain', wakeUp);
    const inst = this.#inst;
    const run = async (): Promise<void> => {
      do {
        let written = 0;
        for (let i = 0; i < inst.frames && !stopped; i++) {
          let bytes: Uint8Array;
          try {
            bytes = this.#jpeg ? inst.frameBytes(i) : decodeFrame(inst, i).data;
          } catch (err) {
            log(`${describeError(err)}; frame skipped`);
            continue;
          }
          written++;
          if (!stdin.write(bytes)) await new Promise<void>((resolve) => (stopped ? resolve() : (wake = resolve)));
          // Frames decoded in Node: let the event loop read FFmpeg's output between them.
          else if (!this.#jpeg) await new Promise<void>((resolve) => setImmediate(resolve));
        }
        // A loop none of whose frames decode would spin forever.
        if (written === 0) break;
      } while (loop && !stopped);
      if (!stopped) stdin.end();
    };
    void run().catch((err: unknown) => log(`${inst.where}: feeding FFmpeg failed: ${describeError(err)}`));
    return () => {
      stopped = true;
      wakeUp();
      stdin.off('drain', wakeUp);
    };
  }
}

/** A DICOM file opened as a stream source: its spec, facts, calibration. Errors name the file. */
export interface OpenedDicomSource {
  spec: Extract<SourceSpec, { type: 'dicom' }>;
  instance: DicomInstance;
  probe: VideoProbe;
  calibration: Calibration | undefined;
}

export async function openDicomSource(file: string): Promise<OpenedDicomSource> {
  const instance = await openDicom(file);
  return { spec: { type: 'dicom', path: file, instance }, instance, probe: dicomProbe(instance), calibration: instance.calibration };
}

/** The feed of a DICOM source spec (the instance opened before, else read now: codecs then not loaded). */
export function dicomFeed(spec: Extract<SourceSpec, { type: 'dicom' }>): DicomFeed {
  return new DicomFeed(spec.instance ?? readDicom(readFileSync(spec.path), spec.path));
}
