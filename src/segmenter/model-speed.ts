/**
 * Raw model speed: ms per frame at a given batch size through an engine, median of repeated runs
 * after warm-up. Used by `sgus models --measure` (writes the card's `speed`) and by the benchmark.
 */
import os from 'node:os';
import { createEngine } from '../engine/engine-factory.js';
import type { EngineOptions } from '../engine/inference-engine.js';
import { defaultThreads } from '../engine/onnx-engine.js';
import type { LoadedCard } from './model-card.js';

export interface SpeedResult {
  batch: number;
  msPerFrame: number;
  framesPerSecond: number;
  runs: number;
}

export function machineDescription(): string {
  const cpu = os.cpus()[0]?.model.trim() ?? 'unknown CPU';
  return `${cpu}, ${os.availableParallelism?.() ?? os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
}

export async function measureSpeed(loaded: LoadedCard, batches: readonly number[], options: EngineOptions & { minSeconds?: number; minRuns?: number } = {}): Promise<SpeedResult[]> {
  const engine = await createEngine(loaded.modelPath, { threads: defaultThreads(), ...options });
  const { card } = loaded;
  const results: SpeedResult[] = [];
  try {
    for (const batch of batches) {
      const dims = card.input.layout === 'NCHW' ? [batch, 3, card.input.height, card.input.width] : [batch, card.input.height, card.input.width, 3];
      const data = new Float32Array(dims.reduce((a, b) => a * b, 1));
      for (let i = 0; i < data.length; i++) data[i] = ((i * 2654435761) % 1000) / 1000 - 0.5;
      const feeds: Record<string, { data: Float32Array; dims: number[] }> = { [card.input.name]: { data, dims } };
      for (const [name, t] of Object.entries(card.constantFeeds ?? {})) feeds[name] = { data: Float32Array.from(t.data), dims: t.dims };
      await engine.run(feeds, card.output.name); // warm-up: first run allocates and picks kernels
      await engine.run(feeds, card.output.name);
      const times: number[] = [];
      const minRuns = options.minRuns ?? 5;
      const minMs = (options.minSeconds ?? 2) * 1000;
      const start = performance.now();
      while (times.length < minRuns || performance.now() - start < minMs) {
        const t0 = performance.now();
        await engine.run(feeds, card.output.name);
        times.push(performance.now() - t0);
        if (times.length >= 200) break;
      }
      times.sort((a, b) => a - b);
      const median = times[Math.floor(times.length / 2)]!;
      results.push({ batch, msPerFrame: median / batch, framesPerSecond: (1000 * batch) / median, runs: times.length });
    }
  } finally {
    await engine.dispose();
  }
  return results;
}
