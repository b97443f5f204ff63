/** `sgus live`: segment a capture device or network stream live (latest frame wins, stale frames dropped). */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { ErrorCode, SgusError } from '../errors.js';
import type { StreamConfig } from '../pipeline/compose.js';
import { FFMPEG_SOURCE_DEFAULTS } from '../pipeline/ffmpeg-source.js';
import { describeSource, sourceFromArgument } from '../pipeline/source-spec.js';
import type { SourceSpec } from '../pipeline/source-spec.js';
import { MODEL_OPTIONS, MODEL_OPTIONS_HELP, numberOption, parse } from './args.js';
import { CALIBRATION_OPTIONS, CALIBRATION_OPTIONS_HELP, calibrationOption } from './calibration-option.js';
import type { CliCommand } from './command.js';
import { ExitCode } from './exit-codes.js';
import { outputLines } from './output-report.js';
import { runSession } from './session.js';
import { formatScoreSummary } from '../score/score-summary.js';
import { loadSegmenter, PIPELINE_OPTIONS, PIPELINE_OPTIONS_HELP, pipelineSettings, SERVER_OPTIONS, SERVER_OPTIONS_HELP, serverSettings, STREAM_COMMAND_DEFAULTS, summaryLine, writeJson } from './stream-options.js';

const backoff = `${FFMPEG_SOURCE_DEFAULTS.reconnectInitialMs / 1000} s doubling to ${FFMPEG_SOURCE_DEFAULTS.reconnectMaxMs / 1000} s`;

const help = `
Usage: sgus live [--device /dev/video0 | --input URL] [--serve] [options]

Segments a live source. Live mode is latest-frame-wins, all the way to the source: when inference
falls behind, older frames are dropped (and counted) so latency stays bounded. Latency and age are
measured from each frame's arrival at the source (FFmpeg's pts against the wall clock at stream
start), so a lag shows as a lag: a frame older than --max-age is dropped, never shown, and a source
that FFmpeg reads ever later (its reads backed up) is reopened at its present. Frames missing from
the source (gaps in its timestamps, frames lost while reopening) are counted as missing. A source
that dies, disappears or stalls is reopened with exponential backoff (${backoff}): one
line when it goes down, then at most one a minute while it stays down. A source that cannot open
for good (a capture device or file that does not exist, an invalid filter, option or URL, an
unknown protocol) fails at once with one line; a network source that refuses or sends nothing is
retried, as it may come up later.

Source (one of):
      --device PATH       V4L2 capture device (default /dev/video0 when no --input is given)
      --size WxH          capture size for --device, e.g. 1280x720 (default: the device's)
      --rate FPS          capture frame rate for --device (default: the device's)
      --pixel-format F    V4L2 pixel format for --device, e.g. mjpeg, yuyv422 (default: the device's)
      --input URL         network stream or source FFmpeg reads: rtsp://, udp://, rtp://, srt://,
                          http(s)://, a file, or lavfi:GRAPH (e.g. lavfi:testsrc2=size=640x480:rate=25)

Options:
      --serve             serve the web viewer and print its URL
      --view CODEC        viewer video: auto (H.264, passed through when possible) | jpeg (default auto)
  -o, --out DIR           also write live.contours.ndjson, live.annotated.mp4, live.metrics.json and,
                          when scored, live.score-summary.json (the exam's score, as sgus replay's)
      --no-video          with --out, skip the annotated video
      --duration S        stop after S seconds (default: until Ctrl-C)
${SERVER_OPTIONS_HELP}
${CALIBRATION_OPTIONS_HELP}
${PIPELINE_OPTIONS_HELP}
${MODEL_OPTIONS_HELP.replace('      --device NAME     ', '      --engine-device NAME')}
  (in 'sgus live', --device is the capture device; the inference device is --engine-device)

Exit codes:
  0    stopped (Ctrl-C, --duration) with every output complete
  1    failed, no frame arrived, or an output is incomplete (each named in one line)
  2    bad command line

Examples:
  sgus live --device /dev/video0 --size 1280x720 --rate 25 --serve
  sgus live --input udp://127.0.0.1:5000 --serve --port 8080
  sgus live --input rtsp://192.168.1.20:8554/scanner --max-age 300
`;

const command: CliCommand = {
  help,
  async run(args: string[]): Promise<number> {
    const { values, positionals } = parse(
      args,
      {
        ...MODEL_OPTIONS,
        ...PIPELINE_OPTIONS,
        ...SERVER_OPTIONS,
        ...CALIBRATION_OPTIONS,
        // --device is taken by the model options (inference device) in other commands; here it is
        // the capture device, and the inference device is --engine-device.
        device: { type: 'string' },
        'engine-device': { type: 'string' },
        size: { type: 'string' },
        rate: { type: 'string' },
        'pixel-format': { type: 'string' },
        input: { type: 'string', short: 'i' },
        serve: { type: 'boolean' },
        view: { type: 'string' },
        out: { type: 'string', short: 'o' },
        'no-video': { type: 'boolean' },
        duration: { type: 'string' },
      },
      false,
    );
    void positionals;
    const settings = pipelineSettings(values);
    const viewer = values.serve === true ? await serverSettings(values) : undefined;
    // Checked with the other options, before the model loads.
    const calibration = calibrationOption(values);
    if (values.device !== undefined && values.input !== undefined) throw new SgusError(ErrorCode.InvalidArgument, '--device and --input exclude each other');
    let source: SourceSpec;
    if (typeof values.input === 'string') {
      source = sourceFromArgument(values.input);
    } else {
      const dev = (values.device as string | undefined) ?? '/dev/video0';
      const size = values.size as string | undefined;
      if (size !== undefined && !/^\d+x\d+$/.test(size)) throw new SgusError(ErrorCode.InvalidArgument, `--size must be WxH, got '${size}'`);
      source = { type: 'device', path: dev };
      if (size !== undefined) source.size = size;
      if (values.rate !== undefined) source.rate = numberOption(values.rate, 'rate', 1, 25);
      if (typeof values['pixel-format'] === 'string') source.pixelFormat = values['pixel-format'];
    }
    const view = (values.view as string | undefined) ?? 'auto';
    if (view !== 'auto' && view !== 'jpeg') throw new SgusError(ErrorCode.InvalidArgument, `--view must be auto or jpeg, got '${view}'`);
    const durationS = values.duration !== undefined ? numberOption(values.duration, 'duration', 0.1, 0) : undefined;
    const out = values.out as string | undefined;
    const outputs: { ndjson?: string; annotated?: string } = {};
    if (out !== undefined) {
      await mkdir(out, { recursive: true });
      outputs.ndjson = path.join(out, 'live.contours.ndjson');
      if (values['no-video'] !== true) outputs.annotated = path.join(out, 'live.annotated.mp4');
    }
    const modelValues: Record<string, unknown> = { ...values, device: values['engine-device'] };
    const stream: StreamConfig = {
      id: 'live',
      title: describeSource(source),
      source,
      mode: 'live',
      // A file given as live input plays at its rate, as a camera would.
      realtime: source.type === 'file' || source.type === 'lavfi',
      outputs,
      viewCodec: view,
    };
    if (settings.stallTimeoutS !== undefined) stream.stallTimeoutS = settings.stallTimeoutS;
    if (calibration !== undefined) stream.calibration = calibration;
    let timer: NodeJS.Timeout | undefined;
    return runSession({
      settings,
      viewer,
      onViewer: (server) => server.setCalibration('live', calibration),
      streams: async () => [stream],
      loadSegmenter: () => loadSegmenter(modelValues),
      banner: (seg) => `sgus: ${seg.engineInfo.reason}; model ${seg.card.name}; live from ${describeSource(source)}`,
      defaultMaxDelayMs: STREAM_COMMAND_DEFAULTS.realtimeMaxDelayMs,
      hooks: {
        onStart: (p) => {
          p.on('started', (_id, info) => {
            if (!settings.quiet) process.stderr.write(`sgus: live: source open, ${info.width}x${info.height} ${info.fps} fps ${info.codec}${info.run > 0 ? ` (reconnect ${info.run})` : ''}\n`);
          });
          if (durationS !== undefined) timer = setTimeout(() => void p.stop().catch(() => undefined), durationS * 1000);
        },
      },
      report: async (result) => {
        const { seg } = result;
        clearTimeout(timer);
        const metrics = result.summary?.metrics ?? result.pipeline.metrics();
        const seconds = result.summary?.seconds ?? result.pipeline.elapsedS;
        // A source that failed before any frame: its one error line says it all, no figures of nothing.
        const nothing = result.error !== undefined && metrics.every((m) => m.framesIn === 0);
        if (!nothing) for (const m of metrics) process.stderr.write(`sgus: ${summaryLine(m, seconds)}\n`);
        const incomplete = result.summary?.incompleteOutputs ?? result.pipeline.incompleteOutputs;
        if (out !== undefined) await writeJson(path.join(out, 'live.metrics.json'), { source: describeSource(source), model: seg.card.name, engine: seg.engineInfo, seconds, error: result.error?.message, incompleteOutputs: incomplete, streams: metrics });
        // The exam's score over the frames where the gland was clearly seen (src/score/score-summary.ts).
        let scoreFile: string | undefined;
        if (result.scorer !== undefined && !nothing) {
          const summary = result.scores.summary('live', result.scorer.card);
          // No frame scored (no gland ever seen, or no frame at all): no line of figures of nothing.
          if (summary.framesScored > 0) process.stderr.write(`sgus: ${formatScoreSummary(summary)}\n`);
          if (out !== undefined) await writeJson((scoreFile = path.join(out, 'live.score-summary.json')), summary);
        }
        const report = await outputLines({
          command: 'live',
          files: out !== undefined ? [outputs.annotated, outputs.ndjson, path.join(out, 'live.metrics.json'), scoreFile].filter((x) => x !== undefined) : [],
          incomplete,
          ndjson: outputs.ndjson,
        });
        for (const l of report.lines) process.stderr.write(`${l}\n`);
        if (result.error !== undefined) throw result.error;
        // A live run that never got a frame (dead device, unreachable stream) is a failure, even if
        // it ended on --duration or Ctrl-C while still retrying.
        if (metrics.every((m) => m.framesIn === 0)) {
          process.stderr.write(`sgus live: no frame arrived from ${describeSource(source)}\n`);
          return ExitCode.Failure;
        }
        return report.ok ? ExitCode.Ok : ExitCode.Failure;
      },
    });
  },
};

export default command;
