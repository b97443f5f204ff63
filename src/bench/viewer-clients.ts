/**
 * Headless viewers for the benchmark and the resilience tests: WebSocket clients (package `ws`)
 * that connect to the viewer hub over loopback, subscribe to a stream, read every frame message and
 * discard it, recording the latency each frame had when it arrived (this machine's clock minus the
 * frame's `captureTs`: same clock, no offset to estimate).
 */
import { WebSocket } from 'ws';
import type { RawData } from 'ws';
import { LatencyMeter } from '../pipeline/latency-meter.js';
import { decodeFrameMessage } from '../shared/protocol.js';

export interface HeadlessViewerOptions {
  /** ws://host:port/ws (with ?token= when needed). */
  url: string;
  /** Stream to subscribe to; undefined: the first one announced. */
  streamId?: string;
  /** Codecs to ask for. Default ['h264', 'jpeg']. */
  codecs?: ReadonlyArray<'h264' | 'jpeg'>;
  /** Shared meter for the frames' arrival latency. Default: one of its own. */
  latency?: LatencyMeter;
}

/** One headless viewer. `close()` is safe to call twice. */
export class HeadlessViewer {
  /** Where arrival latencies go; may be swapped (e.g. after a warm-up). */
  latency: LatencyMeter;
  frames = 0;
  bytes = 0;
  errors = 0;
  closeCode: number | undefined;
  readonly #ws: WebSocket;
  readonly #opened: Promise<void>;
  #subscribed = false;

  constructor(options: HeadlessViewerOptions) {
    this.latency = options.latency ?? new LatencyMeter();
    const ws = new WebSocket(options.url, { perMessageDeflate: false });
    this.#ws = ws;
    const codecs = options.codecs ?? ['h264', 'jpeg'];
    const subscribe = (id: string): void => {
      if (this.#subscribed) return;
      this.#subscribed = true;
      ws.send(JSON.stringify({ type: 'subscribe', streamId: id, codecs }));
    };
    this.#opened = new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
      ws.once('close', (code) => reject(new Error(`viewer socket closed before opening (${code})`)));
    });
    this.#opened.catch(() => undefined);
    ws.on('error', () => {
      this.errors++;
    });
    ws.on('close', (code) => {
      this.closeCode = code;
    });
    ws.on('message', (data: RawData, isBinary: boolean) => {
      const now = performance.timeOrigin + performance.now();
      if (isBinary) {
        const bytes = data instanceof Buffer ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
        this.bytes += bytes.length;
        try {
          const f = decodeFrameMessage(bytes);
          this.frames++;
          this.latency.record(now - f.header.captureTs);
        } catch {
          this.errors++;
        }
        return;
      }
      let m: { type?: string; streams?: Array<{ id: string; live?: boolean }>; stream?: { id: string } };
      try {
        m = JSON.parse(String(data)) as typeof m;
      } catch {
        this.errors++;
        return;
      }
      if (options.streamId !== undefined) {
        if (m.type === 'hello' && m.streams?.some((s) => s.id === options.streamId)) subscribe(options.streamId);
        if (m.type === 'stream-added' && m.stream?.id === options.streamId) subscribe(options.streamId);
      } else if (m.type === 'hello' && m.streams !== undefined && m.streams.length > 0) {
        subscribe(m.streams[0]!.id);
      } else if (m.type === 'stream-added' && m.stream !== undefined) {
        subscribe(m.stream.id);
      }
    });
  }

  /** Resolves once the socket is open. */
  opened(): Promise<void> {
    return this.#opened;
  }

  get subscribed(): boolean {
    return this.#subscribed;
  }

  close(): void {
    if (this.#ws.readyState === WebSocket.CLOSED) return;
    this.#ws.terminate();
  }
}

/** Opens `n` viewers (they connect in parallel) sharing one latency meter. */
export async function openViewers(n: number, options: HeadlessViewerOptions): Promise<{ viewers: HeadlessViewer[]; latency: LatencyMeter }> {
  const latency = options.latency ?? new LatencyMeter();
  const viewers = Array.from({ length: n }, () => new HeadlessViewer({ ...options, latency }));
  try {
    await Promise.all(viewers.map((v) => v.opened()));
  } catch (err) {
    for (const v of viewers) v.close();
    throw err;
  }
  return { viewers, latency };
}
