/**
 * Per-frame NDJSON: one line per segmented frame (index, pts, contours in source pixels, area, the
 * gland's figures — area, perimeter, length, depth — in mm when the source's scale is known, else in
 * pixels, the gland's ultrasound score when scored (grade and confidence per score, labelled a
 * research aid), and latency).
 */
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { OperatorFunction } from 'rxjs';
import { measureOutline } from '../core/outline-figures.js';
import { describeError, ErrorCode, SgusError } from '../errors.js';
import type { FrameResult } from './frame.js';
import { serialSink } from './serial-sink.js';

export interface NdjsonSinkOptions {
  /** Output file. */
  path: string;
  /** Decimals kept on contour coordinates. Default 1. */
  decimals?: number;
  /** Millimetres per source pixel and where that came from. Default: none (figures in pixels). */
  calibration?: { mmPerPxX: number; mmPerPxY: number; source: string };
}

export function ndjsonSink(options: NdjsonSinkOptions): OperatorFunction<FrameResult, FrameResult> {
  if (typeof options?.path !== 'string' || options.path === '') throw new SgusError(ErrorCode.InvalidArgument, 'ndjson sink needs a path', { where: 'ndjson sink' });
  const file = options.path;
  const k = 10 ** (options.decimals ?? 1);
  const cal = options.calibration;
  let out: ReturnType<typeof createWriteStream> | undefined;
  let failure: Error | undefined;
  const open = async (): Promise<NonNullable<typeof out>> => {
    if (out !== undefined) return out;
    await mkdir(path.dirname(file), { recursive: true });
    out = createWriteStream(file);
    out.on('error', (err) => {
      failure = err;
    });
    return out;
  };
  return serialSink<FrameResult>(
    async (r) => {
      const s = await open();
      if (failure !== undefined) throw new SgusError(ErrorCode.SinkFailure, `cannot write: ${describeError(failure)}`, { where: file });
      const t = r.timings;
      const line = JSON.stringify({
        stream: r.frame.streamId,
        index: r.frame.index,
        pts: Math.round(r.frame.pts * 1e6) / 1e6,
        width: r.frame.sourceWidth,
        height: r.frame.sourceHeight,
        area: r.area,
        measurements: { ...measureOutline(r.contours, r.area, cal), ...(cal !== undefined ? { scaleSource: cal.source } : {}) },
        contours: r.contours.map((c) => ({ hole: c.hole, parent: c.parent, points: c.points.map(([x, y]) => [Math.round(x * k) / k, Math.round(y * k) / k]) })),
        ...(r.score !== undefined
          ? {
              score: {
                omeract: { grade: r.score.omeract.grade, confidence: round4(r.score.omeract.confidence) },
                deVita: { grade: r.score.deVita.grade, confidence: round4(r.score.deVita.confidence) },
                label: r.score.label,
              },
            }
          : {}),
        batch: r.batchSize,
        latencyMs: {
          decode: ms(t.decode),
          queue: ms(t.queue),
          inference: ms(t.inference),
          postprocess: ms(t.postprocess),
          total: ms(r.doneTs - r.frame.captureTs),
        },
      });
      if (!s.write(`${line}\n`)) await new Promise<void>((resolve) => s.once('drain', resolve));
    },
    async () => {
      if (out === undefined) await open();
      const s = out!;
      await new Promise<void>((resolve) => s.end(resolve));
      if (failure !== undefined) throw new SgusError(ErrorCode.SinkFailure, `cannot write: ${describeError(failure)}`, { where: file });
    },
  );
}

function round4(v: number): number {
  return Math.round(v * 1e4) / 1e4;
}

function ms(v: number): number {
  return Math.round(v * 100) / 100;
}
