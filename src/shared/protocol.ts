/**
 * The viewer WebSocket protocol, version 1 (documented in web-viewer/PROTOCOL.md). Shared by the
 * server (Node) and the browser bundle (web-viewer/src), so it imports nothing and uses only what
 * both have: Uint8Array, DataView, TextEncoder/TextDecoder. The wire types are declared here on
 * purpose rather than re-used from src/pipeline/frame.ts: the wire format is versioned on its own and
 * must not change when the pipeline's internal types do (the server maps one onto the other).
 */

/** Bumped on any incompatible change of a message below. */
export const PROTOCOL_VERSION = 1;

/** WebSocket sub-protocol name the browser offers (informational; the server does not require it). */
export const PROTOCOL_NAME = 'sgus-viewer.v1';

/** First byte of every binary message: what it holds. */
export const BinaryKind = {
  /** One frame: header JSON (FrameHeader) followed by the video payload. */
  Frame: 1,
} as const;

/** Bits of the flags byte of a binary frame message. */
export const FrameFlag = {
  /** The payload is a key frame (IDR for H.264; every JPEG). */
  Key: 1,
  /** A video payload follows the header (absent: overlay only). */
  HasVideo: 2,
} as const;

/** WebSocket close codes the server uses (4000–4999 are for applications). */
export const CloseCode = {
  /** Missing or wrong token. */
  Unauthorized: 4401,
  /** The page's origin is not allowed. */
  Forbidden: 4403,
  /** Server shutting down (the viewer reconnects). */
  GoingAway: 1001,
} as const;

/** A stream as viewers see it. */
export interface WireStream {
  id: string;
  title: string;
  kind: 'replay' | 'live';
  width: number;
  height: number;
  fps: number;
  codec: 'h264' | 'jpeg';
  /** WebCodecs codec string, e.g. 'avc1.42c01f' (H.264 only). */
  codecString?: string;
  /** False once the stream has ended (it stays listed so a viewer can say so). */
  live: boolean;
  /** Its state now (absent from servers before stream states; then assume `live`/`kind`). */
  status?: WireStreamStatus;
  /** The pixel size when someone gave it (absent: uncalibrated, figures in pixels; never guessed). */
  calibration?: WireCalibration;
}

/** Millimetres per source pixel and where that scale came from, for the figures viewers show. */
export interface WireCalibration {
  mmPerPxX: number;
  mmPerPxY: number;
  /** Said beside the figures: 'from --mm-per-px', 'from preset ward-3 (mmPerPx)'. */
  source: string;
}

/**
 * A stream's state: 'live' / 'replay' while frames flow ('replay' is a recording: never call it
 * live), 'starting' (configured, source not opened yet), 'stalled' (no frame for a while),
 * 'reconnecting' (a live source lost and retried), 'ended' (for good; `failed` when by an error).
 */
export type WireStreamState = 'starting' | 'live' | 'replay' | 'stalled' | 'reconnecting' | 'ended';

export interface WireStreamStatus {
  state: WireStreamState;
  /** Why, one line ('' when flowing). */
  reason: string;
  /** Ended by an error: the stream is down, not finished. */
  failed?: true;
  /** 'reconnecting': attempt number and wait before it, ms. */
  attempt?: number;
  retryInMs?: number;
  /** Server clock (ms since epoch) when the state began. */
  since: number;
  /** Server clock (ms) when the hub last received a frame of the stream; absent before the first. */
  lastFrameTs?: number;
  /**
   * A replay viewers can control (pause, step, seek, speed): its playback now. Shared by every
   * viewer of the stream; absent for live streams and servers without replay controls.
   */
  playback?: WirePlayback;
}

/** The playback of a controllable replay (one for all its viewers). */
export interface WirePlayback {
  paused: boolean;
  /** Pace against the file's own frame rate (1 = as recorded). */
  speed: number;
  /** Frame index and pts (s) the playback last moved to (a seek, a step), or of the last frame out. */
  index: number;
  pts: number;
}

/** Playback speeds a control may ask for (the source's pacing). */
export const PLAYBACK_SPEED = { min: 0.25, max: 4 } as const;
/** The furthest seek target, s (a day: no exam is longer; bigger numbers are hostile). */
export const MAX_SEEK_S = 86_400;

/** One polygon of the overlay: flat [x0, y0, x1, y1, …] in source pixels, closed. */
export interface WireContour {
  points: number[];
  hole: boolean;
}

/** The JSON header of a binary frame message. */
export interface FrameHeader {
  streamId: string;
  /** 0-based frame index in the stream (the viewer matches overlay and picture by it). */
  index: number;
  /** Presentation time, s. */
  pts: number;
  /** Server clock (ms since epoch) when the frame's bytes arrived from FFmpeg. */
  captureTs: number;
  /** Server clock (ms) when the overlay was ready. */
  doneTs: number;
  /** Server clock (ms) when this message was queued to this viewer. */
  sentTs: number;
  codec: 'h264' | 'jpeg';
  codecString?: string;
  width: number;
  height: number;
  key: boolean;
  /** Size of the picture the contours are in (the source). */
  sourceWidth: number;
  sourceHeight: number;
  contours: WireContour[];
  /** Gland area, source pixels. */
  area: number;
  /** Frames this viewer missed so far on this stream (slow link). */
  dropped: number;
  /**
   * True for the picture of a frame the pipeline did not segment (dropped in live mode): decode it,
   * since the next H.264 pictures reference it, but show it only while the outline is off.
   */
  noOverlay?: true;
  /** The gland's ultrasound score, when the server scores frames: a research aid, not a diagnosis. */
  score?: WireScore;
}

/** A frame's OMERACT and De Vita grade (0–3) with the probability of that grade, and the score
 *  model's validation (weighted κ, leave one centre out) beside the clinicians' published κ. */
export interface WireScore {
  omeract: { grade: number; confidence: number };
  deVita: { grade: number; confidence: number };
  label: string;
  validation?: WireScoreFigures;
}

/** The score card's figures shown one click away: the model's κ by leave one centre out beside the
 *  published ones (per frame, weighted κ against the reference score). */
export interface WireScoreFigures {
  method: 'leave-one-centre-out';
  omeractKappa: number | null;
  deVitaKappa: number | null;
  /** Published: the radiomics MLP against the reference, clinicians on average, one clinician with herself. */
  publishedModelKappa: number;
  cliniciansKappa: number;
  intraReaderKappa: number;
}

/** What the viewer lists about a recording (GET /recordings). */
export interface WireRecording {
  id: string;
  streamId: string;
  /** ISO time of the start request. */
  startedAt: string;
  /** Still being written. */
  active: boolean;
  bytes: number;
  durationS: number;
  frames: number;
  /** Why it stopped ('stopped', 'stream ended', 'duration cap', 'size cap reached', a failure). */
  stopReason?: string;
}

/** Figures about a stream, as the pipeline publishes them. */
export interface WireMetrics {
  streamId: string;
  framesIn: number;
  framesOut: number;
  dropped: number;
  fpsIn: number;
  fpsOut: number;
  /** Server-side end-to-end latency (bytes in → overlay sent), ms. */
  e2eP50: number;
  e2eP95: number;
  model: string;
  engine: string;
  device: string;
}

// ---- server → viewer (text, JSON) ----

export interface HelloMessage {
  type: 'hello';
  protocol: number;
  server: string;
  streams: WireStream[];
  model: string;
  engine: string;
  device: string;
  /** Server clock, ms, for a first clock-offset guess. */
  serverTs: number;
  limits: { maxMessageBytes: number };
}
export interface StreamAddedMessage { type: 'stream-added'; stream: WireStream }
export interface StreamEndedMessage { type: 'stream-ended'; streamId: string; reason: string }
/** A stream's state changed (sent to every viewer; also in `hello` and `stream-added` as `status`). */
export interface StreamStateMessage { type: 'stream-state'; streamId: string; status: WireStreamStatus }
export interface SubscribedMessage { type: 'subscribed'; streamId: string }
export interface MetricsMessage { type: 'metrics'; metrics: WireMetrics }
export interface PongMessage { type: 'pong'; id: number; clientTs: number; serverTs: number }
export interface ErrorMessage { type: 'error'; code: string; message: string }

export type ServerMessage =
  | HelloMessage
  | StreamAddedMessage
  | StreamEndedMessage
  | StreamStateMessage
  | SubscribedMessage
  | MetricsMessage
  | PongMessage
  | ErrorMessage;

// ---- viewer → server (text, JSON) ----

export type VideoCodec = 'h264' | 'jpeg';
export interface SubscribeMessage {
  type: 'subscribe';
  streamId: string;
  /**
   * Codecs this viewer can decode, default both. A viewer without WebCodecs sends ['jpeg'] and gets
   * JPEG pictures the hub makes from the pipeline's frames (smaller, fewer a second) for H.264 streams.
   */
  codecs?: VideoCodec[];
}
export interface PingMessage { type: 'ping'; id: number; clientTs: number }
export type ControlAction = 'pause' | 'play' | 'step' | 'seek' | 'speed';
/**
 * Controls a replay stream, for every viewer of it: 'pause', 'play', 'step' (`frames` +1 or -1,
 * default +1; pauses), 'seek' (to `t` s from the start; keeps paused or playing), 'speed' (`speed`
 * within PLAYBACK_SPEED). The new playback comes back in a `stream-state` message to all viewers.
 */
export interface ControlMessage {
  type: 'control';
  streamId: string;
  action: ControlAction;
  t?: number;
  speed?: number;
  frames?: 1 | -1;
}
export type ClientMessage = SubscribeMessage | PingMessage | ControlMessage;

const CONTROL_ACTIONS: readonly string[] = ['pause', 'play', 'step', 'seek', 'speed'];

/** Checks a control message's fields (the type is 'control'); the message or why it is refused. */
function parseControl(m: Record<string, unknown>): ControlMessage | string {
  const streamId = m['streamId'];
  if (typeof streamId !== 'string' || streamId.length === 0 || streamId.length > 200) return 'control needs a streamId string (1–200 characters)';
  const action = m['action'];
  if (typeof action !== 'string' || !CONTROL_ACTIONS.includes(action)) {
    return `control action must be one of ${CONTROL_ACTIONS.join(', ')}, got ${JSON.stringify(String(action)).slice(0, 40)}`;
  }
  const out: ControlMessage = { type: 'control', streamId, action: action as ControlAction };
  if (action === 'seek') {
    const t = m['t'];
    if (typeof t !== 'number' || !Number.isFinite(t) || t < 0 || t > MAX_SEEK_S) return `seek needs t, seconds from 0 to ${MAX_SEEK_S}`;
    out.t = t;
  } else if (m['t'] !== undefined) {
    return `only seek takes t`;
  }
  if (action === 'speed') {
    const v = m['speed'];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < PLAYBACK_SPEED.min || v > PLAYBACK_SPEED.max) return `speed must be a number from ${PLAYBACK_SPEED.min} to ${PLAYBACK_SPEED.max}`;
    out.speed = v;
  } else if (m['speed'] !== undefined) {
    return `only the speed action takes speed`;
  }
  if (action === 'step') {
    const f = m['frames'] ?? 1;
    if (f !== 1 && f !== -1) return 'step takes frames 1 or -1';
    out.frames = f;
  } else if (m['frames'] !== undefined) {
    return 'only step takes frames';
  }
  return out;
}

/** A decoded binary frame message. */
export interface DecodedFrame {
  header: FrameHeader;
  /** The video payload (empty when the message carries no video). */
  video: Uint8Array;
}

const HEADER_OFFSET = 8;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Binary frame layout (little endian):
 *   byte 0      kind (BinaryKind.Frame)
 *   byte 1      flags (FrameFlag bits)
 *   bytes 2–3   protocol version (uint16)
 *   bytes 4–7   header length N (uint32)
 *   bytes 8…    header, N bytes of UTF-8 JSON (FrameHeader)
 *   then        video payload to the end of the message
 */
export function encodeFrameMessage(header: FrameHeader, video: Uint8Array | undefined): Uint8Array {
  const json = encoder.encode(JSON.stringify(header));
  const videoLength = video?.byteLength ?? 0;
  const out = new Uint8Array(HEADER_OFFSET + json.byteLength + videoLength);
  const view = new DataView(out.buffer);
  view.setUint8(0, BinaryKind.Frame);
  view.setUint8(1, (header.key ? FrameFlag.Key : 0) | (videoLength > 0 ? FrameFlag.HasVideo : 0));
  view.setUint16(2, PROTOCOL_VERSION, true);
  view.setUint32(4, json.byteLength, true);
  out.set(json, HEADER_OFFSET);
  if (video !== undefined && videoLength > 0) out.set(video, HEADER_OFFSET + json.byteLength);
  return out;
}

/** Parses a binary frame message; throws an Error saying what is wrong. */
export function decodeFrameMessage(bytes: Uint8Array): DecodedFrame {
  if (bytes.byteLength < HEADER_OFFSET) throw new Error(`frame message too short (${bytes.byteLength} bytes)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const kind = view.getUint8(0);
  if (kind !== BinaryKind.Frame) throw new Error(`unknown binary message kind ${kind}`);
  const version = view.getUint16(2, true);
  if (version !== PROTOCOL_VERSION) throw new Error(`protocol version ${version}, expected ${PROTOCOL_VERSION}`);
  const length = view.getUint32(4, true);
  if (HEADER_OFFSET + length > bytes.byteLength) throw new Error('frame header runs past the message end');
  const header = JSON.parse(decoder.decode(bytes.subarray(HEADER_OFFSET, HEADER_OFFSET + length))) as FrameHeader;
  return { header, video: bytes.subarray(HEADER_OFFSET + length) };
}

/**
 * Parses and checks a viewer's text message. Returns the message or a one-line reason why it is
 * refused; never throws (a peer's bytes must not crash the hub).
 */
export function parseClientMessage(text: string): ClientMessage | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return 'message is not valid JSON';
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'message is not a JSON object';
  const m = value as Record<string, unknown>;
  switch (m['type']) {
    case 'subscribe':
      if (typeof m['streamId'] !== 'string' || m['streamId'].length === 0 || m['streamId'].length > 200) {
        return 'subscribe needs a streamId string (1–200 characters)';
      }
      if (m['codecs'] !== undefined) {
        const c = m['codecs'];
        if (!Array.isArray(c) || c.length === 0 || c.length > 4 || !c.every((x) => x === 'h264' || x === 'jpeg')) {
          return "subscribe's codecs must be a non-empty list of 'h264' and/or 'jpeg'";
        }
        return { type: 'subscribe', streamId: m['streamId'], codecs: [...new Set(c as VideoCodec[])] };
      }
      return { type: 'subscribe', streamId: m['streamId'] };
    case 'ping': {
      const id = m['id'];
      const clientTs = m['clientTs'];
      if (typeof id !== 'number' || !Number.isFinite(id) || typeof clientTs !== 'number' || !Number.isFinite(clientTs)) {
        return 'ping needs numeric id and clientTs';
      }
      return { type: 'ping', id, clientTs };
    }
    case 'control':
      return parseControl(m);
    default:
      return `unknown message type ${JSON.stringify(String(m['type'])).slice(0, 60)}`;
  }
}

/**
 * Drops the points of a closed pixel chain that lie on a straight run between their neighbours
 * (lossless for the drawn polygon; pixel borders are mostly straight runs, so this shrinks them
 * several times). Input and output are flat [x, y, …].
 */
export function simplifyCollinear(flat: number[]): number[] {
  const n = flat.length / 2;
  if (n <= 3) return flat.slice();
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const p = (i + n - 1) % n;
    const q = (i + 1) % n;
    const x = flat[2 * i]!;
    const y = flat[2 * i + 1]!;
    const ax = x - flat[2 * p]!;
    const ay = y - flat[2 * p + 1]!;
    const bx = flat[2 * q]! - x;
    const by = flat[2 * q + 1]! - y;
    // Keep the point unless the incoming and outgoing steps are the same direction.
    if (ax * by - ay * bx !== 0 || ax * bx + ay * by <= 0) out.push(x, y);
  }
  return out.length >= 6 ? out : flat.slice();
}
