/**
 * One stream's source as the pipeline sees it: its frames (counted in), and its events turned into
 * the pipeline's events, bounded log lines and the viewer hub's stream states (listed on the first
 * open, live again after a reconnect, ended with the reason). A failing source ends its stream
 * alone when failures are isolated (serve), else the error goes on and fails the pipeline.
 */
import { EMPTY, catchError, tap } from 'rxjs';
import type { Observable, OperatorFunction } from 'rxjs';
import { describeError, ErrorCode, isSgusError, SgusError } from '../errors.js';
import type { FfmpegSource, SourceStarted } from './ffmpeg-source.js';
import type { Frame, StreamInfo, ViewerHubPort } from './frame.js';
import { LogThrottle } from './log-throttle.js';
import { ReconnectLog } from './reconnect-log.js';
import { describeSource } from './source-spec.js';
import type { SourceSpec } from './source-spec.js';
import type { StreamMetricsCollector } from './stream-metrics.js';

export interface SourceEventsOptions {
  /** Stream id and its label for viewers. */
  id: string;
  title: string;
  spec: SourceSpec;
  source: FfmpegSource;
  metrics: StreamMetricsCollector;
  /** Default none. */
  hub?: ViewerHubPort | undefined;
  /** Applied to the frames before failures are caught (the field-of-view stage). Default none. */
  frames?: OperatorFunction<Frame, Frame> | undefined;
  /** A failing source ends its stream alone instead of failing the pipeline. */
  isolateFailures: boolean;
  /** Whether the pipeline is stopping (an ended source then says 'stopped'). */
  stopping: () => boolean;
  onStarted: (info: SourceStarted) => void;
  onReconnecting: (info: { attempt: number; delayMs: number; reason: string }) => void;
  onEnded: (reason: string, error?: SgusError) => void;
  log: (line: string) => void;
}

/** The stream's frames, with its source's events wired; subscribe once. */
export function sourceFrames(o: SourceEventsOptions): Observable<Frame> {
  const { id, source, metrics, hub, log } = o;
  let listed = false;
  source.on('started', (info) => {
    o.onStarted(info);
    if (hub !== undefined && !listed) {
      listed = true;
      const si: StreamInfo = { id, title: o.title, kind: source.mode, width: info.width, height: info.height, fps: info.fps, codec: info.viewCodec ?? 'h264' };
      try {
        hub.addStream(si);
      } catch (err) {
        log(`${id}: viewer hub refused the stream: ${describeError(err)}`);
      }
    }
    // Also after a reconnect: viewers stop showing the stream as lost.
    hub?.setStreamState?.(id, source.mode, { reason: 'source opened' });
  });
  // The outage once, then at most a line a minute while it lasts.
  const reconnectLog = new ReconnectLog(id, describeSource(o.spec));
  source.on('reconnecting', (info) => {
    o.onReconnecting(info);
    hub?.setStreamState?.(id, 'reconnecting', { reason: info.reason, attempt: info.attempt, retryInMs: info.delayMs });
    for (const l of reconnectLog.reconnecting(info)) log(l);
  });
  source.on('held', (pb) => {
    log(`${id}: end of the file at frame ${pb.index}: its last frame stays for review (seek, step back or play again in the viewer; Ctrl-C ends)`);
    hub?.setPlayback?.(id, pb);
  });
  source.on('corrupt', (info) => log(`${id}: corrupt frame skipped (${info.reason})`));
  const warnings = new LogThrottle();
  source.on('warning', (line) => {
    for (const l of warnings.push(line)) log(`${id}: ${l}`);
  });
  // FFmpeg can print an error per packet on a damaged stream: a few lines per window, then a count.
  const errors = new LogThrottle();
  source.on('log', (line) => {
    if (!/error|corrupt|invalid|missing/i.test(line)) return;
    for (const l of errors.push(line)) log(`${id}: ffmpeg: ${l}`);
  });
  const ended = (reason: string, error?: SgusError): void => {
    o.onEnded(reason, error);
    if (hub === undefined) return;
    try {
      hub.setStreamState?.(id, 'ended', { reason, failed: error !== undefined });
      hub.endStream(id, reason);
    } catch {
      // The hub may already be closed.
    }
  };
  let f$ = source.frames().pipe(
    tap({
      next: () => {
        metrics.frameIn();
        reconnectLog.opened();
      },
      complete: () => ended(o.stopping() ? 'stopped' : 'end of stream'),
    }),
  );
  if (o.frames !== undefined) f$ = f$.pipe(o.frames);
  return f$.pipe(
    catchError((err: unknown) => {
      const e = isSgusError(err) ? err : new SgusError(ErrorCode.SourceFailure, describeError(err), { where: id, cause: err });
      ended(e.message, e);
      if (o.isolateFailures) {
        log(`${id}: ${e.message}`);
        return EMPTY;
      }
      throw e;
    }),
  );
}
