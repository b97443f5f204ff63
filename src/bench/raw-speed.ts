/**
 * Raw model speed for the benchmark: every model × every engine/device present × batch sizes,
 * through `measureSpeed` (the same measurement `sgus models --measure` writes into cards). An engine
 * or device that is not installed here is skipped with the reason, not failed.
 */
import { describeError, ErrorCode, isSgusError } from '../errors.js';
import type { DeviceName, EngineName } from '../engine/inference-engine.js';
import type { LoadedCard } from '../segmenter/model-card.js';
import { measureSpeed } from '../segmenter/model-speed.js';

export interface EngineTarget {
  engine: EngineName;
  device: DeviceName;
}

/** What the benchmark tries, in order: ONNX Runtime on CPU and GPU, then TF.js. */
export const ENGINE_TARGETS: readonly EngineTarget[] = [
  { engine: 'onnxruntime', device: 'cpu' },
  { engine: 'onnxruntime', device: 'cuda' },
  { engine: 'tfjs', device: 'cpu' },
  { engine: 'tfjs', device: 'gpu' },
];

export interface RawRow {
  model: string;
  engine: EngineName;
  device: DeviceName;
  threads: number;
  batch: number;
  msPerFrame: number;
  framesPerSecond: number;
  runs: number;
  /** From the card; undefined when the card does not say. */
  flopsPerFrame: number | undefined;
  /** flopsPerFrame × fps / 1e9. */
  gflops: number | undefined;
  /** gflops / the measured peak. */
  fractionOfPeak: number | undefined;
}

export interface RawSkip {
  model: string;
  engine: EngineName;
  device: DeviceName;
  reason: string;
}

export interface RawOptions {
  batches: readonly number[];
  threads: number;
  /** Seconds of timed runs per batch size. */
  minSeconds: number;
  targets?: readonly EngineTarget[];
  /** GFLOP/s of the machine's peak, for `fractionOfPeak`. */
  peakGflops?: number;
  onProgress?: (line: string) => void;
}

export async function measureRaw(models: readonly LoadedCard[], o: RawOptions): Promise<{ rows: RawRow[]; skipped: RawSkip[] }> {
  const rows: RawRow[] = [];
  const skipped: RawSkip[] = [];
  for (const m of models) {
    for (const t of o.targets ?? ENGINE_TARGETS) {
      const name = m.card.name;
      try {
        const results = await measureSpeed(m, o.batches, { engine: t.engine, device: t.device, threads: o.threads, fallbackToCpu: false, minSeconds: o.minSeconds, minRuns: 3 });
        const flops = typeof m.card.flopsPerFrame === 'number' && m.card.flopsPerFrame > 0 ? m.card.flopsPerFrame : undefined;
        for (const r of results) {
          const gflops = flops !== undefined ? (flops * r.framesPerSecond) / 1e9 : undefined;
          rows.push({
            model: name,
            engine: t.engine,
            device: t.device,
            threads: o.threads,
            batch: r.batch,
            msPerFrame: round(r.msPerFrame),
            framesPerSecond: round(r.framesPerSecond),
            runs: r.runs,
            flopsPerFrame: flops,
            gflops: gflops !== undefined ? round(gflops) : undefined,
            fractionOfPeak: gflops !== undefined && o.peakGflops !== undefined && o.peakGflops > 0 ? Math.round((gflops / o.peakGflops) * 1000) / 1000 : undefined,
          });
          o.onProgress?.(`raw: ${name} ${t.engine}/${t.device} batch ${r.batch}: ${r.msPerFrame.toFixed(2)} ms/frame, ${r.framesPerSecond.toFixed(1)} fps`);
        }
      } catch (err) {
        // Not installed / no GPU / no TF.js export of this model: a note in the report, not a failure.
        const reason = isSgusError(err, ErrorCode.EngineUnavailable) || isSgusError(err) ? err.message : describeError(err);
        skipped.push({ model: name, engine: t.engine, device: t.device, reason });
        o.onProgress?.(`raw: ${name} ${t.engine}/${t.device}: skipped (${reason})`);
      }
    }
  }
  return { rows, skipped };
}

function round(v: number): number {
  return Math.round(v * 100) / 100;
}
