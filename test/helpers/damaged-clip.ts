/** Damaged copies of a clip, for the tests of damaged recordings. */
import { copyFile, readFile, stat, truncate, writeFile } from 'node:fs/promises';

/** A copy of `file` cut at `fraction` of its size (the index is at the front, so it still opens). */
export async function truncatedCopy(file: string, to: string, fraction = 0.6): Promise<string> {
  await copyFile(file, to);
  await truncate(to, Math.floor((await stat(to)).size * fraction));
  return to;
}

/** A copy of `file` with `length` bytes scrambled from `fraction` of its size on. */
export async function corruptedCopy(file: string, to: string, fraction = 0.45, length = 3000): Promise<string> {
  const b = await readFile(file);
  const at = Math.floor(b.length * fraction);
  for (let i = at; i < Math.min(b.length, at + length); i++) b[i] = (b[i]! * 7 + 13) & 0xff;
  await writeFile(to, b);
  return to;
}
