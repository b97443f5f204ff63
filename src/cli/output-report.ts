/**
 * What the streaming commands say about their output files at the end of a run: complete files
 * in one "wrote" line, and one line per incomplete file (its writer died mid-run) naming the file
 * and how many frames it holds against the NDJSON, so nobody takes a cut video for the whole exam.
 */
import { execFile } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { promisify } from 'node:util';
import type { IncompleteOutput } from '../pipeline/compose.js';

const run = promisify(execFile);

/** Video frames a file holds as ffprobe reads it (packets: no decoding), or undefined when it cannot be read. */
export async function videoFramesIn(file: string): Promise<number | undefined> {
  try {
    const { stdout } = await run(process.env.FFPROBE_PATH ?? 'ffprobe', ['-v', 'error', '-count_packets', '-select_streams', 'v:0', '-show_entries', 'stream=nb_read_packets', '-of', 'csv=p=0', file], { timeout: 60_000 });
    const n = Number(stdout.trim());
    return Number.isInteger(n) ? n : undefined;
  } catch {
    return undefined;
  }
}

/** Lines of a text file (NDJSON: frames), 0 when it cannot be read. */
export function linesIn(file: string): Promise<number> {
  return new Promise((resolve) => {
    let n = 0;
    const s = createReadStream(file);
    s.on('data', (chunk) => {
      for (const b of chunk as Buffer) if (b === 0x0a) n++;
    });
    s.on('error', () => resolve(0));
    s.on('end', () => resolve(n));
  });
}

export interface OutputReport {
  /** Every output file of the run, complete or not. */
  files: string[];
  incomplete: IncompleteOutput[];
  /** The run's NDJSON, the reference frame count for incomplete videos. */
  ndjson?: string | undefined;
  /** Command name for the lines, e.g. 'replay'. */
  command: string;
}

/** The end-of-run lines about outputs; `ok` false when one is incomplete. */
export async function outputLines(r: OutputReport): Promise<{ lines: string[]; ok: boolean }> {
  const bad = new Set(r.incomplete.map((x) => x.path));
  const lines: string[] = [];
  const complete = r.files.filter((f) => !bad.has(f));
  if (complete.length > 0) lines.push(`sgus: wrote ${complete.join(', ')}`);
  const reference = r.ndjson !== undefined ? await linesIn(r.ndjson) : undefined;
  for (const x of r.incomplete) {
    const held = await videoFramesIn(x.path);
    const holds = held === undefined ? 'is unreadable' : `holds ${held}${reference !== undefined ? ` of the ${reference} frames in ${r.ndjson}` : ' frames'}`;
    // The reason names the file already: keep the cause only.
    const why = x.reason.startsWith(`${x.path}: `) ? x.reason.slice(x.path.length + 2) : x.reason;
    lines.push(`sgus ${r.command}: incomplete output: ${x.path} ${holds} (${why})`);
  }
  return { lines, ok: r.incomplete.length === 0 };
}
