/** `sgus replay FILE|URL`: segment a recorded exam, optional outputs and live viewer. */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { ErrorCode, SgusError } from '../errors.js';
import type { StreamConfig } from '../pipeline/compose.js';
import { probeVideo } from '../pipeline/probe.js';
import type { VideoProbe } from '../pipeline/probe.js';
import { describeSource, sourceFromArgument } from '../pipeline/source-spec.js';
import { intOption, MODEL_OPTIONS, MODEL_OPTIONS_HELP, parse } from './args.js';
import { CALIBRATION_OPTIONS, CALIBRATION_OPTIONS_HELP, calibrationOption } from './calibration-option.js';
import { rulerCalibration } from './ruler-calibration.js';
import type { CliCommand } from './command.js';
import { DICOM_REPLAY_HELP, isDicomReplay, runDicomReplay } from './dicom-replay.js';
import { DICOM_DEFAULT_FPS, openDicomSource } from '../pipeline/dicom-source.js';
import { EXIT_CODES_HELP, ExitCode } from './exit-codes.js';
import { inputDamage } from './input-damage.js';
import { outputLines } from './output-report.js';
import { ProgressBar } from './progress.js';
import { BATCH_STAGE_DEFAULTS } from '../pipeline/batch-stage.js';
import { runSession } from './session.js';
import { formatScoreSummary } from '../score/score-summary.js';
import { loadSegmenter, PIPELINE_OPTIONS, PIPELINE_OPTIONS_HELP, pipelineSettings, SERVER_OPTIONS, SERVER_OPTIONS_HELP, serverSettings, STREAM_COMMAND_DEFAULTS, summaryLine, writeJson } from './stream-options.js';

const help = `
Usage: sgus replay FILE|URL [--out DIR] [--realtime|--max-speed] [--serve] [--loop] [options]

Segments every frame of a recorded exam (any file or URL FFmpeg reads; audio is ignored; or a DICOM
ultrasound cine loop).
Replay is lossless: when inference falls behind, decoding pauses; no frame is skipped.

Options:
  -o, --out DIR           write <stem>.annotated.mp4 (contours drawn on every frame, H.264),
                          <stem>.contours.ndjson (one line per frame: index, pts, contours in source
                          pixels, area, score, latency), <stem>.metrics.json and, when scored,
                          <stem>.score-summary.json: the exam's OMERACT and De Vita grade (median
                          over the frames whose gland area is >= 0.5 of the clip's largest and whose
                          grade's probability is >= 0.5) with its spread (default: no files)
      --no-video          with --out, skip the annotated video (saves decoding full frames and encoding)
      --video-size N      with --out, the annotated video's long side in px, even (default: the source's
                          size; e.g. 640 halves what the video costs on a 1280x720 exam)
      --realtime          pace at the file's frame rate, as if live (default with --serve)
      --max-speed         as fast as the machine allows (default without --serve)
      --serve             also serve the web viewer and print its URL. Without --out, the exam stays
                          open at its end for review: its last frame is held, paused, and viewers can
                          still seek, step back or play it again; Ctrl-C closes it (exit 0)
      --no-hold           with --serve, end when the file ends (the default with --out)
      --loop              replay the file forever (Ctrl-C stops); an FFmpeg that dies is restarted
                          with backoff, as a live source is (one log line)
${SERVER_OPTIONS_HELP}
${CALIBRATION_OPTIONS_HELP}
${PIPELINE_OPTIONS_HELP}
${MODEL_OPTIONS_HELP}

${DICOM_REPLAY_HELP}

Ctrl-C stops reading, finishes the frames in flight and finalises every output (playable MP4,
complete NDJSON). A source that fails (FFmpeg error, stall) ends the replay with exit code 1 (with
--loop it is restarted instead). The
annotated MP4 is fragmented: if its encoder dies, the file keeps what was encoded, the rest of the
replay goes on, and the file is named as incomplete at the end.
A truncated or damaged recording is segmented as far as it goes, then one line says what was
wrong (frames cut off, frames FFmpeg decoded as damaged, frames missing from its timestamps) and
the exit code is 3. Missing frames are also warned about as they come; corrupt and missing frames
are counted in the metrics.

${EXIT_CODES_HELP}

Examples:
  sgus replay exam.mp4 --out out/
  sgus replay exam.dcm --realtime --out out/ --dicom-out out/
  sgus replay exam.mp4 --realtime --serve --port 8080
  sgus replay rtsp://127.0.0.1:8554/exam --max-speed --out out/ --batch 8
`;

const command: CliCommand = {
  help,
  async run(args: string[]): Promise<number> {
    // --dicom-out needs each frame's mask at the source size: the direct loop keeps it (the
    // pipeline carries outlines only); every other DICOM replay goes through the pipeline.
    const dicom = await isDicomReplay(args);
    if (dicom && args.some((a) => a === '--dicom-out' || a.startsWith('--dicom-out='))) return runDicomReplay(args);
    const { values, positionals } = parse(args, {
      ...MODEL_OPTIONS,
      ...PIPELINE_OPTIONS,
      ...SERVER_OPTIONS,
      ...CALIBRATION_OPTIONS,
      out: { type: 'string', short: 'o' },
      'no-video': { type: 'boolean' },
      'video-size': { type: 'string' },
      realtime: { type: 'boolean' },
      'max-speed': { type: 'boolean' },
      serve: { type: 'boolean' },
      loop: { type: 'boolean' },
      'no-hold': { type: 'boolean' },
    });
    if (positionals.length !== 1) throw new SgusError(ErrorCode.InvalidArgument, `replay takes one FILE or URL, got ${positionals.length} (see --help)`);
    if (values.realtime === true && values['max-speed'] === true) throw new SgusError(ErrorCode.InvalidArgument, '--realtime and --max-speed exclude each other');
    const settings = pipelineSettings(values);
    const opened = dicom ? await openDicomSource(positionals[0]!) : undefined;
    const source = opened?.spec ?? sourceFromArgument(positionals[0]!);
    for (const w of opened?.instance.warnings ?? []) process.stderr.write(`sgus replay: ${positionals[0]!}: warning: ${w}\n`);
    if (opened !== undefined && opened.instance.frameTimeMs === undefined && opened.instance.frames > 1) process.stderr.write(`sgus replay: ${positionals[0]!}: no Frame Time, Frame Time Vector or Cine Rate; timing frames at ${DICOM_DEFAULT_FPS} frames/s\n`);
    if (source.type === 'device') throw new SgusError(ErrorCode.InvalidArgument, `${source.path} is a capture device: use 'sgus live --device ${source.path}'`);
    const serve = values.serve === true;
    const viewer = serve ? await serverSettings(values) : undefined;
    // Checked with the other options, before the model loads.
    let calibration = calibrationOption(values);
    const realtime = values.realtime === true || (serve && values['max-speed'] !== true);
    const loop = values.loop === true;
    // Real time: the next frame is a frame interval away, waiting for it only adds latency.
    const maxDelayMs = settings.maxDelayMs ?? (realtime ? STREAM_COMMAND_DEFAULTS.realtimeMaxDelayMs : BATCH_STAGE_DEFAULTS.maxDelayMs);

    // A DICOM file's facts come from its header (ffprobe does not read DICOM cine loops).
    let probe: VideoProbe | undefined = opened?.probe;
    // The file's facts and scale, found while the model loads (runSession): start-up.
    const examine = async (): Promise<void> => {
      // The scanner's own calibration (ultrasound region, else Pixel Spacing) when no --mm-per-px.
      if (calibration === undefined && opened?.calibration !== undefined) calibration = { ...opened.calibration, source: `DICOM ${opened.calibration.source}` };
      // Else a recorded file's depth ruler, read beside the probe.
      const ruler = calibration === undefined && values['no-ruler'] !== true && source.type === 'file' ? rulerCalibration(source.path) : undefined;
      // Datagram protocols (udp, rtp, srt) have no end to probe against and would block ffprobe; the
      // source reads their size from FFmpeg's log instead.
      if (opened === undefined && (source.type === 'file' || (source.type === 'url' && !/^(udp|rtp|srt):/i.test(source.url)))) {
        probe = await probeVideo(source.type === 'file' ? source.path : source.url).catch(async (err: unknown) => {
          await ruler; // its FFmpeg ends before the error goes on
          throw err;
        });
      }
      if (ruler !== undefined) calibration = await ruler;
      if (!settings.quiet) process.stderr.write(`sgus: scale ${calibration !== undefined ? `${calibration.mmPerPxX.toFixed(4)} x ${calibration.mmPerPxY.toFixed(4)} mm/pixel ${calibration.source}` : 'unknown: figures in pixels (give --mm-per-px)'}\n`);
    };

    const out = values.out as string | undefined;
    const stem = path.basename(describeSource(source)).replace(/\.[^.]*$/, '').replace(/[^\w.@+-]+/g, '_') || 'stream';
    const outputs: { ndjson?: string; annotated?: string; annotatedLongSide?: number } = {};
    const videoSize = values['video-size'] === undefined ? undefined : intOption(values['video-size'], 'video-size', 64, 0);
    if (videoSize !== undefined && videoSize % 2 !== 0) throw new SgusError(ErrorCode.InvalidArgument, `--video-size must be even (H.264), got ${videoSize}`);
    if (videoSize !== undefined) outputs.annotatedLongSide = videoSize;
    if (out !== undefined) {
      await mkdir(out, { recursive: true });
      outputs.ndjson = path.join(out, `${stem}.contours.ndjson`);
      if (values['no-video'] !== true) outputs.annotated = path.join(out, `${stem}.annotated.mp4`);
    }

    // Watching only (no files to finalise): the exam stays open at its end for the clinician to review
    // (a real-time replay of a file: the source decides, FfmpegSource#canHold).
    const holdAtEnd = serve && out === undefined && !loop && values['no-hold'] !== true;
    const stream: StreamConfig = { id: 'replay', title: path.basename(describeSource(source)), source, mode: 'replay', realtime, loop, holdAtEnd, outputs };
    if (settings.stallTimeoutS !== undefined) stream.stallTimeoutS = settings.stallTimeoutS;
    let bar: ProgressBar | undefined;
    let note = '';
    return runSession({
      settings,
      viewer,
      onViewer: (server) => server.setCalibration('replay', calibration),
      streams: async () => {
        await examine();
        if (probe !== undefined) stream.probe = probe;
        if (calibration !== undefined) stream.calibration = calibration;
        const total = !loop && probe?.frames !== undefined ? probe.frames : undefined;
        if (total !== undefined && !settings.quiet) bar = new ProgressBar(total, { label: 'replay' });
        return [stream];
      },
      loadSegmenter: () => loadSegmenter(values),
      banner: (seg) => `sgus: ${seg.engineInfo.reason}; model ${seg.card.name}; ${describeSource(source)}${probe !== undefined ? ` ${probe.width}x${probe.height} ${probe.fps} fps ${probe.codec}` : ''}${realtime ? ', real time' : ', max speed'}`,
      defaultMaxDelayMs: maxDelayMs,
      hooks: {
        onFrame: () => bar?.tick(note),
        onStatus: (lines: string[]) => {
          // Without a bar (a stream of unknown length, --loop) the status lines go out as they are.
          if (bar === undefined) return lines.forEach((l) => process.stderr.write(`${l}\n`));
          note = (lines[0] ?? '').replace(/^replay: /, '').replace(/, frames \d+$/, '');
          if (process.stderr.isTTY !== true) process.stderr.write(`${lines[0] ?? ''}\n`);
        },
      },
      report: async (result) => {
        const { seg } = result;
        bar?.close();
        const metrics = result.summary?.metrics ?? result.pipeline.metrics();
        const seconds = result.summary?.seconds ?? result.pipeline.elapsedS;
        if (out !== undefined) {
          const file = path.join(out, `${stem}.metrics.json`);
          await writeJson(file, {
            source: describeSource(source),
            probe,
            mode: realtime ? 'realtime' : 'max-speed',
            model: seg.card.name,
            engine: seg.engineInfo,
            settings: { maxBatchSize: settings.maxBatchSize, maxDelayMs, postprocess: settings.postprocess },
            seconds: Math.round(seconds * 1000) / 1000,
            fps: seconds > 0 ? Math.round(((metrics[0]?.framesOut ?? 0) / seconds) * 100) / 100 : 0,
            error: result.error?.message,
            interrupted: result.interrupted,
            incompleteOutputs: result.summary?.incompleteOutputs ?? result.pipeline.incompleteOutputs,
            streams: metrics,
          });
        }
        for (const m of metrics) process.stderr.write(`sgus: ${summaryLine(m, seconds)}\n`);
        // The exam's score over the frames where the gland is clearly seen (src/score/score-summary.ts).
        let scoreFile: string | undefined;
        if (result.scorer !== undefined) {
          const summary = result.scores.summary('replay', result.scorer.card);
          process.stderr.write(`sgus: ${formatScoreSummary(summary)}\n`);
          if (out !== undefined) await writeJson((scoreFile = path.join(out, `${stem}.score-summary.json`)), summary);
        }
        const report = await outputLines({
          command: 'replay',
          files: out !== undefined ? [outputs.annotated, outputs.ndjson, path.join(out, `${stem}.metrics.json`), scoreFile].filter((x) => x !== undefined) : [],
          incomplete: result.summary?.incompleteOutputs ?? result.pipeline.incompleteOutputs,
          ndjson: outputs.ndjson,
        });
        for (const l of report.lines) process.stderr.write(`${l}\n`);
        if (result.error !== undefined) throw result.error;
        if (!report.ok) return ExitCode.Failure;
        const src = result.pipeline.source('replay');
        // Interrupted: the outputs are complete up to the last frame, but the replay is not (unless
        // it was held at its end for review: Ctrl-C is then how it closes).
        if (result.interrupted && src?.reachedEnd !== true) return ExitCode.Interrupted;
        // A truncated or damaged recording: every frame it holds was segmented and the outputs are
        // complete, but the exit code and one line say the input was not whole.
        const damage = inputDamage({
          framesIn: metrics[0]?.framesIn ?? 0,
          announced: probe?.frames,
          truncated: src?.truncated ?? false,
          corrupt: metrics[0]?.corrupt ?? 0,
          missing: metrics[0]?.missing ?? 0,
          // Frames a viewer skipped or repeated say nothing of the file's length.
          readToEnd: !loop && src?.seeked !== true,
        });
        if (damage.length > 0) {
          process.stderr.write(`sgus replay: ${describeSource(source)}: input incomplete: ${damage.join('; ')}; every frame it held was segmented\n`);
          return ExitCode.InputIncomplete;
        }
        return ExitCode.Ok;
      },
    });
  },
};

export default command;
