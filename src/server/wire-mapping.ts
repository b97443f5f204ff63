/**
 * The pipeline's types mapped onto the wire protocol's (src/shared/protocol.ts): the wire format is
 * versioned on its own, so the hub copies field by field instead of sending internal objects.
 */
import type { Frame, FrameResult, StreamInfo, StreamMetrics } from '../pipeline/frame.js';
import { simplifyCollinear } from '../shared/protocol.js';
import type { WireCalibration, WireContour, WireMetrics, WireStream, WireStreamStatus } from '../shared/protocol.js';
import type { OutgoingHeader } from './viewer-session.js';

export function toWireStream(info: StreamInfo, live: boolean, status: WireStreamStatus | undefined, calibration: WireCalibration | undefined): WireStream {
  const w: WireStream = { id: info.id, title: info.title, kind: info.kind, width: info.width, height: info.height, fps: info.fps, codec: info.codec, live };
  if (info.codecString !== undefined) w.codecString = info.codecString;
  if (status !== undefined) w.status = status;
  if (calibration !== undefined) w.calibration = calibration;
  return w;
}

export function toWireMetrics(m: StreamMetrics): WireMetrics {
  return {
    streamId: m.streamId,
    framesIn: m.framesIn,
    framesOut: m.framesOut,
    dropped: m.dropped,
    fpsIn: m.fpsIn,
    fpsOut: m.fpsOut,
    e2eP50: m.latency.e2e.p50,
    e2eP95: m.latency.e2e.p95,
    model: m.model,
    engine: m.engine,
    device: m.device,
  };
}

/**
 * The header of one frame message: `view` the picture actually sent (undefined: overlay only),
 * `result` undefined for the picture of a frame the pipeline did not segment (`noOverlay`).
 */
export function frameHeader(frame: Frame, view: Frame['view'], result: FrameResult | undefined, stream: StreamInfo): OutgoingHeader {
  const contours: WireContour[] = (result?.contours ?? []).map((c) => {
    const flat: number[] = new Array<number>(c.points.length * 2);
    for (let i = 0; i < c.points.length; i++) {
      flat[2 * i] = c.points[i]![0];
      flat[2 * i + 1] = c.points[i]![1];
    }
    return { points: simplifyCollinear(flat), hole: c.hole };
  });
  const header: OutgoingHeader = {
    streamId: frame.streamId,
    index: frame.index,
    pts: frame.pts,
    captureTs: frame.captureTs,
    doneTs: result?.doneTs ?? frame.captureTs,
    codec: view?.codec ?? stream.codec,
    width: view?.width ?? frame.sourceWidth,
    height: view?.height ?? frame.sourceHeight,
    key: view?.key ?? false,
    sourceWidth: frame.sourceWidth,
    sourceHeight: frame.sourceHeight,
    contours,
    area: result?.area ?? 0,
  };
  if (result === undefined) header.noOverlay = true;
  const s = result?.score;
  if (s !== undefined) {
    header.score = {
      omeract: { grade: s.omeract.grade, confidence: Math.round(s.omeract.confidence * 1000) / 1000 },
      deVita: { grade: s.deVita.grade, confidence: Math.round(s.deVita.confidence * 1000) / 1000 },
      label: s.label,
      ...(s.validation !== undefined ? { validation: s.validation } : {}),
    };
  }
  const codecString = view?.codecString ?? stream.codecString;
  if (codecString !== undefined) header.codecString = codecString;
  return header;
}
