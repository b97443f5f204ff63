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

/** Why an input could not be opened, in the project's words; `permanent`: retrying cannot help. */
export interface OpenFailure {
  what: string;
  permanent: boolean;
}

/**
 * FFmpeg's reason for not opening an input, from one error line of a run that has not delivered a
 * frame, for this kind of source. The reason is decided by FFmpeg's own wording, not by a timer: a
 * missing device or file, an invalid filter, option or URL stays so however often it is retried,
 * while a network source that refuses, does not resolve or sends nothing may come up later.
 * FFmpeg prints the specific line first and a generic one ('URL: Invalid argument') last, so the
 * caller keeps the first match. Undefined for lines that say nothing about opening.
 */
export function openFailure(line: string, kind: 'file' | 'device' | 'url' | 'lavfi'): OpenFailure | undefined {
  const text = line.replace(/^\[[^\]]*\] /, '');
  const local = kind !== 'url';
  let m: RegExpExecArray | null;
  if ((m = /^No such filter: '([^']*)'/.exec(text)) !== null) return { what: `no such filter '${m[1]!}'`, permanent: true };
  if ((m = /^Option '([^']*)' not found/.exec(text)) !== null) return { what: `unknown option '${m[1]!}'`, permanent: true };
  if ((m = /^Unable to parse option value "([^"]*)" as (.+)$/.exec(text)) !== null) return { what: `'${m[1]!}' is not a valid ${m[2]!}`, permanent: true };
  if ((m = /^Unknown input format: '([^']*)'/.exec(text)) !== null) return { what: `unknown input format '${m[1]!}'`, permanent: true };
  if (/: Protocol not found$/.test(text)) return { what: 'unknown protocol', permanent: true };
  if (/^Port missing in uri$/.test(text)) return { what: 'no valid port in the URL', permanent: true };
  if (/: No such file or directory$/.test(text) && local) return { what: kind === 'device' ? 'no such capture device' : 'no such file', permanent: true };
  if (/: Is a directory$/.test(text) && local) return { what: 'is a folder, not a video', permanent: true };
  if (/: Permission denied$/.test(text) && local) return { what: 'permission denied', permanent: true };
  if (/: Inappropriate ioctl for device$/.test(text) && kind === 'device') return { what: 'not a capture device', permanent: true };
  if (/: Invalid data found when processing input$/.test(text)) return { what: 'not a video FFmpeg can read', permanent: local };
  if (/^Stream map '0:v:0' matches no streams/.test(text)) return { what: 'no video stream', permanent: local };
  // A file FFmpeg's probe took for some format and then could not read (an ID3 tag and nothing else).
  if (kind === 'file' && /: Invalid argument$/.test(text)) return { what: 'not a video FFmpeg can read', permanent: true };
  if ((m = /^Failed to resolve hostname (\S+):/.exec(text)) !== null) return { what: `cannot resolve host ${m[1]!}`, permanent: false };
  if (/: Connection refused$/.test(text)) return { what: 'connection refused', permanent: false };
  if (/: Connection timed out$/.test(text)) return { what: 'connection timed out', permanent: false };
  if ((m = /^Server returned (\d{3}.*)$/.exec(text)) !== null) return { what: `the server answered ${m[1]!.trim()}`, permanent: false };
  if (/: Device or resource busy$/.test(text)) return { what: 'device busy (in use by another program?)', permanent: false };
  if (/: Invalid argument$/.test(text) || /: Option not found$/.test(text)) return { what: 'invalid argument', permanent: true };
  // A network read that timed out (UDP, RTP: nobody sending): FFmpeg says only 'Input/output error'.
  if (/: Input\/output error$/.test(text)) return { what: kind === 'url' ? 'no data' : 'input/output error', permanent: false };
  return undefined;
}
