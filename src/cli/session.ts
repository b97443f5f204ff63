/**
 * One streaming session of `sgus replay`, `sgus live` and `sgus serve`: the viewer server (when
 * asked for), the streams, the model, the pipeline run to its end (Ctrl-C drains and finalises),
 * then the command's own report, and everything closed in order whatever happened.
 *
 * In src/cli, not src/pipeline: it ties the pipeline to the viewer server, the console and process
 * signals, and the pipeline imports neither the server nor the process's console.
 */
import { describeError, ErrorCode, SgusError } from '../errors.js';
import { Pipeline } from '../pipeline/compose.js';
import type { PipelineOptions, PipelineSummary, StreamConfig } from '../pipeline/compose.js';
import type { Segmenter } from '../segmenter/segmenter.js';
import { ScoreSummaryCollector, scoreStatusLine } from '../score/score-summary.js';
import { GlandScorer, scoreModelPath } from '../score/scorer.js';
import type { ViewerServer } from '../server/viewer-server.js';
import type { PipelineSettings, ServerSettings } from './stream-options.js';
import type { ReplayControlHandler } from '../server/replay-control.js';

export interface SessionOptions {
  settings: PipelineSettings;
  /** The viewer server's settings; undefined: no viewer. */
  viewer: ServerSettings | undefined;
  /**
   * Start the viewer before the streams are prepared and the model loads (serve: a first start
   * generates the sample exam for tens of seconds, and the page says so instead of nothing
   * answering); the server then learns the model from the metrics. Default false: the viewer starts
   * once the model is loaded, with its name, engine and device.
   */
  viewerFirst?: boolean;
  /** Called once the viewer is up, before its URL is printed (calibrations, streams expected). */
  onViewer?: (server: ViewerServer) => void;
  /** The streams; called after the viewer is up when `viewerFirst`, else while the model loads. */
  streams: (server: ViewerServer | undefined) => Promise<StreamConfig[]>;
  /** Loads the model. */
  loadSegmenter: () => Promise<Segmenter>;
  /** The line that says what runs, once the model is loaded (unless quiet). */
  banner: (seg: Segmenter, streams: StreamConfig[]) => string;
  /** --max-delay when it was not given, ms. */
  defaultMaxDelayMs: number | ((streams: StreamConfig[]) => number);
  /** A failing stream ends alone (serve). Default false. */
  isolateFailures?: boolean;
  /** Pipeline hooks (progress, status lines, events). */
  hooks?: Omit<RunHooks, 'quiet'>;
  /** The command's report, after the run and before the viewer and model close; its exit code. */
  report: (run: SessionRun) => Promise<number>;
}

export interface SessionRun extends RunResult {
  seg: Segmenter;
  /** The score model, where frames were scored (not --no-score, model installed). */
  scorer: GlandScorer | undefined;
  /** Per-exam score summaries of the streams (frames scored so far). */
  scores: ScoreSummaryCollector;
  streams: StreamConfig[];
  server: ViewerServer | undefined;
}

/** Runs one session to its end; see `SessionOptions`. The viewer and the model are closed whatever happens. */
export async function runSession(o: SessionOptions): Promise<number> {
  let pipeline: Pipeline | undefined;
  let server: ViewerServer | undefined;
  let seg: Segmenter | undefined;
  let scorer: GlandScorer | undefined;
  const scores = new ScoreSummaryCollector();
  const openViewer = async (): Promise<void> => {
    if (o.viewer === undefined) return;
    // Loaded only for a viewer: a replay to files starts sooner without the server's modules.
    const { ViewerServer } = await import('../server/viewer-server.js');
    server = await ViewerServer.start({
      ...o.viewer,
      // Late-bound: /metrics may be asked for before the pipeline exists.
      streamMetrics: () => pipeline?.metrics() ?? [],
      ...(seg !== undefined ? { model: seg.card.name, engine: seg.engineInfo.engine, device: seg.engineInfo.device } : {}),
    });
    o.onViewer?.(server);
    process.stdout.write(`viewer: ${server.printableUrl}\n`);
  };
  try {
    let streams: StreamConfig[];
    if (o.viewerFirst === true) {
      await openViewer();
      streams = await o.streams(server);
      seg = await o.loadSegmenter();
    } else {
      // The model loads while the streams are prepared (a file's probe and depth ruler): start-up.
      const loading = o.loadSegmenter();
      loading.catch(() => undefined); // awaited below; a failure while the streams are prepared is not unhandled
      try {
        streams = await o.streams(undefined);
      } catch (err) {
        await loading.then((s) => s.close(), () => undefined);
        throw err;
      }
      seg = await loading;
      await openViewer();
    }
    if (o.settings.score) scorer = await GlandScorer.createIfPresent();
    if (!o.settings.quiet) {
      process.stderr.write(`${o.banner(seg, streams)}\n`);
      if (o.settings.score) process.stderr.write(scorer === undefined ? `sgus: no score model at ${scoreModelPath()}: outlines only\n` : `sgus: score ${scorer.card.name}: OMERACT and De Vita grade per frame — research aid, not a diagnosis\n`);
    }
    const defaultMaxDelayMs = typeof o.defaultMaxDelayMs === 'function' ? o.defaultMaxDelayMs(streams) : o.defaultMaxDelayMs;
    const hooks = o.hooks ?? {};
    // The exam's score so far rides on the status lines (serve and live: on demand, every second).
    const statusWithScore = (lines: string[]): string[] =>
      scorer === undefined ? lines : [...lines, ...scores.streams().map((id) => scoreStatusLine(scores.summary(id)))];
    const result = await runPipeline(pipelineOptions(o.settings, seg, streams, { defaultMaxDelayMs, hub: server, isolateFailures: o.isolateFailures ?? false, scorer }), {
      ...hooks,
      onStatus: (lines) => (hooks.onStatus !== undefined ? hooks.onStatus(statusWithScore(lines)) : statusWithScore(lines).forEach((l) => process.stderr.write(`${l}\n`))),
      quiet: o.settings.quiet,
      onStart: (p) => {
        pipeline = p;
        // Viewers' pause / step / seek / speed act on the stream's source (a file replayed in real time).
        server?.setReplayControl(pipelineReplayControl(() => p));
        if (scorer !== undefined) p.on('frame', (r) => scores.add(r.frame.streamId, r.area, r.score));
        hooks.onStart?.(p);
      },
    });
    return await o.report({ ...result, seg, scorer, scores, streams, server });
  } finally {
    await (server as ViewerServer | undefined)?.close();
    await (scorer as GlandScorer | undefined)?.close();
    await (seg as Segmenter | undefined)?.close();
  }
}

/** Viewers' replay controls carried out by the source of the stream in `pipeline()` (none: refused). */
export function pipelineReplayControl(pipeline: () => Pipeline | undefined): ReplayControlHandler {
  return (id, command) => {
    const source = pipeline()?.source(id);
    if (source === undefined) throw new SgusError(ErrorCode.InvalidArgument, `no stream ${id}`, { fatal: false });
    return source.control(command);
  };
}

/** The pipeline options of a session; `defaultMaxDelayMs` applies when --max-delay was not given. */
export function pipelineOptions(
  settings: PipelineSettings,
  segmenter: Segmenter,
  streams: StreamConfig[],
  extra: { defaultMaxDelayMs: number; hub?: ViewerServer | undefined; isolateFailures?: boolean; scorer?: GlandScorer | undefined },
): PipelineOptions {
  return {
    streams,
    segmenter,
    maxBatchSize: settings.maxBatchSize,
    maxDelayMs: settings.maxDelayMs ?? extra.defaultMaxDelayMs,
    maxAgeMs: settings.maxAgeMs,
    postprocess: settings.postprocess,
    ...(extra.hub !== undefined ? { hub: extra.hub } : {}),
    ...(extra.isolateFailures === true ? { isolateFailures: true } : {}),
    ...(extra.scorer !== undefined ? { scorer: extra.scorer } : {}),
  };
}

export interface RunHooks {
  /** Per-frame callback (progress bar). */
  onFrame?: () => void;
  /** Status line every second; when undefined the default line goes to stderr. */
  onStatus?: (lines: string[]) => void;
  quiet: boolean;
  /** The pipeline, as soon as it exists. */
  onStart?: (pipeline: Pipeline) => void;
}

export interface RunResult {
  pipeline: Pipeline;
  summary?: PipelineSummary;
  error?: SgusError;
  interrupted: boolean;
}

/**
 * Runs a pipeline to its end: SIGINT/SIGTERM stop reading and finalise the outputs (a second signal
 * exits at once), reconnects and FFmpeg errors are logged one line each.
 */
export async function runPipeline(options: PipelineOptions, hooks: RunHooks): Promise<RunResult> {
  const pipeline = new Pipeline(options);
  hooks.onStart?.(pipeline);
  let interrupted = false;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (interrupted) {
      process.stderr.write(`sgus: ${sig} again, exiting now\n`);
      pipeline.close();
      process.exit(130);
    }
    interrupted = true;
    process.stderr.write(`\nsgus: ${sig}: stopping, finalising outputs (again to exit now)\n`);
    void pipeline.stop().catch(() => undefined);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  pipeline.on('log', (line) => process.stderr.write(`sgus: ${line}\n`));
  if (hooks.onFrame !== undefined) pipeline.on('frame', hooks.onFrame);
  const status = setInterval(() => {
    if (hooks.quiet) return;
    const lines = pipeline.lines();
    if (hooks.onStatus !== undefined) hooks.onStatus(lines);
    else for (const l of lines) process.stderr.write(`${l}\n`);
  }, 1000);
  status.unref();
  try {
    const summary = await pipeline.done;
    return { pipeline, summary, interrupted };
  } catch (err) {
    const e = err instanceof SgusError ? err : new SgusError(ErrorCode.SourceFailure, describeError(err), { cause: err });
    return { pipeline, error: e, interrupted };
  } finally {
    clearInterval(status);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    pipeline.close();
  }
}
