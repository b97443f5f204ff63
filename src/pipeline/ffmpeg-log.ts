/**
 * Reading FFmpeg's stderr (run with `-loglevel level+verbose`): lines split from chunks, the level
 * taken out, and the facts the source counts: damaged frames, the `showinfo` timestamp of every
 * frame, and a truncated input. Pure functions and a line splitter, no process.
 */

export type FfmpegLevel = 'quiet' | 'panic' | 'fatal' | 'error' | 'warning' | 'info' | 'verbose' | 'debug' | 'trace';

export interface FfmpegLogLine {
  level: FfmpegLevel;
  /** The line without its level tag, the context kept: '[h264 @ 0x…] text'. */
  line: string;
}

const LEVEL = /^(\[[^\]]*\] )?\[(quiet|panic|fatal|error|warning|info|verbose|debug|trace)\] ?/;

/** One stderr line ('[h264 @ 0x…] [error] text' or '[info] text'); undefined when blank. */
export function parseLogLine(rawLine: string): FfmpegLogLine | undefined {
  const raw = rawLine.replace(/\r/g, '').trimEnd();
  const lv = LEVEL.exec(raw);
  const level = (lv?.[2] ?? 'info') as FfmpegLevel;
  const line = lv !== null ? `${lv[1] ?? ''}${raw.slice(lv[0].length)}` : raw;
  return line.trim() === '' ? undefined : { level, line };
}

/**
 * Whether the line is FFmpeg's own per-frame report of a damaged frame. Decoders print several
 * lines per damaged frame (bad NAL sizes, macroblock errors, concealment); the FFmpeg tool prints
 * exactly one of these two per frame, so counting them counts frames:
 *   'concealed'   decoded with errors concealed ('FILE: corrupt decoded frame in stream 0'), shown;
 *   'undecodable' not decoded at all ('Error while decoding stream #0:0: …'), missing.
 */
export function damagedFrame(line: string): 'concealed' | 'undecodable' | undefined {
  if (/: corrupt decoded frame in stream \d+$/.test(line)) return 'concealed';
  if (/^Error while decoding stream #\d+:\d+/.test(line)) return 'undecodable';
  return undefined;
}

/** The demuxer found the file shorter than its index says: a truncated recording. */
export function isTruncated(line: string): boolean {
  return /^\[mov,mp4[^\]]*\] stream \d+, offset 0x[0-9a-f]+: partial file$/.test(line);
}

/**
 * The frame number and presentation time of a `showinfo` filter line
 * ('[Parsed_showinfo_1 @ 0x…] n:  12 pts:  6144 pts_time:0.48 …'), or undefined for other lines.
 */
export function showinfoFrame(line: string, filter = 'showinfo'): { n: number; ptsTime: number } | undefined {
  if (!line.startsWith(`[Parsed_${filter}_`)) return undefined;
  const m = / n:\s*(\d+) pts:\s*(-?\d+|NOPTS) pts_time:(-?[\d.e+-]+|NOPTS)/.exec(line);
  if (m === null || m[3] === 'NOPTS') return undefined;
  const ptsTime = Number(m[3]);
  return Number.isFinite(ptsTime) ? { n: Number(m[1]), ptsTime } : undefined;
}

/**
 * The input's size, rate and codec from FFmpeg's log: its 'Stream #0:0: Video: …' line (before
 * 'Output #0'), else the scaler's 'w:W h:H fmt:… ->' line, which tells the true size even when the
 * probe could not (a network stream joined before its next key frame).
 */
export class InputFactsReader {
  #inInput = true;
  #codec: string | undefined;
  #fps = 25;

  /** The facts, on the line that completes them. */
  push(line: string): { width: number; height: number; fps: number; codec: string } | undefined {
    if (/^(Output #|Stream mapping)/.test(line)) this.#inInput = false;
    if (this.#inInput && this.#codec === undefined) {
      const v = /Stream #0:\d+.*?: Video: (\w+)/.exec(line);
      if (v !== null) {
        this.#codec = v[1]!;
        const fm = /([\d.]+) fps/.exec(line) ?? /([\d.]+)k? tbr/.exec(line);
        const fps = fm !== null ? Number(fm[1]) : NaN;
        if (Number.isFinite(fps) && fps > 0 && fps < 1000) this.#fps = fps;
        const m = /Video: .*?\s(\d{2,5})x(\d{2,5})/.exec(line);
        if (m !== null) return { width: Number(m[1]), height: Number(m[2]), fps: this.#fps, codec: this.#codec };
      }
    }
    const sc = /Parsed_scale_0 .*?\] w:(\d+) h:(\d+) fmt:\S+ .*->/.exec(line);
    if (sc !== null) return { width: Number(sc[1]), height: Number(sc[2]), fps: this.#fps, codec: this.#codec ?? 'unknown' };
    return undefined;
  }
}

/** Splits stderr chunks into lines; a line longer than `maxLine` characters is cut (bounded memory). */
export class LineSplitter {
  #buf = '';
  readonly #max: number;

  constructor(maxLine = 65536) {
    this.#max = maxLine;
  }

  push(text: string): string[] {
    this.#buf += text;
    const parts = this.#buf.split('\n');
    this.#buf = parts.pop()!;
    if (this.#buf.length > this.#max) this.#buf = this.#buf.slice(-this.#max);
    return parts;
  }
}
