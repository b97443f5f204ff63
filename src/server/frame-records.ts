/**
 * The hub's memory of recent segmented frames, for `GET /frames/<stream>/<index>.json`: a viewer's
 * snapshot takes the frame's outline from here, exactly as the pipeline made it (the wire contours
 * leave out points on straight runs), in the NDJSON record's form, with its figures. Only contours
 * are kept (no pictures), a bounded number per stream.
 */
import type { FrameResult } from '../pipeline/frame.js';
import { measureOutline } from '../core/outline-figures.js';
import type { GlandMeasurements } from '../core/gland-measurements.js';
import type { WireCalibration } from '../shared/protocol.js';

export const FRAME_RECORDS_DEFAULTS = {
  /** Frames remembered per stream (10 s at 25 fps). */
  perStream: 250,
  /** Decimals kept on contour coordinates: the NDJSON sink's default, so records compare equal. */
  decimals: 1,
} as const;

/** One frame as `<stem>.contours.ndjson` has it, plus its figures. */
export interface FrameRecord {
  stream: string;
  index: number;
  pts: number;
  width: number;
  height: number;
  area: number;
  contours: { hole: boolean; parent: number; points: [number, number][] }[];
  /** In mm² / cm² / mm with the stream's calibration, else in pixels. */
  measurements: GlandMeasurements;
  /** The scale used, and where it came from; absent: uncalibrated. */
  calibration?: WireCalibration;
}

export interface FrameRecordsOptions {
  /** Frames remembered per stream. Default FRAME_RECORDS_DEFAULTS.perStream. */
  perStream?: number;
}

/** The path of a frame record, or undefined for any other path. */
export function parseFramePath(rawPath: string): { streamId: string; index: number } | undefined {
  const m = /^\/frames\/([^/]{1,200})\/(\d{1,12})\.json$/.exec(rawPath);
  if (m === null) return undefined;
  let streamId: string;
  try {
    streamId = decodeURIComponent(m[1]!);
  } catch {
    return undefined;
  }
  return { streamId, index: Number(m[2]) };
}

export class FrameRecords {
  readonly #perStream: number;
  readonly #byStream = new Map<string, Map<number, FrameResult>>();

  constructor(options: FrameRecordsOptions = {}) {
    this.#perStream = options.perStream ?? FRAME_RECORDS_DEFAULTS.perStream;
  }

  add(result: FrameResult): void {
    const id = result.frame.streamId;
    let m = this.#byStream.get(id);
    if (m === undefined) this.#byStream.set(id, (m = new Map()));
    // Only what a record needs: the frame's pixels must not be held here.
    const { frame } = result;
    m.set(frame.index, {
      ...result,
      frame: { streamId: id, index: frame.index, pts: frame.pts, captureTs: frame.captureTs, sourceWidth: frame.sourceWidth, sourceHeight: frame.sourceHeight, pixels: { width: 0, height: 0, data: new Uint8Array(0) } },
    });
    // Maps iterate in insertion order: the first key is the oldest.
    while (m.size > this.#perStream) m.delete(m.keys().next().value!);
  }

  /** A stream started over (a looped replay counts its frames from 0 again): forget its frames. */
  reset(streamId: string): void {
    this.#byStream.delete(streamId);
  }

  get(streamId: string, index: number, calibration: WireCalibration | undefined): FrameRecord | undefined {
    const r = this.#byStream.get(streamId)?.get(index);
    if (r === undefined) return undefined;
    const k = 10 ** FRAME_RECORDS_DEFAULTS.decimals;
    const rec: FrameRecord = {
      stream: streamId,
      index,
      pts: Math.round(r.frame.pts * 1e6) / 1e6,
      width: r.frame.sourceWidth,
      height: r.frame.sourceHeight,
      area: r.area,
      contours: r.contours.map((c) => ({ hole: c.hole, parent: c.parent, points: c.points.map(([x, y]) => [Math.round(x * k) / k, Math.round(y * k) / k] as [number, number]) })),
      measurements: measureOutline(r.contours, r.area, calibration),
    };
    if (calibration !== undefined) rec.calibration = calibration;
    return rec;
  }
}
