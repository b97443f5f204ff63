/**
 * A small progress bar on stderr. On a terminal it redraws one line; otherwise (CI, pipes) it
 * prints a line every 10% so logs stay short.
 */
export interface ProgressOptions {
  /** Label before the bar. Default ''. */
  label?: string;
  /** Stream to write to. Default process.stderr. */
  stream?: NodeJS.WriteStream;
  /** Suppress all output. Default false. */
  quiet?: boolean;
}

export class ProgressBar {
  readonly #total: number;
  readonly #label: string;
  readonly #stream: NodeJS.WriteStream;
  readonly #quiet: boolean;
  readonly #tty: boolean;
  readonly #start = Date.now();
  #done = 0;
  #lastDecile = -1;
  #closed = false;

  constructor(total: number, options: ProgressOptions = {}) {
    this.#total = Math.max(0, total);
    this.#label = options.label ?? '';
    this.#stream = options.stream ?? process.stderr;
    this.#quiet = options.quiet ?? false;
    this.#tty = this.#stream.isTTY === true;
  }

  tick(note = ''): void {
    this.#done++;
    if (this.#quiet || this.#closed) return;
    const frac = this.#total === 0 ? 1 : this.#done / this.#total;
    const elapsed = (Date.now() - this.#start) / 1000;
    const eta = frac > 0 ? elapsed / frac - elapsed : 0;
    const text = `${this.#label} ${this.#done}/${this.#total} ${(frac * 100).toFixed(0)}% ${elapsed.toFixed(1)}s eta ${eta.toFixed(0)}s ${note}`.trim();
    if (this.#tty) {
      const width = 24;
      const filled = Math.round(frac * width);
      this.#stream.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${text}\x1b[K`);
    } else {
      const decile = Math.floor(frac * 10);
      if (decile !== this.#lastDecile) {
        this.#lastDecile = decile;
        this.#stream.write(`${text}\n`);
      }
    }
  }

  /** Writes a message line without garbling the bar (clears the bar line on a terminal). */
  log(message: string): void {
    if (this.#tty && !this.#closed && !this.#quiet) this.#stream.write('\r\x1b[K');
    this.#stream.write(`${message}\n`);
  }

  /** Ends the bar line. Safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#tty && !this.#quiet) this.#stream.write('\n');
  }
}
