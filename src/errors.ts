/**
 * Typed errors (after hls.js `errors.ts`): every error that crosses a module boundary carries a
 * machine-readable `code`, a `fatal` flag and a one-line message saying what and where.
 *
 * `fatal` has one meaning everywhere:
 *   fatal (the default)  the operation or stream that raised it cannot go on: a replay ends, a
 *                        command exits, a pipeline rejects with it;
 *   not fatal            this one item failed (a file of a batch, a frame, a batch of frames, a
 *                        viewer's socket): it is skipped, counted and reported, the rest goes on.
 * Whoever catches one decides by this flag whether to go on.
 */

export const ErrorCode = {
  /** A file could not be read (missing, permission, truncated). */
  FileUnreadable: 'file-unreadable',
  /** A file was read but is not an image / video we can decode. */
  UnsupportedFormat: 'unsupported-format',
  /** Bad argument or option value given by the user or a caller. */
  InvalidArgument: 'invalid-argument',
  /** A model folder, card or ONNX file is missing or inconsistent. */
  ModelInvalid: 'model-invalid',
  /** The inference engine failed to load or run. */
  EngineFailure: 'engine-failure',
  /** The requested engine or device is not available on this host. */
  EngineUnavailable: 'engine-unavailable',
  /** FFmpeg could not start, died, or the source could not be opened. */
  SourceFailure: 'source-failure',
  /** A single decoded frame was corrupt; it is skipped and counted. */
  CorruptFrame: 'corrupt-frame',
  /** A sink (file, socket) failed to write. */
  SinkFailure: 'sink-failure',
  /** A peer sent a malformed or oversized message. */
  ProtocolError: 'protocol-error',
  /** Access was refused (viewer token or origin, PACS credentials). */
  AccessDenied: 'access-denied',
  /** A frozen TensorFlow graph could not be parsed or converted. */
  GraphImport: 'graph-import',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export interface SgusErrorOptions {
  /** true: the operation or stream cannot go on; false: only this item failed, the rest goes on. Default true. */
  fatal?: boolean;
  /** Where it happened: a file path, URL, stream id, node name. */
  where?: string;
  /** The underlying error. */
  cause?: unknown;
}

export class SgusError extends Error {
  readonly code: ErrorCode;
  readonly fatal: boolean;
  readonly where: string | undefined;

  constructor(code: ErrorCode, message: string, options: SgusErrorOptions = {}) {
    // One line, always: multi-line messages break log parsing and the CLI's error format.
    const oneLine = message.replace(/\s*\n\s*/g, ' ').trim();
    super(options.where !== undefined ? `${options.where}: ${oneLine}` : oneLine, { cause: options.cause });
    this.name = 'SgusError';
    this.code = code;
    this.fatal = options.fatal ?? true;
    this.where = options.where;
  }
}

/** Short, single-line description of any thrown value. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message.split('\n')[0] ?? err.name;
  return String(err).split('\n')[0] ?? 'unknown error';
}

export function isSgusError(err: unknown, code?: ErrorCode): err is SgusError {
  return err instanceof SgusError && (code === undefined || err.code === code);
}
