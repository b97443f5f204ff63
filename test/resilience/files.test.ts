/**
 * Resilience to bad files, through the CLI as a user meets them: `sgus segment` with images that
 * are broken, mislabelled, tiny or huge; `sgus replay` with videos that are truncated, random bytes,
 * empty or without a video stream. Where an error is due: one line naming the file and a non-zero
 * exit; whatever was produced is complete and valid; no FFmpeg is left running.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { encodePngRgb } from '../../src/core/image-io.js';
import { syntheticFrame } from '../../src/synthetic/ultrasound-frame.js';
import { listModels } from '../../src/segmenter/model-registry.js';
import { HeadlessViewer } from '../../src/bench/viewer-clients.js';
import { CLI, runCli } from '../helpers/cli.js';
import { countFrames } from '../helpers/pipeline.js';
import { testModelSpec } from '../helpers/test-model.js';

const run = promisify(execFile);
// A unique marker in every path: FFmpeg processes started for these files are found by it.
const DIR = mkdtempSync(path.join(os.tmpdir(), 'sgus-resilience-files-'));
const OUTPUTS = ['_SG_PerPixelPredictions.png', '_SG_Black&White.png', '_SG_ContourOverInput.png', '_SG_Contour_Points.txt'];

async function modelArgs(): Promise<string[] | undefined> {
  const m = testModelSpec();
  if (m !== undefined) return ['--model', m];
  return (await listModels()).models.length > 0 ? [] : undefined;
}

async function ffmpeg(args: string[]): Promise<void> {
  await run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-nostdin', '-y', ...args]);
}

/** A 160x120 25 fps test-pattern H.264 clip: a key frame every second, no B-frames. */
async function testClip(file: string, seconds: number, outputOptions: string[] = []): Promise<void> {
  await ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=25', '-t', String(seconds), '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-g', '25', '-bf', '0', ...outputOptions, file]);
}

/** FFmpeg/ffprobe processes whose command line names our folder. */
async function leakedFfmpeg(): Promise<string[]> {
  try {
    const { stdout } = await run('pgrep', ['-a', '-f', path.basename(DIR)]);
    return stdout.split('\n').filter((l) => /ff(mpeg|probe)/.test(l));
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

/** Width and height from a PNG's IHDR (without decoding 100 megapixels again). */
async function pngSize(file: string): Promise<[number, number]> {
  const b = await readFile(file);
  assert.equal(b.subarray(1, 4).toString('latin1'), 'PNG', `${file} is not a PNG`);
  return [b.readUInt32BE(16), b.readUInt32BE(20)];
}

test.after(async () => {
  await rm(DIR, { recursive: true, force: true });
});

test('segment: broken, mislabelled, empty and tiny images — one line per bad file naming it, exit 1, the good ones complete', async (t) => {
  const model = await modelArgs();
  if (model === undefined) return t.skip('no model (models/ or $SGUS_TEST_MODEL)');
  const dir = path.join(DIR, 'images');
  await mkdir(dir);
  const f = syntheticFrame({ width: 200, height: 160, seed: 1 });
  const cases: Record<string, Buffer | Uint8Array> = {
    'png-named.jpg': encodePngRgb(f.image), // a PNG with a .jpg name: decoded by content
    'one-pixel.png': encodePngRgb({ width: 1, height: 1, data: new Uint8Array([90, 90, 90]) }),
    'random.png': Buffer.from(Array.from({ length: 20_000 }, (_, i) => (i * 2654435761) >>> 24)),
    'zero.png': Buffer.alloc(0),
    'truncated.png': Buffer.from(encodePngRgb(f.image)).subarray(0, 3000),
    'video.mp4.png': Buffer.from('\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41', 'latin1'),
  };
  for (const [name, bytes] of Object.entries(cases)) await writeFile(path.join(dir, name), bytes);
  const out = path.join(DIR, 'images-out');
  const r = await runCli(['segment', ...model, '-q', '-o', out, ...Object.keys(cases).map((n) => path.join(dir, n)), path.join(dir, 'missing.png')]);
  t.diagnostic(`segment: tried ${Object.keys(cases).length + 1} files (${Object.keys(cases).join(', ')}, missing.png)`);
  assert.equal(r.code, 1, r.stderr);
  const errors = r.stderr.split('\n').filter((l) => l.startsWith('sgus segment:'));
  const bad = ['random.png', 'zero.png', 'truncated.png', 'video.mp4.png', 'missing.png'];
  assert.equal(errors.length, bad.length, r.stderr);
  for (const b of bad) assert.ok(errors.some((l) => l.includes(path.join(dir, b))), `no error line names ${b}:\n${r.stderr}`);
  for (const l of errors) assert.ok(!l.includes('\n') && l.length < 300, `not one short line: ${l}`);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  const files = await readdir(out);
  for (const stem of ['png-named', 'one-pixel']) for (const s of OUTPUTS) assert.ok(files.includes(stem + s), `${stem}${s} missing`);
  assert.deepEqual(await pngSize(path.join(out, 'one-pixel_SG_Black&White.png')), [1, 1]);
  assert.deepEqual(await pngSize(path.join(out, 'png-named_SG_ContourOverInput.png')), [200, 160]);
  assert.ok(!files.some((n) => bad.some((b) => n.startsWith(b.replace(/\.[^.]*$/, '') + '_SG_'))), `outputs for a bad file: ${files.join(', ')}`);
});

/** One outline of a contour points file: its `# contour K outer|hole parent P points N` header and the pairs after it. */
interface ContourBlock {
  header: string;
  hole: boolean;
  declared: number;
  points: [number, number][];
}

/** Reads a `_SG_Contour_Points.txt` file: `#` lines start an outline, every other line is one `x y` pair. */
function parseContourPoints(text: string): ContourBlock[] {
  const blocks: ContourBlock[] = [];
  for (const l of text.split('\n')) {
    if (l === '') continue;
    // The gland's figures (area, perimeter...), not an outline.
    if (l.startsWith('# gland ')) continue;
    if (l.startsWith('#')) {
      const m = /^# contour \d+ (outer|hole) parent -?\d+ points (\d+)$/.exec(l);
      assert.ok(m !== null, `contour header '${l}'`);
      blocks.push({ header: l, hole: m[1] === 'hole', declared: Number(m[2]), points: [] });
      continue;
    }
    assert.match(l, /^\d+ \d+$/, `contour point '${l}'`);
    const block = blocks.at(-1);
    assert.ok(block !== undefined, `contour point '${l}' before any '# contour' line`);
    const [x, y] = l.split(' ').map(Number);
    block.points.push([x!, y!]);
  }
  return blocks;
}

test('segment: a 10000x10000 image is segmented, its outputs at full size, the gland outlined in its pixels', async (t) => {
  const model = await modelArgs();
  if (model === undefined) return t.skip('no model (models/ or $SGUS_TEST_MODEL)');
  const dir = path.join(DIR, 'huge');
  await mkdir(dir);
  // A synthetic scan (a gland the model finds) scaled 25 times by FFmpeg, which writes the 100
  // megapixels in a second or two (pngjs would take ten and more).
  const scale = 25;
  const f = syntheticFrame({ width: 400, height: 400, seed: 3 });
  const small = path.join(dir, 'small.png');
  await writeFile(small, encodePngRgb(f.image));
  const file = path.join(dir, 'huge.png');
  await ffmpeg(['-i', small, '-vf', `scale=${400 * scale}:${400 * scale}:flags=neighbor`, '-pix_fmt', 'rgb24', '-compression_level', '1', file]);
  const out = path.join(dir, 'out');
  const r = await runCli(['segment', ...model, '-q', '-o', out, file], { timeoutMs: 170_000 });
  t.diagnostic('segment: tried one 10000x10000 image');
  assert.equal(r.code, 0, r.stderr);
  for (const s of OUTPUTS) {
    const size = (await stat(path.join(out, `huge${s}`))).size;
    assert.ok(size > 0, `huge${s} is empty`);
  }
  assert.deepEqual(await pngSize(path.join(out, 'huge_SG_Black&White.png')), [10000, 10000]);
  // The points file: outlines, each after its header, every point a pixel of the full-size image.
  const blocks = parseContourPoints(await readFile(path.join(out, 'huge_SG_Contour_Points.txt'), 'utf8'));
  for (const b of blocks) {
    assert.equal(b.points.length, b.declared, `'${b.header}' is followed by ${b.points.length} points`);
    for (const [x, y] of b.points) assert.ok(x >= 0 && x < 10000 && y >= 0 && y < 10000, `contour point ${x} ${y}`);
  }
  const outer = blocks.filter((b) => !b.hole).sort((p, q) => q.points.length - p.points.length)[0];
  assert.ok(outer !== undefined, `no outline found: ${blocks.map((b) => b.header).join('; ')}`);
  // The largest outline lies around the synthetic gland, in the big image's coordinates (a model
  // that segmented only its 400x400 view would give points 25 times too small).
  const xs = outer.points.map(([x]) => x);
  const ys = outer.points.map(([, y]) => y);
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const g = f.gland;
  t.diagnostic(`segment: ${blocks.length} outline(s); largest ${outer.points.length} points, box x ${x0}..${x1} y ${y0}..${y1}; gland centre ${Math.round(g.cx * scale)},${Math.round(g.cy * scale)}`);
  // Its box's centre is a gland pixel of the synthetic mask, its size about the gland's.
  const [cx, cy] = [Math.floor((x0 + x1) / 2 / scale), Math.floor((y0 + y1) / 2 / scale)];
  assert.equal(f.mask.data[cy * f.mask.width + cx], 255, `outline centred at ${cx},${cy} of the 400x400 scan, off the gland`);
  const d = 2 * Math.max(g.rx, g.ry) * scale;
  assert.ok(x1 - x0 > 0.4 * d && x1 - x0 < 2 * d && y1 - y0 > 0.4 * d && y1 - y0 < 2 * d, `outline box ${x1 - x0}x${y1 - y0} against a gland ${Math.round(d)} across`);
});

test('replay: random bytes, an empty file and an audio-only MP4 fail with one line naming the file, exit 1, no FFmpeg left', async (t) => {
  const model = await modelArgs();
  if (model === undefined) return t.skip('no model (models/ or $SGUS_TEST_MODEL)');
  const dir = path.join(DIR, 'videos');
  await mkdir(dir, { recursive: true });
  const random = path.join(dir, 'random.mp4');
  await writeFile(random, Buffer.from(Array.from({ length: 64_000 }, (_, i) => (i * 2654435761 + 7) >>> 24)));
  const zero = path.join(dir, 'zero.mp4');
  await writeFile(zero, Buffer.alloc(0));
  const audio = path.join(dir, 'audio-only.mp4');
  await ffmpeg(['-f', 'lavfi', '-i', 'sine=frequency=440:duration=1', '-c:a', 'aac', audio]);
  const image = path.join(dir, 'picture.mp4');
  await writeFile(image, encodePngRgb(syntheticFrame({ width: 64, height: 48, seed: 2 }).image));
  const inputs = [random, zero, audio, image, path.join(dir, 'missing.mp4')];
  const results = await Promise.all(inputs.map((file) => runCli(['replay', ...model, '-q', '--out', path.join(dir, `out-${path.basename(file)}`), file], { timeoutMs: 60_000 })));
  t.diagnostic(`replay: tried ${inputs.length} bad videos (random bytes, zero bytes, audio only, a PNG named .mp4, missing)`);
  for (const [i, r] of results.entries()) {
    const file = inputs[i]!;
    if (file === image) {
      // FFmpeg reads a PNG whatever its name: one frame, segmented. Not an error, but complete.
      if (r.code === 0) {
        const nd = (await readFile(path.join(dir, 'out-picture.mp4', 'picture.contours.ndjson'), 'utf8')).trim().split('\n');
        assert.equal(nd.length, 1);
        continue;
      }
    }
    assert.equal(r.code, 1, `${file}: ${r.stderr}`);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, `one line for ${file}:\n${r.stderr}`);
    assert.ok(lines[0]!.startsWith('sgus: ') && lines[0]!.includes(file), `the error names ${file}: ${lines[0]}`);
  }
  assert.match(results[2]!.stderr, /no video stream/);
  assert.deepEqual(await leakedFfmpeg(), []);
});

test('replay: a truncated MP4 gives the frames it holds; annotated MP4, NDJSON and metrics agree and are valid', async (t) => {
  const model = await modelArgs();
  if (model === undefined) return t.skip('no model (models/ or $SGUS_TEST_MODEL)');
  const dir = path.join(DIR, 'truncated');
  await mkdir(dir, { recursive: true });
  const whole = path.join(dir, 'whole.mp4');
  // moov first (faststart), so the cut file still says what it holds; the cut falls mid-stream.
  await testClip(whole, 4, ['-movflags', '+faststart']);
  const bytes = await readFile(whole);
  const cut = path.join(dir, 'cut.mp4');
  await writeFile(cut, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
  // And an MP4 whose moov (at the end) was cut off: nothing to read.
  const noMoov = path.join(dir, 'no-index.mp4');
  await ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=25', '-t', '2', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', path.join(dir, 'moov-last.mp4')]);
  const b2 = await readFile(path.join(dir, 'moov-last.mp4'));
  await writeFile(noMoov, b2.subarray(0, Math.floor(b2.length * 0.7)));

  const out = path.join(dir, 'out');
  const [r, r2] = await Promise.all([runCli(['replay', ...model, '-q', '--out', out, cut], { timeoutMs: 90_000 }), runCli(['replay', ...model, '-q', '--out', path.join(dir, 'out2'), noMoov], { timeoutMs: 60_000 })]);
  t.diagnostic('replay: tried a truncated MP4 (index first) and one cut before its index');
  assert.equal(r2.code, 1, r2.stderr);
  assert.ok(r2.stderr.trim().split('\n').length === 1 && r2.stderr.includes(noMoov), r2.stderr);

  // The cut file: whatever FFmpeg decodes is segmented and written, and the exit code says the
  // input was incomplete (3), or an error (1) names the file.
  assert.ok(r.code === 3 || r.code === 1, r.stderr);
  if (r.code === 1) assert.ok(r.stderr.includes(cut), `the error names the file: ${r.stderr}`);
  else assert.match(r.stderr, new RegExp(`${cut.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: input incomplete: truncated: ended after \\d+ of the 100 frames its container announces`));
  const ndjson = (await readFile(path.join(out, 'cut.contours.ndjson'), 'utf8')).trim().split('\n');
  const records = ndjson.map((l, i) => {
    try {
      return JSON.parse(l) as { index: number };
    } catch {
      throw new Error(`NDJSON line ${i + 1} does not parse: ${l.slice(0, 80)}`);
    }
  });
  assert.ok(records.length >= 10 && records.length < 100, `frames ${records.length}`);
  assert.deepEqual(records.map((x) => x.index), records.map((_, i) => i), 'every frame once, in order');
  // The annotated video is a finalised MP4 with the same frames (ffprobe decodes every one).
  assert.equal(await countFrames(path.join(out, 'cut.annotated.mp4')), records.length);
  const metrics = JSON.parse(await readFile(path.join(out, 'cut.metrics.json'), 'utf8')) as { streams: Array<{ framesOut: number }> };
  assert.equal(metrics.streams[0]!.framesOut, records.length);
  assert.deepEqual(await leakedFfmpeg(), []);
});

test('replay: FFmpeg killed mid-stream under the CLI — exit 1, one line naming the source, outputs finalised, no FFmpeg left', async (t) => {
  const model = await modelArgs();
  if (model === undefined) return t.skip('no model (models/ or $SGUS_TEST_MODEL)');
  const dir = path.join(DIR, 'kill-input');
  await mkdir(dir, { recursive: true });
  const input = path.join(dir, 'exam.mp4');
  await testClip(input, 6);
  const out = path.join(os.tmpdir(), `${path.basename(DIR)}-kill-out`);
  const running = runCli(['replay', ...model, '--realtime', '-q', '--out', out, input], { timeoutMs: 60_000 });
  // The decoding FFmpeg is the one reading our input ('-i …/kill-input/exam.mp4') into pipe:1 (not
  // the one-frame FFmpeg that reads the depth ruler first, which ends on its own).
  let pid: number | undefined;
  for (let i = 0; i < 100 && pid === undefined; i++) {
    await new Promise((r) => setTimeout(r, 100));
    try {
      const { stdout } = await run('pgrep', ['-f', `ffmpeg .*-i ${input.replace(/[.]/g, '[.]')} .*pipe:1`]);
      pid = Number(stdout.trim().split('\n')[0]);
    } catch {
      // not started yet
    }
  }
  assert.ok(pid !== undefined && pid > 0, 'found the decoding FFmpeg');
  await new Promise((r) => setTimeout(r, 1500));
  process.kill(pid, 'SIGKILL');
  const r = await running;
  t.diagnostic(`replay CLI: killed the decoding FFmpeg (pid ${pid}) after 1.5 s: exit ${r.code}, '${r.stderr.trim().split('\n').pop()}'`);
  try {
    assert.equal(r.code, 1, r.stderr);
    const last = r.stderr.trim().split('\n').pop()!;
    assert.ok(last.startsWith('sgus: ') && last.includes(input) && /SIGKILL|signal|exited/.test(last), last);
    const recs = (await readFile(path.join(out, 'exam.contours.ndjson'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { index: number });
    assert.ok(recs.length > 5 && recs.length < 150, `${recs.length} frames before the kill`);
    assert.equal(await countFrames(path.join(out, 'exam.annotated.mp4')), recs.length, 'the annotated MP4 is finalised with every segmented frame');
    assert.deepEqual(await leakedFfmpeg(), []);
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});

test('serve: a preset on a missing capture device logs a clear error while another stream keeps serving its viewer; Ctrl-C ends cleanly', async (t) => {
  const model = await modelArgs();
  if (model === undefined) return t.skip('no model (models/ or $SGUS_TEST_MODEL)');
  const dir = path.join(DIR, 'serve');
  await mkdir(dir, { recursive: true });
  const exam = path.join(dir, 'exam.mp4');
  await testClip(exam, 3);
  await writeFile(path.join(dir, 'cam.json'), JSON.stringify({ name: 'cam', source: { type: 'device', path: '/dev/video99' }, mode: 'live', settings: { reconnectInitialMs: 100, reconnectMaxMs: 500 } }));
  await writeFile(path.join(dir, 'exam.json'), JSON.stringify({ name: 'exam', source: { type: 'file', path: 'exam.mp4' }, mode: 'replay', loop: true, realtime: true }));
  const child = spawn(process.execPath, [CLI, 'serve', ...model, '--port', '0', '--token', 'tok', '--stream', path.join(dir, 'cam.json'), '--stream', path.join(dir, 'exam.json')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  let viewer: HeadlessViewer | undefined;
  try {
    const t0 = Date.now();
    while (!/viewer: http:\/\/\S+/.test(stdout)) {
      if (Date.now() - t0 > 60_000 || child.exitCode !== null) throw new Error(`no viewer URL: ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const url = new URL(/viewer: (http:\/\/\S+)/.exec(stdout)![1]!);
    viewer = new HeadlessViewer({ url: `ws://${url.host}/ws?token=tok`, streamId: 'exam' });
    await viewer.opened();
    const t1 = Date.now();
    while (viewer.frames < 40 || !/video99/.test(stderr)) {
      if (Date.now() - t1 > 60_000) throw new Error(`viewer got ${viewer.frames} frames; stderr:\n${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    t.diagnostic(`serve: viewer of 'exam' got ${viewer.frames} frames beside the missing /dev/video99; '${stderr.split('\n').find((l) => l.includes('video99'))}'`);
    assert.ok(stderr.split('\n').some((l) => l.includes('cam') && l.includes('/dev/video99') && /no such capture device/.test(l)), stderr);
  } finally {
    viewer?.close();
    child.kill('SIGINT');
  }
  const code = await Promise.race([exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 20_000))]);
  if (code === 'hung') child.kill('SIGKILL');
  assert.notEqual(code, 'hung', 'serve stops on Ctrl-C');
  assert.deepEqual(await leakedFfmpeg(), []);
});
