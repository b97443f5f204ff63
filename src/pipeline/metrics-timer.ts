/**
 * The pipeline's metrics clock: every period, one snapshot of every stream goes to the pipeline's
 * listeners and to the viewer hub. A hub that is closed or refuses does not stop the pipeline.
 */
import type { StreamMetrics, ViewerHubPort } from './frame.js';

export interface MetricsTimerOptions {
  /** Period, ms. */
  periodMs: number;
  /** The figures now. */
  snapshot: () => StreamMetrics[];
  /** Called with every snapshot (the pipeline's 'metrics' event). */
  onMetrics: (metrics: StreamMetrics[]) => void;
  /** Gets every stream's figures too. Default none. */
  hub?: ViewerHubPort | undefined;
}

/** Starts the clock (it never keeps the process alive); the function returned stops it and is safe to call twice. */
export function startMetricsTimer(options: MetricsTimerOptions): () => void {
  const { hub } = options;
  const timer = setInterval(() => {
    const m = options.snapshot();
    options.onMetrics(m);
    if (hub === undefined) return;
    for (const x of m) {
      try {
        hub.publishMetrics(x);
      } catch {
        // A closed hub does not stop the pipeline.
      }
    }
  }, options.periodMs);
  timer.unref();
  return () => clearInterval(timer);
}
