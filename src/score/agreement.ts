/**
 * Agreement between graded scores (0..K-1), as the SGUS literature reports it: quadratic-weighted
 * Cohen's κ, accuracy and the confusion matrix (rows reference, columns prediction).
 */

export interface Agreement {
  n: number;
  kappa: number;
  accuracy: number;
  /** confusion[reference][predicted]. */
  confusion: number[][];
}

/** Quadratic-weighted κ = 1 − Σ w·O / Σ w·E with w = (i−j)²/(K−1)²; NaN when undefined (no
 *  pairs, or both raters constant on the same grade). */
export function agreement(reference: readonly number[], predicted: readonly number[], classes = 4): Agreement {
  if (reference.length !== predicted.length) throw new RangeError(`${reference.length} references but ${predicted.length} predictions`);
  const confusion = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  const n = reference.length;
  let agree = 0;
  for (let k = 0; k < n; k++) {
    const r = reference[k]!;
    const p = predicted[k]!;
    if (!Number.isInteger(r) || !Number.isInteger(p) || r < 0 || p < 0 || r >= classes || p >= classes) throw new RangeError(`grade pair (${r}, ${p}) outside 0..${classes - 1}`);
    confusion[r]![p]!++;
    if (r === p) agree++;
  }
  const rowSum = confusion.map((row) => row.reduce((a, b) => a + b, 0));
  const colSum = confusion[0]!.map((_, j) => confusion.reduce((a, row) => a + row[j]!, 0));
  let observed = 0;
  let expected = 0;
  for (let i = 0; i < classes; i++) {
    for (let j = 0; j < classes; j++) {
      const w = ((i - j) * (i - j)) / ((classes - 1) * (classes - 1));
      observed += w * confusion[i]![j]!;
      expected += n > 0 ? (w * rowSum[i]! * colSum[j]!) / n : 0;
    }
  }
  return { n, kappa: expected > 0 ? 1 - observed / expected : NaN, accuracy: n > 0 ? agree / n : NaN, confusion };
}
