/**
 * Options and run loop shared by the streaming commands (replay, live, serve): pipeline settings,
 * the viewer server, signals (Ctrl-C drains and finalises), the once-a-second status line.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { describeError, ErrorCode, SgusError } from '../errors.js';
import { Pipeline } from '../pipeline/compose.js';
import type { PipelineOptions, PipelineSummary, StreamConfig } from '../pipeline/compose.js';
import type { ViewerHubPort } from '../pipeline/frame.js';
import type { StreamMetrics } from '../pipeline/frame.js';
import type { PostprocessStageOptions } from '../pipeline/postprocess-stage.js';
import { renderPrometheus } from '../pipeline/prometheus.js';
import { createSegmenter } from '../segmenter/segmenter.js';
import type { Segmenter } from '../segmenter/segmenter.js';
import { exposureProblem, HostAllowlist } from '../server/host-allowlist.js';
import { VIEWER_SERVER_DEFAULTS, ViewerServer } from '../server/viewer-server.js';
import type { ViewerServerOptions } from '../server/viewer-server.js';
import { engineOptions, intOption, numberOption, thresholdOption } from './args.js';
import type { OptionSpec } from './args.js';

export const PIPELINE_OPTIONS: OptionSpec = {
  batch: { type: 'string' },
  'max-delay': { type: 'string' },
  'max-age': { type: 'string' },
  'work-size': { type: 'string' },
  smooth: { type: 'string' },
  'ema-alpha': { type: 'string' },
  threshold: { type: 'string' },
  simplify: { type: 'string' },
  'all-regions': { type: 'boolean' },
  'stall-timeout': { type: 'string' },
  quiet: { type: 'boolean', short: 'q' },
};

export const PIPELINE_OPTIONS_HELP = `Pipeline options:
      --batch N           most frames per inference call; streams share one batcher (default 4)
      --max-delay MS      longest a frame waits for a fuller batch (default: 8 for --max-speed, 0 for a
                          single real-time or live stream, where the next frame is 40 ms away, 5 for serve)
      --max-age MS        live: a frame older than this since it arrived at the source (its pts against
                          the wall clock) is dropped and counted, never shown; a source read more than
                          half this late for a second is reopened at its present (default 1000)
      --work-size N       long side of the size masks and contours are computed at, then scaled to
                          the source; 0 = full source size, exact but ~140 ms/frame at 1280x720 (default 640)
      --smooth MODE       temporal smoothing: none | ema (moving average of the probability map) (default none)
      --ema-alpha A       weight of the newest frame for --smooth ema, in (0,1] (default 0.6)
      --threshold P       gland probability threshold, in (0,1) (default 0.5)
      --simplify PX       Douglas-Peucker tolerance of contour points in pixels (default 1)
      --all-regions       keep every gland region, not only the largest (default: as the model card says)
      --stall-timeout S   no data for S seconds counts as a failure (default 5)
  -q, --quiet             no progress or status lines`;

export const SERVER_OPTIONS: OptionSpec = {
  host: { type: 'string' },
  port: { type: 'string' },
  token: { type: 'string' },
  insecure: { type: 'boolean' },
  'allowed-host': { type: 'string', multiple: true },
  'allowed-origin': { type: 'string', multiple: true },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  'max-viewers': { type: 'string' },
};

/** The viewer options' help; `withServe` false (serve) leaves out the "(with --serve)" of replay and live. */
export function serverOptionsHelp(withServe = true): string {
  const d = VIEWER_SERVER_DEFAULTS;
  return `Viewer options${withServe ? ' (with --serve)' : ''} (security: docs/security.md):
      --host ADDR         interface to listen on (default ${d.host}); beyond loopback (0.0.0.0: every
                          interface) it needs --token or --insecure
      --port N            TCP port, 0 = any free port (default ${d.port})
      --token T           token viewers must present (default $SGUS_TOKEN, none if unset); never
                          printed: the URL printed shows where it goes (?token=<your token>)
      --insecure          allow --host beyond loopback without a token (anyone there can watch)
      --allowed-host H    another name viewers reach the server by (NAME: any port, NAME:PORT); any
                          other Host is refused (DNS rebinding); repeat or comma-separate
                          (default: the loopback names and --host, with the port)
      --allowed-origin O  another page origin that may open the stream (https://portal.example, or
                          '*' for any); repeat or comma-separate (default: the allowed hosts' own)
      --tls-cert FILE     serve HTTPS and WSS with this PEM certificate (needs --tls-key; default:
                          plain HTTP, for loopback or behind a TLS reverse proxy)
      --tls-key FILE      the certificate's PEM private key
      --max-viewers N     most viewers at once; more are turned away (default ${d.maxViewers})`;
}

export const SERVER_OPTIONS_HELP = serverOptionsHelp();

/** What `startServer` needs, checked from the command line before any model is loaded. */
export type ServerSettings = Pick<ViewerServerOptions, 'host' | 'port' | 'token' | 'insecure' | 'allowedHosts' | 'allowedOrigins' | 'tls' | 'maxViewers'>;

function listOption(value: unknown): string[] {
  return ((value as string[] | undefined) ?? []).flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v !== '');
}

async function readPem(file: string, option: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : code === 'EACCES' ? 'permission denied' : describeError(err);
    throw new SgusError(ErrorCode.InvalidArgument, `--${option} ${file}: cannot read: ${why}`);
  }
}

/**
 * The viewer options of the command line, checked at once (a refusal comes before the model loads,
 * not after): host lists, the token rule beyond loopback, the TLS files.
 */
export async function serverSettings(values: Record<string, unknown>): Promise<ServerSettings> {
  const port = intOption(values.port, 'port', 0, VIEWER_SERVER_DEFAULTS.port);
  if (port > 65535) throw new SgusError(ErrorCode.InvalidArgument, `--port must be <= 65535, got ${port}`);
  const host = (values.host as string | undefined) ?? VIEWER_SERVER_DEFAULTS.host;
  const token = (values.token as string | undefined) ?? process.env.SGUS_TOKEN;
  const insecure = values.insecure === true;
  const exposure = exposureProblem(host, token !== undefined && token !== '', insecure);
  if (exposure !== undefined) throw new SgusError(ErrorCode.InvalidArgument, exposure);
  const allowedHosts = listOption(values['allowed-host']);
  const allowedOrigins = listOption(values['allowed-origin']);
  // Throws the one-line error of a malformed entry.
  new HostAllowlist({ listenHost: host, port, tls: false, extraHosts: allowedHosts, extraOrigins: allowedOrigins });
  const certFile = values['tls-cert'] as string | undefined;
  const keyFile = values['tls-key'] as string | undefined;
  if ((certFile === undefined) !== (keyFile === undefined)) throw new SgusError(ErrorCode.InvalidArgument, '--tls-cert and --tls-key go together');
  const settings: ServerSettings = { host, port, token, insecure, allowedHosts, allowedOrigins, maxViewers: intOption(values['max-viewers'], 'max-viewers', 1, VIEWER_SERVER_DEFAULTS.maxViewers) };
  if (certFile !== undefined && keyFile !== undefined) settings.tls = { cert: await readPem(certFile, 'tls-cert'), key: await readPem(keyFile, 'tls-key') };
  return settings;
}

export interface PipelineSettings {
  maxBatchSize: number;
  /** Undefined when not given: each command has its own default. */
  maxDelayMs: number | undefined;
  maxAgeMs: number;
  postprocess: PostprocessStageOptions;
  stallTimeoutS: number;
  quiet: boolean;
}

/** The pipeline options every command builds from its settings; `defaultMaxDelayMs` applies when --max-delay was not given. */
export function pipelineOptions(
  settings: PipelineSettings,
  segmenter: Segmenter,
  streams: StreamConfig[],
  extra: { defaultMaxDelayMs: number; hub?: ViewerHubPort | undefined; isolateFailures?: boolean },
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
  };
}

export function pipelineSettings(values: Record<string, unknown>): PipelineSettings {
  const smooth = (values.smooth as string | undefined) ?? 'none';
  if (smooth !== 'none' && smooth !== 'ema') throw new SgusError(ErrorCode.InvalidArgument, `--smooth must be none or ema, got '${smooth}'`);
  const alpha = numberOption(values['ema-alpha'], 'ema-alpha', 0, 0.6);
  if (!(alpha > 0 && alpha <= 1)) throw new SgusError(ErrorCode.InvalidArgument, `--ema-alpha must be in (0, 1], got '${String(values['ema-alpha'])}'`);
  const threshold = thresholdOption(values.threshold, 0.5);
  return {
    maxBatchSize: intOption(values.batch, 'batch', 1, 4),
    maxDelayMs: values['max-delay'] === undefined ? undefined : numberOption(values['max-delay'], 'max-delay', 0, 8),
    maxAgeMs: numberOption(values['max-age'], 'max-age', 1, 1000),
    postprocess: {
      maxWorkingSize: intOption(values['work-size'], 'work-size', 0, 640),
      smoothing: smooth,
      emaAlpha: alpha,
      threshold,
      simplify: numberOption(values.simplify, 'simplify', 0, 1),
      ...(values['all-regions'] === true ? { singleRegion: false } : {}),
    },
    stallTimeoutS: numberOption(values['stall-timeout'], 'stall-timeout', 0.1, 5),
    quiet: values.quiet === true,
  };
}

export async function loadSegmenter(values: Record<string, unknown>): Promise<Segmenter> {
  const opts = engineOptions(values);
  const seg = await createSegmenter({ ...opts, fallbackToCpu: true });
  // One throw-away run: the engine's first call allocates and plans, which would otherwise land on
  // the first frames as latency.
  const { width, height } = seg.card.input;
  await seg.probabilities([{ width, height, data: new Uint8Array(width * height * 3) }]).catch(() => undefined);
  return seg;
}

export async function startServer(settings: ServerSettings, seg: Segmenter, metrics: () => StreamMetrics[]): Promise<ViewerServer> {
  return ViewerServer.start({
    ...settings,
    metricsText: () => renderPrometheus(metrics()),
    model: seg.card.name,
    engine: seg.engineInfo.engine,
    device: seg.engineInfo.device,
  });
}

export interface RunHooks {
  /** Per-frame callback (progress bar). */
  onFrame?: () => void;
  /** Status line every second; when undefined the default line goes to stderr. */
  onStatus?: (lines: string[]) => void;
  quiet: boolean;
  /** The pipeline, as soon as it exists (for /metrics). */
  onStart?: (pipeline: Pipeline) => void;
}

/**
 * Runs a pipeline to its end: SIGINT/SIGTERM stop reading and finalise the outputs (a second signal
 * exits at once), reconnects and FFmpeg errors are logged one line each.
 */
export async function runPipeline(options: PipelineOptions, hooks: RunHooks): Promise<{ pipeline: Pipeline; summary?: PipelineSummary; error?: SgusError; interrupted: boolean }> {
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

/** One line per stream for the end of a run. */
export function summaryLine(m: StreamMetrics, seconds: number): string {
  const e = m.latency.e2e;
  const fps = seconds > 0 ? m.framesOut / seconds : 0;
  return `${m.streamId}: ${m.framesOut} frames in ${seconds.toFixed(1)} s (${fps.toFixed(1)} fps), latency p50 ${e.p50.toFixed(0)} ms p95 ${e.p95.toFixed(0)} ms, inference ${m.latency.inference.p50.toFixed(1)} ms/batch, postprocess ${m.latency.postprocess.p50.toFixed(1)} ms, dropped ${m.dropped}, corrupt ${m.corrupt}, missing ${m.missing ?? 0}`;
}

export async function writeJson(file: string, value: unknown): Promise<void> {
  await writeFile(file, `${JSON.stringify(value, null, 2)}\n`);
}
