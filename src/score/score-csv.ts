/**
 * Reference scores in the HarmonicSS metadata's format:
 * `image,centre,gland,machine,devita_score,omeract_score` (header row; other columns ignored;
 * a score cell may be empty when a frame was not scored).
 */
import { ErrorCode, SgusError } from '../errors.js';

export interface ScoreRow {
  /** File name as in the CSV (e.g. `001.jpg`). */
  image: string;
  centre?: string;
  gland?: string;
  machine?: string;
  /** De Vita grade 0–3. */
  deVita?: number;
  /** OMERACT grade 0–3. */
  omeract?: number;
}

/** Splits one CSV line, honouring double-quoted cells ("" inside is a quote). */
export function splitCsvLine(line: string): string[] {
  const cells: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      cells.push(cur);
      cur = '';
    } else cur += c;
  }
  cells.push(cur);
  return cells.map((s) => s.trim());
}

export function readScoreCsv(text: string, where = 'scores CSV'): ScoreRow[] {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '' && !l.startsWith('#'));
  if (lines.length === 0) throw new SgusError(ErrorCode.UnsupportedFormat, 'empty scores CSV', { where });
  const header = splitCsvLine(lines[0]!).map((h) => h.toLowerCase());
  const col = (name: string): number => header.indexOf(name);
  const iImage = col('image');
  if (iImage < 0) throw new SgusError(ErrorCode.UnsupportedFormat, `no 'image' column (header: ${header.join(',')})`, { where });
  const iDv = col('devita_score');
  const iOm = col('omeract_score');
  if (iDv < 0 && iOm < 0) throw new SgusError(ErrorCode.UnsupportedFormat, "neither a 'devita_score' nor an 'omeract_score' column", { where });
  const grade = (cells: string[], k: number, line: number): number | undefined => {
    if (k < 0 || cells[k] === undefined || cells[k] === '') return undefined;
    const v = Number(cells[k]);
    if (!Number.isInteger(v) || v < 0 || v > 3) throw new SgusError(ErrorCode.UnsupportedFormat, `line ${line}: grade '${cells[k]}' is not 0–3`, { where });
    return v;
  };
  const rows: ScoreRow[] = [];
  for (let l = 1; l < lines.length; l++) {
    const cells = splitCsvLine(lines[l]!);
    const image = cells[iImage];
    if (image === undefined || image === '') continue;
    const row: ScoreRow = { image };
    for (const [key, name] of [['centre', 'centre'], ['gland', 'gland'], ['machine', 'machine']] as const) {
      const k = col(name);
      if (k >= 0 && cells[k] !== undefined && cells[k] !== '') row[key] = cells[k];
    }
    const dv = grade(cells, iDv, l + 1);
    const om = grade(cells, iOm, l + 1);
    if (dv !== undefined) row.deVita = dv;
    if (om !== undefined) row.omeract = om;
    rows.push(row);
  }
  return rows;
}
