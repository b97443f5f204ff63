/**
 * What one FFmpeg run says on stderr, turned into what the source acts on, in line order: each
 * frame's showinfo timestamp, damaged frames, a truncated input, the input's facts (once), and the
 * warning and error lines to relay. Before the run delivers data its error lines are held back (when
 * it fails they are its reason, said once, not log lines besides it) and the first that says why the
 * input cannot be opened is kept. The line grammar is in ffmpeg-log.ts; this holds a run's state.
 */
import { damagedFrame, InputFactsReader, isTruncated, LineSplitter, openFailure, parseLogLine, showinfoFrame } from './ffmpeg-log.js';
import type { OpenFailure } from './ffmpeg-log.js';
import type { SourceSpec } from './source-spec.js';

/** One thing a stderr line told, for the source. */
export type StderrNews =
  | { kind: 'pts'; n: number; ptsTime: number }
  | { kind: 'damaged' }
  | { kind: 'truncated' }
  | { kind: 'facts'; width: number; height: number; fps: number; codec: string }
  | { kind: 'log'; line: string };

/** Options of a run's stderr reader. */
export interface FfmpegStderrOptions {
  /** The kind of input, for the reason it cannot be opened. Default 'file'. */
  sourceKind?: SourceSpec['type'];
  /**
   * FFmpeg's lines name its input as given to it (a UDP URL with our socket options appended):
   * `from` is replaced by `to`, the user's own name. Default: no renaming.
   */
  rename?: { from: string; to: string };
  /** Lines kept for the error message and held before data flows. Default 8. */
  keep?: number;
}

const PROBLEM_LEVELS = new Set(['error', 'fatal', 'panic', 'warning']);

export class FfmpegStderr {
  readonly #kind: SourceSpec['type'];
  readonly #rename: { from: string; to: string } | undefined;
  readonly #keep: number;
  readonly #lines = new LineSplitter();
  readonly #facts = new InputFactsReader();
  #factsTold = false;
  #flowing = false;
  #held: string[] = [];
  #tail: string[] = [];
  #open: OpenFailure | undefined;

  constructor(options: FfmpegStderrOptions = {}) {
    this.#kind = options.sourceKind ?? 'file';
    const r = options.rename;
    this.#rename = r !== undefined && r.from !== '' && r.from !== r.to ? r : undefined;
    this.#keep = options.keep ?? 8;
  }

  /**
   * Why the input could not be opened, from the first error line that said so before any data
   * (a warning never says it); undefined when none did.
   */
  get openFailure(): OpenFailure | undefined {
    return this.#open;
  }

  /** The last warning or error line worth quoting (not 'Last message repeated'), for an exit message. */
  get lastProblem(): string | undefined {
    return this.#tail.filter((l) => !/^(\[.*?\] )?(Last message repeated|\s*$)/.test(l)).pop();
  }

  /** The run delivered data: from now on problem lines are relayed; returns those held until now. */
  flowing(): string[] {
    if (this.#flowing) return [];
    this.#flowing = true;
    return this.#held.splice(0);
  }

  /** Reads a stderr chunk; what its whole lines told, in order. */
  push(text: string): StderrNews[] {
    const news: StderrNews[] = [];
    for (const rawLine of this.#lines.push(text)) {
      const parsed = parseLogLine(rawLine);
      if (parsed === undefined) continue;
      const level = parsed.level;
      const line = this.#rename !== undefined ? parsed.line.split(this.#rename.from).join(this.#rename.to) : parsed.line;
      const shown = showinfoFrame(line);
      if (shown !== undefined) {
        news.push({ kind: 'pts', n: shown.n, ptsTime: shown.ptsTime });
        continue;
      }
      // FFmpeg's one line per damaged frame (decoders add several more, not counted).
      if (damagedFrame(line) !== undefined) news.push({ kind: 'damaged' });
      if (isTruncated(line)) news.push({ kind: 'truncated' });
      const found = this.#facts.push(line);
      if (found !== undefined && !this.#factsTold) {
        this.#factsTold = true;
        news.push({ kind: 'facts', ...found });
      }
      if (!PROBLEM_LEVELS.has(level)) continue;
      if (/^\s/.test(line) || /Last message repeated/.test(line)) continue;
      this.#tail.push(line);
      if (this.#tail.length > this.#keep) this.#tail.shift();
      if (this.#flowing) {
        news.push({ kind: 'log', line });
        continue;
      }
      if (level !== 'warning') this.#open ??= openFailure(line, this.#kind === 'dicom' ? 'file' : this.#kind);
      this.#held.push(line);
      if (this.#held.length > this.#keep) this.#held.shift();
    }
    return news;
  }
}
