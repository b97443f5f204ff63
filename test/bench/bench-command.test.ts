/**
 * Smoke test of `sgus bench`: a quick run of the raw and end-to-end sections on a tiny synthetic
 * clip writes results.json and report.md with the expected structure. Timings are never checked:
 * they depend on the machine and its load.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { listModels } from '../../src/segmenter/model-registry.js';
import { runCli } from '../helpers/cli.js';
import { clip } from '../helpers/pipeline.js';
import { testModelSpec } from '../helpers/test-model.js';

async function modelArgs(): Promise<string[] | undefined> {
  const m = testModelSpec();
  if (m !== undefined) return ['--model', m];
  // One model keeps the smoke test short (every shipped model is the full bench's job).
  const { models } = await listModels();
  const def = models.find((m) => m.card.default === true) ?? models[0];
  return def !== undefined ? ['--model', def.card.name] : undefined;
}

test('bench --quick --only raw,e2e writes results.json and report.md with every section asked for', async (t) => {
  const model = await modelArgs();
  if (model === undefined) {
    t.skip('no model (models/ or $SGUS_TEST_MODEL)');
    return;
  }
  const out = await mkdtemp(path.join(os.tmpdir(), 'sgus-bench-test-'));
  try {
    const video = await clip({ width: 160, height: 120, seconds: 2 });
    const r = await runCli(['bench', '--quick', '--only', 'raw,e2e', '--video', video, '--out', out, ...model], { timeoutMs: 150_000 });
    assert.equal(r.code, 0, r.stderr);
    // A progress line per section, then the table.
    assert.match(r.stderr, /bench: \[1\/2\] raw model speed/);
    assert.match(r.stderr, /bench: \[2\/2\] end to end/);
    assert.match(r.stdout, /ms\/frame/);
    const results = JSON.parse(await readFile(path.join(out, 'results.json'), 'utf8')) as Record<string, any>;
    assert.equal(results.schema, 1);
    assert.equal(results.tool, 'sgus bench');
    assert.deepEqual(results.sections, ['raw', 'e2e']);
    assert.equal(results.quick, true);
    assert.ok(typeof results.machine === 'string' && results.machine.includes('cores'));
    assert.ok(!Number.isNaN(Date.parse(results.date)));
    assert.ok(results.peak.gflops > 0 && results.peak.size === 2048);
    // Batch 1/2/4/8 on ONNX Runtime CPU for every model; other engines measured or skipped with a reason.
    const cpu = results.raw.rows.filter((x: any) => x.engine === 'onnxruntime' && x.device === 'cpu');
    assert.deepEqual([...new Set(cpu.map((x: any) => x.batch))], [1, 2, 4, 8]);
    for (const row of results.raw.rows) assert.ok(row.msPerFrame > 0 && row.framesPerSecond > 0 && row.runs >= 3);
    for (const s of results.raw.skipped) assert.ok(typeof s.reason === 'string' && s.reason.length > 0);
    const e = results.e2e;
    assert.equal(e.videoKind, 'video');
    assert.equal(e.width, 160);
    assert.ok(e.frames > 0 && e.frames <= 50, `frames ${e.frames}`);
    assert.ok(e.fps > 0 && e.rawFpsSameBatch > 0 && typeof e.overhead === 'number');
    for (const k of ['p50', 'p95', 'p99', 'max']) assert.equal(typeof e.latency[k], 'number');
    assert.equal(results.live, undefined);
    assert.equal(results.soak, undefined);
    assert.ok(results.peers.some((p: any) => p.system === 'DeepSGUS' && p.fps === 24.5));
    assert.ok(results.peers.some((p: any) => /Holoscan/.test(p.system) && p.meanLatencyMs === 37 && p.maxLatencyMs === 54));

    const md = await readFile(path.join(out, 'report.md'), 'utf8');
    for (const heading of ['# SGUS Live benchmark', '## Raw model speed', '## End to end', '## Peers (quoted, not measured here)']) assert.ok(md.includes(heading), `report lacks '${heading}'`);
    assert.ok(md.includes(results.machine), 'the report names the machine');
    assert.ok(md.includes(results.date), 'the report is dated');
    assert.ok(!md.includes('## Live latency') && !md.includes('## Soak'));
    t.diagnostic(`bench smoke: ${results.raw.rows.length} raw rows, ${results.raw.skipped.length} skipped engines, e2e ${e.frames} frames`);
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});

test('bench refuses an unknown section and bad numbers with a one-line error, exit 2', async () => {
  const r = await runCli(['bench', '--only', 'raw,warp']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^sgus: --only takes raw, e2e, live, soak; got 'warp'\n$/);
  const s = await runCli(['bench', '--soak-seconds', 'x']);
  assert.equal(s.code, 2);
  assert.match(s.stderr, /--soak-seconds must be an integer/);
});
