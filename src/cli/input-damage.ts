/**
 * Whether a replayed recording was whole: cut short (fewer frames than its container announces, or
 * FFmpeg read past its end), frames FFmpeg decoded as damaged, frames missing from its timestamps.
 * Its frames are all done either way; the exit code and one line say the input was not whole.
 */
export interface InputFacts {
  /** Frames the source delivered. */
  framesIn: number;
  /** Frames the container announces, when it does. */
  announced?: number | undefined;
  /** FFmpeg said the file is shorter than its index. */
  truncated: boolean;
  /** Frames FFmpeg reported damaged. */
  corrupt: number;
  /** Frames missing (gaps in the timestamps). */
  missing: number;
  /** The whole file was read (not interrupted, not looping): only then can a short count be told. */
  readToEnd: boolean;
}

/** What was wrong with the input, in words, or [] when it was whole. */
export function inputDamage(f: InputFacts): string[] {
  const out: string[] = [];
  const short = f.readToEnd && f.announced !== undefined && f.framesIn < f.announced * 0.98 - 1;
  if (short) out.push(`truncated: ended after ${f.framesIn} of the ${f.announced!} frames its container announces`);
  else if (f.readToEnd && f.truncated) out.push('truncated: FFmpeg found the file shorter than its index');
  if (f.corrupt > 0) out.push(`${f.corrupt} frame${f.corrupt === 1 ? '' : 's'} decoded as damaged`);
  if (f.missing > 0) out.push(`${f.missing} frame${f.missing === 1 ? '' : 's'} missing (gaps in its timestamps)`);
  return out;
}
