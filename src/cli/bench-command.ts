/** `sgus bench`: model and pipeline speed, written to bench/results.json and bench/report.md. */
import { existsSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { betterPeak, measurePeak } from '../bench/peak-flops.js';
import { runOpenCvPeer } from '../bench/opencv-peer.js';
import { PEERS } from '../bench/peers.js';
import { runE2e, runLiveCell, runSoak } from '../bench/pipeline-runs.js';
import type { BenchVideo, LiveCell } from '../bench/pipeline-runs.js';
import { runDicomCineBench } from '../bench/dicom-cine.js';
import { runPacsBurst } from '../bench/pacs-burst.js';
import { measureScoreCost } from '../bench/score-cost.js';
import { measureRaw } from '../bench/raw-speed.js';
import { runReplayChild } from '../bench/replay-child.js';
import { renderConsole, renderMarkdown, renderSummary, replaceSummaryBlock, RESULTS_SCHEMA, SECTIONS } from '../bench/report.js';
import type { BenchResults, BenchSection, CliReplayRow } from '../bench/report.js';
import { renderScaleSvg, runScale } from '../bench/scale.js';
import { defaultThreads } from '../engine/onnx-engine.js';
import { describeError, ErrorCode, SgusError } from '../errors.js';
import { probeVideo } from '../pipeline/probe.js';
import { writeSyntheticClip } from '../pipeline/synthetic-clip.js';
import type { LoadedCard } from '../segmenter/model-card.js';
import { listModels, PACKAGE_ROOT, resolveModel } from '../segmenter/model-registry.js';
import { machineDescription, measureSpeed } from '../segmenter/model-speed.js';
import { createSegmenter } from '../segmenter/segmenter.js';
import { intOption, parse } from './args.js';
import type { CliCommand } from './command.js';

const EXAM = path.join(process.env.SGUS_DATA ?? path.resolve(PACKAGE_ROOT, '..', 'shared', 'data', 'sgus'), 'video', 'parotid-exam-1280x720-25fps.mp4');

const help = `
Usage: sgus bench [--quick] [--only SECTION[,SECTION]] [--soak-seconds N] [--out DIR] [--model NAME]

Measures, in one run, and writes DIR/results.json and DIR/report.md (the figures the README quotes):
  raw    every shipped model (or --model), batch 1/2/4/8, on every engine/device present (ONNX
         Runtime CPU; CUDA and TF.js when installed, else skipped with a note): ms per frame,
         frames/s, GFLOP/s and fraction of this machine's peak (a 2048x2048 fp32 MatMul through
         ONNX Runtime, measured in the same run)
  e2e    replay of the recorded exam (real data when present, else a synthetic clip of the same size)
         at max speed through the same pipeline as 'sgus replay', next to the raw model speed at the
         same batch size: overhead; then the shipped command, 'sgus replay VIDEO --out DIR' as a child
         process, with every output and with --no-video: fps by wall clock and start-up (command
         start → first frame segmented) included
  peer   the seed's video mode in OpenCV (scripts/opencv-peer.py: VideoCapture, cv2.dnn, drawContours,
         VideoWriter; Debian python3-opencv) against 'sgus replay --out' on the same video and model
         (unet-m: OpenCV 4.6 cannot read the MobileNetV2 exports), same run: fps and ratio
  live   latency p50/p95/p99/max at real-time pace: 1, 2, 4 streams x 1, 10, 50 headless WebSocket
         viewers (loopback) x batching on/off
  scale  1, 2, 4, 8 live streams (fps each, p99) and 1 … 200 viewers of one stream (fps at the
         viewer, CPU): tables and DIR/scale.svg
  soak   looping replay with 10 viewers for --soak-seconds: memory and latency, first vs last minute
  dicom  'sgus replay' of a 1000-frame JPEG Baseline DICOM cine loop of the exam against the same
         frames from MP4 (100 with --quick): time ratio (target <= 1.10)
  pacs   100 US images (20 with --quick) pushed by storescu to 'sgus listen', each segmented and its
         Segmentation and report stored on an Orthanc of its own: instances/s, peak memory
The raw section also times the gland score (features + model) per frame (target <= 2 ms).
The report also quotes published figures of DeepSGUS and NVIDIA Holoscan (labelled as quoted).
A timing is never a pass/fail result. Run on a quiet machine: other load makes every figure worse.

Options:
      --quick             short cells, short e2e, 30 s soak (development, smoke test; indicative only)
      --only LIST         sections to run, comma-separated: ${SECTIONS.join(', ')} (default all)
      --soak-seconds N    soak duration (default 600; 30 with --quick)
      --out DIR           where results.json and report.md go (default bench/)
  -m, --model NAME|PATH   benchmark this model only (default: every shipped model; the pipeline
                          sections use the default model)
      --video FILE        use this video for e2e, live and soak instead of the exam
      --synthetic         use a synthetic clip even when the real exam is present
      --batch N           batch size of the e2e, live (batching on) and soak runs (default 4)
      --threads N         inference threads (default: cores, at most 8)
      --update-docs       also write the summary into README.md and docs/performance.md, between
                          their '<!-- sgus-bench:summary:start/end -->' markers
  -q, --quiet             no progress lines

Examples:
  npm run bench
  sgus bench --quick --only raw,e2e
  sgus bench --only soak --soak-seconds 1800
`;

function progress(quiet: boolean, line: string): void {
  if (!quiet) process.stderr.write(`bench: ${line}\n`);
}

async function pickVideo(values: Record<string, unknown>, quick: boolean, notes: string[], quiet: boolean): Promise<BenchVideo> {
  if (typeof values.video === 'string') {
    if (!existsSync(values.video)) throw new SgusError(ErrorCode.FileUnreadable, 'no such file', { where: values.video });
    return { path: values.video, probe: await probeVideo(values.video), kind: 'video' };
  }
  if (values.synthetic !== true && existsSync(EXAM)) return { path: EXAM, probe: await probeVideo(EXAM), kind: 'real exam' };
  // Same size and length as the recorded exam (shorter in quick runs); cached between runs. Drawing
  // 73 s of 1280x720 frames in JavaScript takes minutes: 10 s are drawn and repeated by FFmpeg.
  const [w, h, s] = quick ? [640, 360, 10] : [1280, 720, 73];
  const file = path.join(os.tmpdir(), `sgus-bench-synthetic-${w}x${h}-${s}s.mp4`);
  if (!existsSync(file)) {
    progress(quiet, `generating a ${w}x${h} ${s} s synthetic clip (${file})`);
    const part = path.join(os.tmpdir(), `sgus-bench-synthetic-${w}x${h}-10s.mp4`);
    await writeSyntheticClip({ path: part, width: w, height: h, seconds: Math.min(10, s), fps: 25, reuse: true });
    if (part !== file) {
      const tmp = `${file}.${process.pid}.tmp.mp4`;
      await runFfmpeg(['-stream_loop', String(Math.ceil(s / 10)), '-i', part, '-c', 'copy', '-t', String(s), '-movflags', '+faststart', tmp], part);
      await rename(tmp, file);
    }
  }
  notes.push(values.synthetic === true ? 'Synthetic clip used (--synthetic).' : `Real exam not found at ${EXAM}: a synthetic clip of similar size was used.`);
  return { path: file, probe: await probeVideo(file), kind: 'synthetic clip' };
}

async function pickModels(spec: string | undefined): Promise<{ all: LoadedCard[]; main: LoadedCard; notes: string[] }> {
  const notes: string[] = [];
  if (spec !== undefined) {
    const m = await resolveModel(spec);
    return { all: [m], main: m, notes };
  }
  const { models, problems } = await listModels();
  for (const p of problems) if (!p.endsWith('no models folder')) notes.push(`Model not loaded: ${p}`);
  if (models.length > 0) return { all: models, main: models.find((m) => m.card.default === true) ?? models[0]!, notes };
  const dev = process.env.SGUS_TEST_MODEL;
  if (dev !== undefined && dev !== '') {
    const m = await resolveModel(dev);
    notes.push(`No shipped model: the development model from $SGUS_TEST_MODEL (${dev}) was measured.`);
    return { all: [m], main: m, notes };
  }
  throw new SgusError(ErrorCode.ModelInvalid, 'no model to benchmark: ship one under models/ or pass --model PATH');
}

/** Runs FFmpeg to completion; a failure is one line naming `where`. */
function runFfmpeg(args: string[], where: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const ff = spawn(process.env.FFMPEG_PATH ?? 'ffmpeg', ['-hide_banner', '-loglevel', 'error', '-nostdin', '-y', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    ff.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-500)));
    ff.once('error', (e) => reject(new SgusError(ErrorCode.SourceFailure, `cannot run ffmpeg: ${e.message}`, { where })));
    ff.once('close', (code) => (code === 0 ? resolve() : reject(new SgusError(ErrorCode.SourceFailure, `ffmpeg failed (code ${String(code)}): ${err.trim().split('\n').pop() ?? ''}`, { where }))));
  });
}

/**
 * The feed of the live and soak sections: the video re-encoded with a key frame every second and no
 * B-frames, as a scanner's live encoder sends it. Viewers start (and restart after a drop) at a key
 * frame; the recorded exam has one every 10 s, so a viewer joining it live would wait up to 10 s.
 */
async function liveFeed(video: BenchVideo, seconds: number, notes: string[], quiet: boolean): Promise<BenchVideo> {
  const fps = Math.round(video.probe.fps) || 25;
  const file = path.join(os.tmpdir(), `sgus-bench-live-${path.basename(video.path).replace(/\.[^.]*$/, '')}-${video.probe.width}x${video.probe.height}-${seconds}s-g${fps}.mp4`);
  if (!existsSync(file)) {
    progress(quiet, `re-encoding ${seconds} s of the video with a 1 s key-frame interval for the live sections (${file})`);
    const tmp = `${file}.${process.pid}.tmp.mp4`;
    await runFfmpeg(['-t', String(seconds), '-i', video.path, '-an', '-c:v', 'libx264', '-preset', 'veryfast', '-profile:v', 'high', '-bf', '0', '-g', String(fps), '-pix_fmt', 'yuv420p', '-movflags', '+faststart', tmp], video.path);
    await rename(tmp, file);
  }
  notes.push(`Live and soak sections: the first ${seconds} s of the ${video.kind}, re-encoded H.264 with a key frame every second (as a scanner's live encoder sends it), played at its frame rate (looped in the soak, where the hub's viewer video is then encoded: FFmpeg cannot pass H.264 through a loop).`);
  return { path: file, probe: await probeVideo(file), kind: `${video.kind} (live feed, 1 s GOP)` };
}

/** The model the peer section compares on: OpenCV 4.6's importer refuses the MobileNetV2 exports (dynamic Pad). */
const PEER_MODEL = process.env.SGUS_BENCH_PEER_MODEL ?? 'unet-m';
/** The smaller annotated video the e2e section also measures ($SGUS_ANNOTATED_LONG_SIDE). */
const SMALL_VIDEO_LONG_SIDE = 640;
/** Seconds of video the quick run's command-line and peer runs replay. */
const QUICK_CLI_SECONDS = 8;

/** The video's first `seconds` (stream copy, cached), for quick runs of the child processes; the video itself when shorter. */
async function quickCut(video: BenchVideo, seconds: number, notes: string[], quiet: boolean): Promise<BenchVideo> {
  if (video.probe.duration !== undefined && video.probe.duration <= seconds + 0.5) return video;
  const file = path.join(os.tmpdir(), `sgus-bench-cut-${path.basename(video.path).replace(/\.[^.]*$/, '')}-${video.probe.width}x${video.probe.height}-${seconds}s.mp4`);
  if (!existsSync(file)) {
    progress(quiet, `cutting the first ${seconds} s of the video for the quick command-line runs (${file})`);
    const tmp = `${file}.${process.pid}.tmp.mp4`;
    await runFfmpeg(['-i', video.path, '-t', String(seconds), '-an', '-c', 'copy', '-movflags', '+faststart', tmp], video.path);
    await rename(tmp, file);
  }
  const note = `Quick run: the command-line and peer runs replay the first ${seconds} s of the ${video.kind} only.`;
  if (!notes.includes(note)) notes.push(note);
  return { path: file, probe: await probeVideo(file), kind: `${video.kind} (first ${seconds} s)` };
}

/** The peer section: the OpenCV peer, then ours with every output, same video, model and threads. */
async function peerSection(video: BenchVideo, threads: number, batch: number, quiet: boolean): Promise<NonNullable<BenchResults['peer']>> {
  const where = `${video.kind} ${path.basename(video.path)} (${video.probe.width}x${video.probe.height})`;
  let model: LoadedCard;
  try {
    model = await resolveModel(PEER_MODEL);
  } catch (err) {
    return { model: PEER_MODEL, video: where, skipped: `model ${PEER_MODEL} not available (${err instanceof Error ? err.message : String(err)})` };
  }
  const peer = await runOpenCvPeer({ video: video.path, cardPath: model.cardPath, threads, maxFrames: 0 });
  if (!peer.ok) {
    progress(quiet, `peer: skipped: ${peer.reason}`);
    return { model: model.card.name, video: where, skipped: `OpenCV peer: ${peer.reason}` };
  }
  progress(quiet, `peer: OpenCV ${peer.opencv}: ${peer.frames} frames in ${peer.seconds} s: ${peer.fps} fps`);
  const ours = await runReplayChild({ video: video.path, model: model.cardPath, batch, threads, annotated: true });
  progress(quiet, `peer: sgus replay --out --model ${model.card.name}: ${ours.frames} frames in ${ours.seconds} s: ${ours.fps} fps`);
  const { ok: _ok, ...figures } = peer;
  return { model: model.card.name, video: where, ours: { ...ours, model: model.card.name }, peer: figures, ratio: peer.fps > 0 ? Math.round((ours.fps / peer.fps) * 100) / 100 : undefined };
}

const command: CliCommand = {
  help,
  async run(args: string[]): Promise<number> {
    const { values, positionals } = parse(args, {
      quick: { type: 'boolean' },
      only: { type: 'string' },
      'soak-seconds': { type: 'string' },
      out: { type: 'string' },
      model: { type: 'string', short: 'm' },
      video: { type: 'string' },
      synthetic: { type: 'boolean' },
      batch: { type: 'string' },
      threads: { type: 'string' },
      quiet: { type: 'boolean', short: 'q' },
      'update-docs': { type: 'boolean' },
    });
    if (positionals.length > 0) throw new SgusError(ErrorCode.InvalidArgument, `bench takes no positional arguments, got '${positionals[0]}' (see --help)`);
    const quick = values.quick === true;
    const quiet = values.quiet === true;
    let sections: BenchSection[] = [...SECTIONS];
    if (typeof values.only === 'string') {
      const asked = values.only.split(',').map((s) => s.trim()).filter((s) => s !== '');
      for (const s of asked) if (!SECTIONS.includes(s as BenchSection)) throw new SgusError(ErrorCode.InvalidArgument, `--only takes ${SECTIONS.join(', ')}; got '${s}'`);
      if (asked.length === 0) throw new SgusError(ErrorCode.InvalidArgument, '--only needs at least one section');
      sections = SECTIONS.filter((s) => asked.includes(s));
    }
    const soakSeconds = intOption(values['soak-seconds'], 'soak-seconds', 3, quick ? 30 : 600);
    const batch = intOption(values.batch, 'batch', 1, 4);
    const threads = intOption(values.threads, 'threads', 1, defaultThreads());
    const outDir = (values.out as string | undefined) ?? 'bench';

    const t0 = performance.now();
    const { all, main, notes } = await pickModels(values.model as string | undefined);
    const results: BenchResults = {
      schema: RESULTS_SCHEMA,
      tool: 'sgus bench',
      date: new Date().toISOString(),
      machine: machineDescription(),
      loadAverage: os.loadavg().map((x) => Math.round(x * 100) / 100),
      quick,
      sections,
      models: all.map((m) => m.card.name),
      peakReference: 'OpenBLAS SGEMM reaches about 196 GFLOP/s on the 2-core development machine (quoted)',
      peers: PEERS,
      notes,
      seconds: 0,
    };
    if (os.loadavg()[0]! > os.availableParallelism() * 0.75) notes.push(`The machine was busy when the run started (load average ${os.loadavg()[0]!.toFixed(1)} on ${os.availableParallelism()} cores): figures are pessimistic.`);
    let step = 0;
    const stepLine = (name: string): void => progress(quiet, `[${++step}/${sections.length}] ${name}`);

    if (sections.includes('raw')) {
      stepLine(`raw model speed: ${all.map((m) => m.card.name).join(', ')}`);
      results.peak = await measurePeak({ threads, minSeconds: 2 });
      progress(quiet, `peak: ${results.peak.gflops} GFLOP/s (${results.peak.method})`);
      results.raw = await measureRaw(all, { batches: [1, 2, 4, 8], threads, minSeconds: quick ? 0.3 : 1.5, onProgress: (l) => progress(quiet, l) });
      results.peak = betterPeak(results.peak, await measurePeak({ threads, minSeconds: 2 }));
      progress(quiet, `peak: ${results.peak.gflops} GFLOP/s (${results.peak.method})`);
      const peakGflops = results.peak.gflops;
      for (const row of results.raw.rows) if (row.gflops !== undefined && peakGflops > 0) row.fractionOfPeak = Math.round((row.gflops / peakGflops) * 1000) / 1000;
      if (results.raw.rows.some((r) => (r.fractionOfPeak ?? 0) > 1)) notes.push('A fraction of peak above 100 % means other load slowed the peak measurement (or the card over-counts FLOPs): compare with the quoted reference peak.');
      if (!all.some((m) => typeof m.card.flopsPerFrame === 'number')) notes.push('No card gives flopsPerFrame: GFLOP/s and fraction of peak are blank.');
    }

    if (sections.includes('raw')) {
      try {
        results.scoreCost = await measureScoreCost({ frames: quick ? 50 : 200 });
        progress(quiet, `score: ${results.scoreCost.modelMsPerFrame.toFixed(2)} ms per frame (features + model)`);
      } catch (err) {
        results.scoreCost = { skipped: describeError(err) };
      }
    }

    // The dicom and pacs sections run their own replays and receivers as child processes.
    const pipelineSections = sections.filter((s) => s !== 'raw' && s !== 'dicom' && s !== 'pacs');
    if (pipelineSections.length > 0) {
      const video = await pickVideo(values, quick, notes, quiet);
      const seg = await createSegmenter({ model: main.cardPath, threads });
      try {
        if (sections.includes('e2e')) {
          stepLine(`end to end: replay of ${video.kind} ${video.probe.width}x${video.probe.height} at max speed, batch ${batch}`);
          let rawFps = results.raw?.rows.find((r) => r.model === main.card.name && r.engine === 'onnxruntime' && r.device === 'cpu' && r.batch === batch)?.framesPerSecond;
          if (rawFps === undefined) {
            const [s] = await measureSpeed(main, [batch], { threads, minSeconds: quick ? 0.5 : 2, minRuns: 3 });
            rawFps = Math.round(s!.framesPerSecond * 100) / 100;
          }
          const e = await runE2e(seg, video, { batch, ...(quick ? { maxSeconds: 8 } : {}) });
          const overhead = (fps: number): number | undefined => (rawFps! > 0 ? Math.round((1 - fps / rawFps!) * 1000) / 1000 : undefined);
          results.e2e = { ...e, model: main.card.name, rawFpsSameBatch: rawFps, overhead: overhead(e.fps) };
          progress(quiet, `e2e: ${e.frames} frames at ${e.fps} fps; raw model ${rawFps} fps at batch ${batch}`);
          const cliVideo = quick ? await quickCut(video, QUICK_CLI_SECONDS, notes, quiet) : video;
          const cli: CliReplayRow[] = [];
          // Every output, without the video, and every output with the video scaled down (the annotated video's main lever).
          const runs: Array<{ annotated: boolean; videoLongSide?: number }> = [{ annotated: true }, { annotated: false }];
          if (Math.max(cliVideo.probe.width, cliVideo.probe.height) > SMALL_VIDEO_LONG_SIDE) runs.push({ annotated: true, videoLongSide: SMALL_VIDEO_LONG_SIDE });
          for (const run of runs) {
            const c = await runReplayChild({ video: cliVideo.path, model: main.cardPath, batch, threads, ...run });
            cli.push({ ...c, model: main.card.name, overhead: overhead(c.fps) });
            progress(quiet, `e2e: sgus replay --out (${c.outputs}${c.videoLongSide !== undefined ? `, video ${c.videoLongSide} px long side` : ''}): ${c.frames} frames in ${c.seconds} s wall: ${c.fps} fps, start-up ${c.startupS ?? '–'} s`);
          }
          results.e2e.cli = cli;
        }
        if (sections.includes('peer')) {
          stepLine(`peer: OpenCV video mode against sgus replay --out, model ${PEER_MODEL}`);
          const peerVideo = quick ? await quickCut(video, QUICK_CLI_SECONDS, notes, quiet) : video;
          results.peer = await peerSection(peerVideo, threads, batch, quiet);
        }
        const feed = sections.includes('live') || sections.includes('soak') || sections.includes('scale') ? await liveFeed(video, quick ? 10 : 30, notes, quiet) : video;
        if (sections.includes('live')) {
          const grid: Array<[streams: number, viewers: number, batching: boolean]> = [];
          const streamsList = quick ? [1, 2] : [1, 2, 4];
          const viewersList = quick ? [1, 10] : [1, 10, 50];
          for (const batching of [true, false]) for (const s of streamsList) for (const v of viewersList) grid.push([s, v, batching]);
          stepLine(`live latency: ${grid.length} cells of ${quick ? 2 : 5} s`);
          const cells: LiveCell[] = [];
          for (const [s, v, b] of grid) {
            const c = await runLiveCell(seg, feed, { streams: s, viewers: v, batching: b, maxBatchSize: batch, seconds: quick ? 2 : 5, warmupSeconds: quick ? 1 : 2 });
            cells.push(c);
            progress(quiet, `live: ${s} streams, ${v} viewers, batching ${b ? 'on' : 'off'}: ${c.fpsOutPerStream} fps/stream, viewer p50 ${c.viewer.p50} p95 ${c.viewer.p95} p99 ${c.viewer.p99} max ${c.viewer.max} ms, dropped ${c.dropped}`);
          }
          results.live = { model: main.card.name, video: `${feed.kind} ${path.basename(video.path)} (${feed.probe.width}x${feed.probe.height} ${feed.probe.fps} fps)`, cells };
        }
        if (sections.includes('scale')) {
          const cellSeconds = quick ? 3 : 10;
          stepLine(`scale: 1, 2, 4, 8 streams and 1 … 200 viewers, cells of ${cellSeconds} s`);
          const sc = await runScale(seg, feed, { cellSeconds, warmupSeconds: quick ? 1 : 2, maxBatchSize: batch, onProgress: (l) => progress(quiet, l) });
          results.scale = { ...sc, model: main.card.name, video: `${feed.kind} ${path.basename(video.path)} (${feed.probe.width}x${feed.probe.height} ${feed.probe.fps} fps)`, svg: 'scale.svg' };
        }
        if (sections.includes('soak')) {
          stepLine(`soak: ${soakSeconds} s with 10 viewers`);
          const s = await runSoak(seg, feed, { seconds: soakSeconds, viewers: 10, maxBatchSize: batch, onProgress: (l) => progress(quiet, l) });
          results.soak = { ...s, model: main.card.name, video: `${feed.kind} ${path.basename(video.path)}` };
        }
      } finally {
        await seg.close();
      }
    }

    if (sections.includes('dicom')) {
      stepLine(`DICOM: a ${quick ? 100 : 1000}-frame JPEG cine loop against the same frames from MP4`);
      try {
        results.dicom = await runDicomCineBench({ ...(existsSync(EXAM) && values.synthetic !== true ? { video: EXAM } : typeof values.video === 'string' ? { video: values.video } : {}), frames: quick ? 100 : 1000, model: main.cardPath, batch, threads, onProgress: (l) => progress(quiet, l) });
        progress(quiet, `dicom: ${results.dicom.dicomSeconds.toFixed(1)} s vs MP4 ${results.dicom.mp4Seconds.toFixed(1)} s: ${results.dicom.ratio.toFixed(2)}x`);
      } catch (err) {
        results.dicom = { skipped: describeError(err) };
        progress(quiet, `dicom: not measured: ${results.dicom.skipped}`);
      }
    }
    if (sections.includes('pacs')) {
      stepLine(`PACS burst: ${quick ? 20 : 100} images pushed to sgus listen, results stored on Orthanc`);
      results.pacs = await runPacsBurst({ instances: quick ? 20 : 100, model: main.cardPath, onProgress: (l) => progress(quiet, l) });
      progress(quiet, results.pacs.ok ? `pacs: ${results.pacs.result.instancesPerSecond.toFixed(2)} instances/s` : `pacs: not measured: ${results.pacs.reason}`);
    }

    results.seconds = Math.round((performance.now() - t0) / 100) / 10;
    await mkdir(outDir, { recursive: true });
    const jsonFile = path.join(outDir, 'results.json');
    const mdFile = path.join(outDir, 'report.md');
    await writeFile(jsonFile, `${JSON.stringify(results, null, 2)}\n`);
    await writeFile(mdFile, renderMarkdown(results));
    if (results.scale !== undefined) await writeFile(path.join(outDir, results.scale.svg ?? 'scale.svg'), renderScaleSvg(results.scale, `sgus bench ${results.date}: scale (${results.machine})`));
    if (values['update-docs'] === true) {
      const summary = renderSummary(results);
      for (const doc of [path.join(PACKAGE_ROOT, 'README.md'), path.join(PACKAGE_ROOT, 'docs', 'performance.md')]) {
        const text = await readFile(doc, 'utf8').catch(() => undefined);
        const updated = text !== undefined ? replaceSummaryBlock(text, summary) : undefined;
        if (updated === undefined) {
          progress(quiet, `${doc}: no summary markers, not updated`);
          continue;
        }
        await writeFile(doc, updated);
        progress(quiet, `updated the summary in ${doc}`);
      }
    }
    process.stdout.write(`${renderConsole(results)}\n`);
    progress(quiet, `wrote ${jsonFile}, ${mdFile} (${results.seconds} s)`);
    return 0;
  },
};

export default command;
