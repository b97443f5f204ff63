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
import { execFileSync } from 'node:child_process';
import { renderMarkdown, renderSummary, RESULTS_SCHEMA } from '../../src/bench/report.js';
import type { BenchResults } from '../../src/bench/report.js';
import { renderScaleSvg } from '../../src/bench/scale.js';
import { listModels, resolveModel } from '../../src/segmenter/model-registry.js';
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
  assert.match(r.stderr, /^sgus: --only takes raw, e2e, peer, live, scale, soak, dicom, pacs; got 'warp'\n$/);
  const s = await runCli(['bench', '--soak-seconds', 'x']);
  assert.equal(s.code, 2);
  assert.match(s.stderr, /--soak-seconds must be an integer/);
});

/** Well-formed XML, checked by hand (no parser among the dependencies): one root, tags nested and closed, no bare '<' or '&'. */
function assertWellFormedXml(xml: string): void {
  const body = xml.replace(/^<\?xml[^?]*\?>\s*/, '');
  const stack: string[] = [];
  let roots = 0;
  const re = /<(\/?)([A-Za-z][\w:.-]*)((?:\s+[\w:.-]+="[^"<]*")*)\s*(\/?)>|<|&(?!(?:amp|lt|gt|quot|apos|#\d+);)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(body)) !== null) {
    assert.ok(m[2] !== undefined, `stray '${m[0]}' at ${m.index}: ${body.slice(m.index, m.index + 40)}`);
    if (m[1] === '/') assert.equal(stack.pop(), m[2], `</${m[2]}> closes the wrong element`);
    else if (m[4] !== '/') {
      if (stack.length === 0) roots++;
      stack.push(m[2]);
    } else if (stack.length === 0) roots++;
  }
  assert.deepEqual(stack, [], 'every element is closed');
  assert.equal(roots, 1, 'one root element');
}

test('the scale plot is well-formed SVG even with missing figures and escapes its caption', () => {
  const row = (streams: number, viewers: number, fps: number) => ({ streams, viewers, fpsPerStream: fps, fpsPerViewer: fps, p99: Number.NaN, cpuPercent: 150, dropped: 0 });
  const svg = renderScaleSvg({ streams: [row(1, 1, 25), row(2, 2, 20)], viewers: [row(1, 1, 25), row(1, 200, 0)] }, 'run <1> & "2"');
  assertWellFormedXml(svg);
  assert.match(svg, /^<\?xml [^>]*\?>\n<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.equal((svg.match(/<polyline /g) ?? []).length, 3, 'fps and CPU lines; the all-NaN p99 line is left out');
  assert.ok(svg.includes('run &lt;1&gt; &amp; &quot;2&quot;'));
});

test('bench --quick --only e2e,peer,scale times the replay command with and without the video, skips a missing peer with a note, writes the scale table and SVG', async (t) => {
  const model = await modelArgs();
  if (model === undefined) {
    t.skip('no model (models/ or $SGUS_TEST_MODEL)');
    return;
  }
  const out = await mkdtemp(path.join(os.tmpdir(), 'sgus-bench-test-'));
  try {
    const video = await clip({ width: 160, height: 120, seconds: 2 });
    // No Python there: the peer is a reason in the report, not a failure of the run.
    const r = await runCli(['bench', '--quick', '--only', 'e2e,peer,scale', '--video', video, '--out', out, ...model], { timeoutMs: 280_000, env: { SGUS_BENCH_PYTHON: path.join(out, 'no-such-python') } });
    assert.equal(r.code, 0, r.stderr);
    const results = JSON.parse(await readFile(path.join(out, 'results.json'), 'utf8')) as Record<string, any>;
    assert.deepEqual(results.sections, ['e2e', 'peer', 'scale']);
    const cli = results.e2e.cli;
    assert.deepEqual(cli.map((c: any) => c.outputs), ['all outputs', 'no annotated video']);
    for (const c of cli) {
      assert.equal(c.frames, 50, 'the whole 2 s clip, every frame');
      assert.ok(c.fps > 0 && c.seconds > 0 && typeof c.overhead === 'number');
      assert.ok(c.startupS > 0 && c.startupS < c.seconds, `start-up ${c.startupS} s within the run of ${c.seconds} s`);
    }
    assert.ok(cli[0].videoBytes > 0, 'the annotated MP4 was written');
    assert.equal(cli[1].videoBytes, undefined);
    assert.equal(results.peer.ratio, undefined);
    assert.match(results.peer.skipped, /cannot run .*no-such-python/);
    assert.deepEqual(results.scale.streams.map((x: any) => x.streams), [1, 2, 4, 8]);
    assert.deepEqual(results.scale.viewers.map((x: any) => x.viewers), [1, 10, 50, 100, 200]);
    for (const x of [...results.scale.streams, ...results.scale.viewers]) assert.ok(typeof x.fpsPerStream === 'number' && typeof x.cpuPercent === 'number' && x.cpuPercent >= 0);
    assert.equal(results.scale.svg, 'scale.svg');
    assertWellFormedXml(await readFile(path.join(out, 'scale.svg'), 'utf8'));

    const md = await readFile(path.join(out, 'report.md'), 'utf8');
    for (const s of ['### The shipped command with its outputs', '## Peer measured in this run', '- Not measured: OpenCV peer: cannot run', '## Scale', '](scale.svg)', '| 200 |']) assert.ok(md.includes(s), `report lacks '${s}'`);
    assert.match(r.stdout, /replay command \(all outputs\)/);
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});

function hasCv2(): boolean {
  try {
    execFileSync('/usr/bin/python3', ['-c', 'import cv2'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

test('bench --only peer runs the OpenCV peer and ours on the same clip and reports both and their ratio', async (t) => {
  if (!hasCv2()) {
    t.skip('no cv2 in /usr/bin/python3 (Debian python3-opencv)');
    return;
  }
  const peerModel = await resolveModel('unet-m').catch(() => undefined);
  if (peerModel === undefined) {
    t.skip('model unet-m not shipped');
    return;
  }
  const out = await mkdtemp(path.join(os.tmpdir(), 'sgus-bench-test-'));
  try {
    const video = await clip({ width: 160, height: 120, seconds: 2 });
    const r = await runCli(['bench', '--quick', '--only', 'peer', '--video', video, '--out', out, '--model', 'unet-m'], { timeoutMs: 150_000 });
    assert.equal(r.code, 0, r.stderr);
    const p = (JSON.parse(await readFile(path.join(out, 'results.json'), 'utf8')) as Record<string, any>).peer;
    assert.equal(p.model, 'unet-m');
    assert.equal(p.skipped, undefined);
    assert.equal(p.peer.frames, 50);
    assert.equal(p.ours.frames, 50);
    assert.ok(p.peer.fps > 0 && p.ours.fps > 0);
    assert.equal(p.ratio, Math.round((p.ours.fps / p.peer.fps) * 100) / 100);
    const md = await readFile(path.join(out, 'report.md'), 'utf8');
    assert.match(md, /Ratio SGUS Live \/ OpenCV peer: \*\*[\d.]+×\*\*/);
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});

test('the summary the README quotes carries the replay command with every output, start-up, the OpenCV peer ratio and the scale figures', () => {
  const lat = { p50: 10, p95: 20, p99: 30, max: 40, count: 1 } as any;
  const cliRow = (outputs: string, fps: number, videoLongSide?: number) => ({ outputs, model: 'm', frames: 1830, seconds: 1830 / fps, fps, pipelineFps: fps + 2, startupS: 0.8, videoBytes: undefined, overhead: 0.05, ...(videoLongSide !== undefined ? { videoLongSide } : {}) });
  const scaleRow = (streams: number, viewers: number) => ({ streams, viewers, fpsPerStream: 25, fpsPerViewer: 24.5, p99: 33, cpuPercent: 120, dropped: 0 });
  const r: BenchResults = {
    schema: RESULTS_SCHEMA, tool: 'sgus bench', date: '2026-12-02T00:00:00.000Z', machine: 'test machine, 2 cores', loadAverage: [0.1], quick: false,
    sections: ['e2e', 'peer', 'scale'], models: ['m'], peakReference: 'x', peers: [], notes: [], seconds: 1,
    e2e: { video: 'v', videoKind: 'real exam', width: 1280, height: 720, batch: 4, frames: 1830, seconds: 30, fps: 61, meanBatch: 4, latency: lat, stages: { decode: 1, queue: 1, inferencePerBatch: 40, postprocess: 2, send: 0 }, cappedAtSeconds: undefined, model: 'm', rawFpsSameBatch: 64, overhead: 0.05,
      cli: [cliRow('all outputs', 41.5), cliRow('no annotated video', 58.25), cliRow('all outputs', 47.75, 640)] },
    peer: { model: 'unet-m', video: 'real exam', ours: cliRow('all outputs', 20.5), peer: { frames: 1830, seconds: 146, fps: 12.5, firstFrameS: 0.5, opencv: '4.6.0' }, ratio: 1.64 },
    scale: { model: 'm', video: 'feed', cellSeconds: 10, streams: [1, 2, 4, 8].map((n) => scaleRow(n, n)), viewers: [1, 10, 50, 100, 200].map((v) => scaleRow(1, v)), svg: 'scale.svg' },
  };
  const sum = renderSummary(r);
  assert.match(sum, /every output \(NDJSON, annotated MP4, metrics\) \*\*41\.5 fps\*\* \(target ≥ 40/);
  assert.match(sum, /with the video at 640 px long side \*\*47\.8 fps\*\*/);
  assert.match(sum, /without the annotated video \*\*58\.3 fps\*\* \(target ≥ 60/);
  assert.match(sum, /start-up \(command start → first frame segmented\) \*\*0\.80 s\*\* \(target < 1 s\)/);
  assert.match(sum, /OpenCV 4\.6\.0.*SGUS Live \*\*20\.5 fps\*\*.*OpenCV peer \*\*12\.5 fps\*\*: \*\*1\.64×\*\* \(goal ≥ 1\.5×\)/);
  assert.match(sum, /8 streams 25\.0 fps each, p99 33 ms/);
  assert.match(sum, /200: 24\.5 fps, CPU 120 %.*bench\/scale\.svg/);
  const md = renderMarkdown(r);
  assert.equal((md.match(/\| NDJSON \+ annotated MP4/g) ?? []).length, 2);
  assert.ok(md.includes('Ratio SGUS Live / OpenCV peer: **1.64×**'));
  assert.ok(md.includes('![scale: fps and latency by streams, fps and CPU by viewers](scale.svg)'));
});
