import { test } from 'node:test';
import assert from 'node:assert/strict';
import { agreement } from '../../src/score/agreement.js';

test('weighted κ matches a hand-computed two-grade example', () => {
  // O = [[1,1],[0,2]], rows [2,2], columns [1,3], n 4: Σw·O = 1, Σw·E = 2·3/4 + 2·1/4 = 2, κ = 1 − 1/2.
  const a = agreement([0, 0, 1, 1], [0, 1, 1, 1], 2);
  assert.equal(a.kappa, 0.5);
  assert.equal(a.accuracy, 0.75);
  assert.deepEqual(a.confusion, [[1, 1], [0, 2]]);
});

test('weighted κ weighs a miss by the square of its distance', () => {
  // Four grades, one frame each, every prediction one grade up from the reference except the last:
  // O has ones at (0,1) (1,2) (2,3) (3,3); w = d²/9. Σw·O = 3/9. Rows all 1, columns [0,1,1,2], n 4:
  // Σw·E = (1/4)·Σ_j col_j·Σ_i (i−j)²/9 = (1/36)(1·6 + 1·6 + 2·14) = 40/36; κ = 1 − (12/36)/(40/36) = 0.7.
  const a = agreement([0, 1, 2, 3], [1, 2, 3, 3]);
  assert.ok(Math.abs(a.kappa - 0.7) < 1e-12, String(a.kappa));
  assert.equal(agreement([0, 1, 2, 3], [0, 1, 2, 3]).kappa, 1);
  // Reversed grades: the worst disagreement, κ −1.
  assert.ok(Math.abs(agreement([0, 1, 2, 3], [3, 2, 1, 0]).kappa + 1) < 1e-12);
});

test('weighted κ is undefined without pairs and refuses grades out of range', () => {
  assert.ok(Number.isNaN(agreement([], []).kappa));
  assert.throws(() => agreement([0, 4], [0, 1]), RangeError);
  assert.throws(() => agreement([0], [0, 1]), RangeError);
});
