/** Expands CLI inputs (files and folders) into image files, sorted, folders not recursed deeper than one level. */
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';

export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg', '.dcm'];

export interface ExpandedInputs {
  files: string[];
  /** Inputs that do not exist or are not readable folders; reported, not fatal. */
  missing: string[];
  /** Folders without any image file (by extension); reported, not fatal. */
  empty: string[];
}

export async function expandImageInputs(inputs: readonly string[]): Promise<ExpandedInputs> {
  const files: string[] = [];
  const missing: string[] = [];
  const empty: string[] = [];
  for (const input of inputs) {
    const s = await stat(input).catch(() => undefined);
    if (s === undefined) {
      missing.push(input);
    } else if (s.isDirectory()) {
      const entries = (await readdir(input)).sort();
      const before = files.length;
      for (const e of entries) if (IMAGE_EXTENSIONS.includes(path.extname(e).toLowerCase())) files.push(path.join(input, e));
      if (files.length === before) empty.push(input);
    } else {
      // A file named on the command line is always tried, whatever its extension: the decoder sniffs bytes.
      files.push(input);
    }
  }
  return { files, missing, empty };
}

export function stemOf(file: string): string {
  return path.basename(file, path.extname(file));
}
