/**
 * Snapshot (key `s`): the picture on screen at the source's own size with its outline, as PNG, and
 * a JSON of that frame (index, time, contour points in source pixels, area and figures with their
 * units, the scale and where it came from), both downloaded by the browser. The contour is the
 * hub's record of the frame (`GET /frames/<stream>/<index>.json`), as the pipeline made it and as
 * the NDJSON output has it; only when the hub no longer holds the frame is the outline the viewer
 * got used, and the JSON says so.
 */
import type { FrameHeader, WireCalibration, WireStream } from '../../src/shared/protocol.js';
import type { Picture } from './decoders.js';
import { figuresOf } from './figures.js';
import { outlinePath } from './renderer.js';
import type { OverlayStyle } from './renderer.js';

export interface SnapshotContext {
  picture: Picture;
  stream: WireStream | undefined;
  style: OverlayStyle;
  model: string;
  /** The page's ?token=, passed on to the frame record request. */
  token: string | null;
}

export interface SnapshotFiles {
  baseName: string;
  png: Blob;
  json: Record<string, unknown>;
}

/** Draws the picture and its outline at source size now (the picture may be released right after). */
function drawAtSourceSize(ctx: SnapshotContext): HTMLCanvasElement {
  const h = ctx.picture.header;
  const canvas = document.createElement('canvas');
  canvas.width = h.sourceWidth;
  canvas.height = h.sourceHeight;
  const g = canvas.getContext('2d');
  if (g === null) throw new Error('no 2D canvas context for the snapshot');
  g.imageSmoothingQuality = 'high';
  g.drawImage(ctx.picture.source, 0, 0, h.sourceWidth, h.sourceHeight);
  if (h.contours.length > 0) {
    const path = outlinePath(h, 1, 1);
    if (ctx.style.fillOpacity > 0) {
      g.globalAlpha = ctx.style.fillOpacity;
      g.fillStyle = ctx.style.color;
      g.fill(path, 'evenodd');
      g.globalAlpha = 1;
    }
    g.strokeStyle = ctx.style.color;
    // In source pixels, at least 1, so thin outlines stay visible on small sources too.
    g.lineWidth = Math.max(1, Math.round(h.sourceWidth / 640));
    g.lineJoin = 'round';
    g.stroke(path);
  }
  return canvas;
}

function canvasPng(canvas: HTMLCanvasElement): Promise<Blob> {
  return new Promise((resolve, reject) => canvas.toBlob((b) => (b !== null ? resolve(b) : reject(new Error('the browser could not encode the PNG'))), 'image/png'));
}

async function frameRecord(h: FrameHeader, token: string | null): Promise<Record<string, unknown> | undefined> {
  const q = token !== null ? `?token=${encodeURIComponent(token)}` : '';
  const res = await fetch(`/frames/${encodeURIComponent(h.streamId)}/${h.index}.json${q}`, { cache: 'no-store' });
  if (res.status === 404) return undefined;
  if (!res.ok) throw new Error(`the server answered ${res.status} for frame ${h.index}`);
  return (await res.json()) as Record<string, unknown>;
}

/** 'mm:ss.mmm' of a presentation time. */
function timeText(pts: number): string {
  const ms = Math.max(0, Math.round(pts * 1000));
  const m = Math.floor(ms / 60000);
  const s = ((ms % 60000) / 1000).toFixed(3).padStart(6, '0');
  return `${String(m).padStart(2, '0')}:${s}`;
}

export async function makeSnapshot(ctx: SnapshotContext): Promise<SnapshotFiles> {
  const h = ctx.picture.header;
  const canvas = drawAtSourceSize(ctx);
  const calibration: WireCalibration | undefined = ctx.stream?.calibration;
  const [png, record] = await Promise.all([canvasPng(canvas), frameRecord(h, ctx.token)]);
  const fromViewer = figuresOf(h, calibration).measurements;
  const json: Record<string, unknown> = {
    kind: 'sgus-live-snapshot',
    version: 1,
    savedAt: new Date().toISOString(),
    stream: { id: h.streamId, title: ctx.stream?.title ?? h.streamId, kind: ctx.stream?.kind ?? 'live' },
    model: ctx.model,
    frameIndex: h.index,
    time: h.pts,
    timeText: timeText(h.pts),
    width: h.sourceWidth,
    height: h.sourceHeight,
    contourSource: record !== undefined ? 'hub record (as in the NDJSON output)' : 'viewer (the hub no longer holds this frame; points on straight runs omitted)',
    contours: record !== undefined ? record['contours'] : h.contours.map((c) => ({ hole: c.hole, points: pairs(c.points) })),
    area: { value: h.area, unit: 'px2' },
    measurements: record !== undefined ? record['measurements'] : fromViewer,
    calibration: calibration !== undefined ? calibration : { none: true, note: 'uncalibrated: figures in pixels; no scale was given' },
  };
  const safe = h.streamId.replace(/[^\w.-]+/g, '_');
  return { baseName: `sgus-${safe}-f${h.index}`, png, json };
}

function pairs(flat: number[]): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push([flat[i]!, flat[i + 1]!]);
  return out;
}

/** Hands a file to the browser's downloads. */
export function download(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  // The download has started reading the blob; revoke later so it is not cut off.
  window.setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** Makes the snapshot and downloads its PNG and JSON. */
export async function saveSnapshot(ctx: SnapshotContext): Promise<SnapshotFiles> {
  const files = await makeSnapshot(ctx);
  download(files.png, `${files.baseName}.png`);
  download(new Blob([`${JSON.stringify(files.json, null, 2)}\n`], { type: 'application/json' }), `${files.baseName}.json`);
  return files;
}
