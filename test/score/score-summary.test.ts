import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { loadScoreCard } from '../../src/score/score-card.js';
import { formatScoreSummary, ScoreSummaryCollector } from '../../src/score/score-summary.js';
import type { GlandScore } from '../../src/score/scorer.js';
import { MODELS_DIR } from '../../src/segmenter/model-registry.js';

function score(omeract: number, pO: number, deVita: number, pD: number): GlandScore {
  const probs = (g: number, p: number): number[] => [0, 1, 2, 3].map((k) => (k === g ? p : (1 - p) / 3));
  return { omeract: { grade: omeract, confidence: pO, probabilities: probs(omeract, pO) }, deVita: { grade: deVita, confidence: pD, probabilities: probs(deVita, pD) }, label: 'research aid, not a diagnosis' };
}

test('the exam grade is the median over frames with the gland clearly seen (area >= half the largest, confident), with its spread', async () => {
  const c = new ScoreSummaryCollector();
  // A short clip: the gland enters (small areas, wrong grades), is in full view, then a frame the
  // model is unsure of.
  c.add('clip', 100, score(0, 0.9, 0, 0.9));
  c.add('clip', 300, score(0, 0.9, 0, 0.9));
  c.add('clip', 1000, score(2, 0.8, 1, 0.7));
  c.add('clip', 900, score(2, 0.7, 1, 0.6));
  c.add('clip', 800, score(3, 0.6, 1, 0.55));
  c.add('clip', 950, score(1, 0.3, 3, 0.3));
  c.add('clip', 600, score(2, 0.9, 2, 0.9));
  c.add('clip', 0, undefined);
  const { card } = await loadScoreCard(path.join(MODELS_DIR, 'sgus-score'));
  const s = c.summary('clip', card);
  assert.equal(s.framesScored, 7);
  assert.equal(s.largestArea, 1000);
  assert.deepEqual(s.criteria.minAreaShare, 0.5);
  assert.deepEqual(s.omeract, { grade: 2, frames: 4, distribution: [0, 0, 3, 1], agreeing: 0.75, meanConfidence: 0.75 });
  assert.deepEqual(s.deVita, { grade: 1, frames: 4, distribution: [0, 3, 1, 0], agreeing: 0.75, meanConfidence: 0.6875 });
  assert.equal(s.label, 'research aid, not a diagnosis');
  assert.equal(s.validation?.omeractKappa, card.validation.leaveOneCentreOut.omeract.overall.kappa);
  assert.match(formatScoreSummary(s), /OMERACT 2 \(4 frames, 75 % agree, grades 0-3: 0\/0\/3\/1\), De Vita 1 .* research aid, not a diagnosis/);
});

test('no frame clearly seen: no grade; the window keeps the latest frames only', () => {
  const c = new ScoreSummaryCollector({ maxFrames: 2 });
  c.add('s', 10, score(1, 0.2, 1, 0.2));
  assert.equal(c.summary('s').omeract.grade, null);
  assert.equal(c.summary('other').framesScored, 0);
  c.add('s', 10, score(3, 0.9, 3, 0.9));
  c.add('s', 10, score(3, 0.9, 3, 0.9));
  assert.equal(c.summary('s').framesScored, 2);
  assert.equal(c.summary('s').omeract.grade, 3);
});
