/**
 * The gland area of every frame of a stream segmented so far, for the viewer's timeline
 * (`GET /areas/<stream>.json`): a replay's curve fills in as it plays, and after a whole pass it
 * covers the file, so the frames where the gland is largest are easy to find. Three numbers a
 * frame (no contours), keyed by frame index: a seek that replays a stretch overwrites it.
 */

export const AREA_SERIES_DEFAULTS = {
  /** Frames kept per stream (an hour at 25 fps); beyond it the oldest indices are forgotten. */
  perStream: 90_000,
} as const;

export interface AreaSeriesOptions {
  /** Frames kept per stream. Default AREA_SERIES_DEFAULTS.perStream. */
  perStream?: number;
}

/** The body of `GET /areas/<stream>.json`: [index, pts s, area px²] in index order. */
export interface AreaSeriesBody {
  stream: string;
  frames: [number, number, number][];
}

/** The path of an area series, or undefined for any other path. */
export function parseAreasPath(rawPath: string): string | undefined {
  const m = /^\/areas\/([^/]{1,200})\.json$/.exec(rawPath);
  if (m === null) return undefined;
  try {
    return decodeURIComponent(m[1]!);
  } catch {
    return undefined;
  }
}

export class AreaSeries {
  readonly #perStream: number;
  readonly #byStream = new Map<string, Map<number, [number, number]>>();

  constructor(options: AreaSeriesOptions = {}) {
    this.#perStream = options.perStream ?? AREA_SERIES_DEFAULTS.perStream;
    if (!(this.#perStream >= 1)) throw new RangeError(`perStream must be >= 1, got ${this.#perStream}`);
  }

  add(streamId: string, index: number, pts: number, area: number): void {
    let m = this.#byStream.get(streamId);
    if (m === undefined) this.#byStream.set(streamId, (m = new Map()));
    m.set(index, [Math.round(pts * 1e6) / 1e6, area]);
    while (m.size > this.#perStream) m.delete(m.keys().next().value!);
  }

  /** The stream's series, sorted by index; undefined when nothing of it was segmented. */
  get(streamId: string): AreaSeriesBody | undefined {
    const m = this.#byStream.get(streamId);
    if (m === undefined) return undefined;
    const frames = [...m].map(([i, [pts, area]]): [number, number, number] => [i, pts, area]);
    frames.sort((a, b) => a[0] - b[0]);
    return { stream: streamId, frames };
  }
}
