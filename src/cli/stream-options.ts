/**
 * Options shared by the streaming commands (replay, live, serve): the pipeline and viewer options,
 * their help (which reads each default where it is defined), the model, the end-of-run lines.
 * Starting and running a session: session.ts.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { describeError, ErrorCode, SgusError } from '../errors.js';
import { BATCH_STAGE_DEFAULTS } from '../pipeline/batch-stage.js';
import { FFMPEG_SOURCE_DEFAULTS } from '../pipeline/ffmpeg-source.js';
import type { StreamMetrics } from '../pipeline/frame.js';
import { POSTPROCESS_STAGE_DEFAULTS } from '../pipeline/postprocess-stage.js';
import type { PostprocessStageOptions } from '../pipeline/postprocess-stage.js';
import { POSTPROCESS_DEFAULTS } from '../segmenter/postprocess.js';
import { createSegmenter } from '../segmenter/segmenter.js';
import type { Segmenter } from '../segmenter/segmenter.js';
import { exposureProblem, HostAllowlist } from '../server/host-allowlist.js';
import { VIEWER_SERVER_DEFAULTS } from '../server/viewer-server-options.js';
import type { ViewerServerOptions } from '../server/viewer-server-options.js';
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
  'no-score': { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
};

/** Defaults of the command line that no pipeline part owns: what the streaming commands choose. */
export const STREAM_COMMAND_DEFAULTS = {
  /** --max-delay of a single real-time or live stream: the next frame is a frame interval away, waiting only adds latency. */
  realtimeMaxDelayMs: 0,
  /** --max-delay of serve with several streams: a short wait lets their frames meet in one batch. */
  sharedMaxDelayMs: 5,
  /** --simplify: contour points within a pixel of the line say nothing a viewer sees. */
  simplifyPx: 1,
} as const;

const b = BATCH_STAGE_DEFAULTS;
const p = POSTPROCESS_STAGE_DEFAULTS;
const c = STREAM_COMMAND_DEFAULTS;
export const PIPELINE_OPTIONS_HELP = `Pipeline options:
      --batch N           most frames per inference call; streams share one batcher (default ${b.maxBatchSize})
      --max-delay MS      longest a frame waits for a fuller batch (default: ${b.maxDelayMs} for --max-speed, ${c.realtimeMaxDelayMs} for a
                          single real-time or live stream, where the next frame is 40 ms away, ${c.sharedMaxDelayMs} for serve)
      --max-age MS        live: a frame older than this since it arrived at the source (its pts against
                          the wall clock) is dropped and counted, never shown; a source read more than
                          half this late for a second is reopened at its present (default ${b.maxAgeMs})
      --work-size N       long side of the size masks and contours are computed at, then scaled to
                          the source; 0 = full source size, exact but ~140 ms/frame at 1280x720 (default ${p.maxWorkingSize})
      --smooth MODE       temporal smoothing: none | ema (moving average of the probability map) (default ${p.smoothing})
      --ema-alpha A       weight of the newest frame for --smooth ema, in (0,1] (default ${p.emaAlpha})
      --threshold P       gland probability threshold, in (0,1) (default ${POSTPROCESS_DEFAULTS.threshold})
      --simplify PX       Douglas-Peucker tolerance of contour points in pixels (default ${c.simplifyPx})
      --all-regions       keep every gland region, not only the largest (default: as the model card says)
      --stall-timeout S   no data for S seconds counts as a failure (default ${FFMPEG_SOURCE_DEFAULTS.stallTimeoutS})
      --no-score          no ultrasound score (OMERACT / De Vita grade per frame, a research aid, not a
                          diagnosis; default: scored where models/sgus-score is installed)
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
  'fallback-size': { type: 'string' },
  recordings: { type: 'string' },
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
      --max-viewers N     most viewers at once; more are turned away (default ${d.maxViewers})
      --fallback-size N   long side, px, of the JPEG pictures sent to browsers without WebCodecs
                          (default ${d.fallbackLongSide === 0 ? 'the source size' : d.fallbackLongSide}; at most ${d.fallbackFps} a second, fewer on a slow link)
      --recordings DIR    folder of the clips viewers record (key r; the server names the files;
                          default ./${d.recordingsDir}; a clip stops at ${d.recordingMaxSeconds / 60} min or ${d.recordingMaxBytes / 1024 ** 3} GiB)`;
}

export const SERVER_OPTIONS_HELP = serverOptionsHelp();

/** What `startServer` needs, checked from the command line before any model is loaded. */
export type ServerSettings = Pick<ViewerServerOptions, 'host' | 'port' | 'token' | 'insecure' | 'allowedHosts' | 'allowedOrigins' | 'tls' | 'maxViewers' | 'fallbackJpegLongSide' | 'recordingsDir'>;

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
  const settings: ServerSettings = {
    host, port, token, insecure, allowedHosts, allowedOrigins,
    maxViewers: intOption(values['max-viewers'], 'max-viewers', 1, VIEWER_SERVER_DEFAULTS.maxViewers),
    fallbackJpegLongSide: intOption(values['fallback-size'], 'fallback-size', 0, VIEWER_SERVER_DEFAULTS.fallbackLongSide),
    recordingsDir: (values.recordings as string | undefined) ?? VIEWER_SERVER_DEFAULTS.recordingsDir,
  };
  if (settings.recordingsDir === '') throw new SgusError(ErrorCode.InvalidArgument, '--recordings needs a folder');
  if (certFile !== undefined && keyFile !== undefined) settings.tls = { cert: await readPem(certFile, 'tls-cert'), key: await readPem(keyFile, 'tls-key') };
  return settings;
}

export interface PipelineSettings {
  maxBatchSize: number;
  /** Undefined when not given: each command has its own default. */
  maxDelayMs: number | undefined;
  maxAgeMs: number;
  postprocess: PostprocessStageOptions;
  /** Undefined when not given: the source's default applies. */
  stallTimeoutS: number | undefined;
  /** Score each frame's gland where the score model is installed (false: --no-score). */
  score: boolean;
  quiet: boolean;
}

export function pipelineSettings(values: Record<string, unknown>): PipelineSettings {
  const smooth = (values.smooth as string | undefined) ?? POSTPROCESS_STAGE_DEFAULTS.smoothing;
  if (smooth !== 'none' && smooth !== 'ema') throw new SgusError(ErrorCode.InvalidArgument, `--smooth must be none or ema, got '${smooth}'`);
  const alpha = numberOption(values['ema-alpha'], 'ema-alpha', 0, POSTPROCESS_STAGE_DEFAULTS.emaAlpha);
  if (!(alpha > 0 && alpha <= 1)) throw new SgusError(ErrorCode.InvalidArgument, `--ema-alpha must be in (0, 1], got '${String(values['ema-alpha'])}'`);
  const threshold = thresholdOption(values.threshold, POSTPROCESS_DEFAULTS.threshold);
  return {
    maxBatchSize: intOption(values.batch, 'batch', 1, BATCH_STAGE_DEFAULTS.maxBatchSize),
    maxDelayMs: values['max-delay'] === undefined ? undefined : numberOption(values['max-delay'], 'max-delay', 0, BATCH_STAGE_DEFAULTS.maxDelayMs),
    maxAgeMs: numberOption(values['max-age'], 'max-age', 1, BATCH_STAGE_DEFAULTS.maxAgeMs),
    postprocess: {
      maxWorkingSize: intOption(values['work-size'], 'work-size', 0, POSTPROCESS_STAGE_DEFAULTS.maxWorkingSize),
      smoothing: smooth,
      emaAlpha: alpha,
      threshold,
      simplify: numberOption(values.simplify, 'simplify', 0, STREAM_COMMAND_DEFAULTS.simplifyPx),
      ...(values['all-regions'] === true ? { singleRegion: false } : {}),
    },
    stallTimeoutS: values['stall-timeout'] === undefined ? undefined : numberOption(values['stall-timeout'], 'stall-timeout', 0.1, FFMPEG_SOURCE_DEFAULTS.stallTimeoutS),
    score: values['no-score'] !== true,
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

/** One line per stream for the end of a run. */
export function summaryLine(m: StreamMetrics, seconds: number): string {
  const e = m.latency.e2e;
  const fps = seconds > 0 ? m.framesOut / seconds : 0;
  return `${m.streamId}: ${m.framesOut} frames in ${seconds.toFixed(1)} s (${fps.toFixed(1)} fps), latency p50 ${e.p50.toFixed(0)} ms p95 ${e.p95.toFixed(0)} ms, inference ${m.latency.inference.p50.toFixed(1)} ms/batch, postprocess ${m.latency.postprocess.p50.toFixed(1)} ms, dropped ${m.dropped}, corrupt ${m.corrupt}, missing ${m.missing ?? 0}`;
}

export async function writeJson(file: string, value: unknown): Promise<void> {
  await writeFile(file, `${JSON.stringify(value, null, 2)}\n`);
}
