import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile, copyFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createGrey } from '../../src/core/image.js';
import { GLAND_FEATURE_COUNT, GLAND_FEATURES_VERSION } from '../../src/score/gland-features.js';
import { RESEARCH_LABEL, loadScoreCard, locoLine } from '../../src/score/score-card.js';
import { GlandScorer, toGrade } from '../../src/score/scorer.js';
import { MODELS_DIR } from '../../src/segmenter/model-registry.js';
import { syntheticFrame } from '../../src/synthetic/ultrasound-frame.js';

const SHIPPED = path.join(MODELS_DIR, 'sgus-score');

test('the shipped score model runs: probabilities over the card\'s four classes sum to 1, grades 0–3', async () => {
  const scorer = await GlandScorer.create({ model: SHIPPED });
  try {
    assert.deepEqual(scorer.card.classes, [0, 1, 2, 3]);
    assert.equal(scorer.card.features.version, GLAND_FEATURES_VERSION);
    const frames = [1, 2, 3].map((seed) => syntheticFrame({ width: 260, height: 200, seed }));
    for (const f of frames) {
      const s = await scorer.score(f.image, f.mask);
      assert.ok(s !== undefined);
      assert.equal(s.label, RESEARCH_LABEL);
      for (const g of [s.omeract, s.deVita]) {
        assert.equal(g.probabilities.length, 4);
        assert.ok(Math.abs(g.probabilities.reduce((a, b) => a + b, 0) - 1) < 1e-5);
        assert.ok(g.probabilities.every((p) => p >= 0 && p <= 1));
        assert.ok(Number.isInteger(g.grade) && g.grade >= 0 && g.grade <= 3);
        assert.equal(g.confidence, g.probabilities[g.grade]);
      }
    }
    // A batch of feature vectors gives the per-frame results, in order.
    const zero = new Float32Array(GLAND_FEATURE_COUNT);
    const one = Float32Array.from({ length: GLAND_FEATURE_COUNT }, () => 1);
    const [a, b] = await scorer.scoreFeatures([zero, one]);
    const [b1] = await scorer.scoreFeatures([one]);
    assert.deepEqual(b, b1);
    assert.notDeepEqual(a!.omeract.probabilities, b!.omeract.probabilities);
    await assert.rejects(scorer.scoreFeatures([new Float32Array(3)]), /has 3 values/);
  } finally {
    await scorer.close();
    await scorer.close();
  }
  await assert.rejects(scorer.scoreFeatures([new Float32Array(GLAND_FEATURE_COUNT)]), /scorer is closed/);
});

test('no gland, no score', async () => {
  const scorer = await GlandScorer.create({ model: SHIPPED });
  try {
    const f = syntheticFrame({ seed: 9 });
    assert.equal(await scorer.score(f.image, createGrey(f.mask.width, f.mask.height)), undefined);
  } finally {
    await scorer.close();
  }
});

test('the shipped card carries both validations per score, per centre, and the published figures', async () => {
  const { card } = await loadScoreCard(SHIPPED);
  assert.equal(card.researchUse, 'research aid, not a diagnosis');
  for (const k of ['omeract', 'deVita'] as const) {
    const loco = card.validation.leaveOneCentreOut[k];
    assert.equal(Object.keys(loco.perCentre).length, 4);
    assert.equal(Object.values(loco.perCentre).reduce((a, c) => a + c.n, 0), card.training.frames);
    assert.equal(typeof loco.overall.kappa, 'number');
    assert.equal(typeof card.validation.stratified5Fold[k].overall.kappa, 'number');
    assert.match(locoLine(card, k), /leave-one-centre-out κ \d\.\d{3}/);
  }
  assert.equal(card.validation.published.radiomicsMlpKappaVsReference, 0.7);
});

test('a card of another feature version, or without the research label, is refused in one line', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sgus-score-card-'));
  const card = JSON.parse(await readFile(path.join(SHIPPED, 'card.json'), 'utf8')) as Record<string, unknown>;
  await copyFile(path.join(SHIPPED, 'model.onnx'), path.join(dir, 'model.onnx'));
  await writeFile(path.join(dir, 'card.json'), JSON.stringify({ ...card, features: { ...(card.features as object), version: 'gland-features/0' } }));
  await assert.rejects(GlandScorer.create({ model: dir }), (e: Error) => /features are 'gland-features\/0'/.test(e.message) && !e.message.includes('\n'));
  await writeFile(path.join(dir, 'card.json'), JSON.stringify({ ...card, researchUse: 'diagnosis' }));
  await assert.rejects(GlandScorer.create({ model: dir }), /researchUse/);
  assert.equal(await GlandScorer.createIfPresent({ model: path.join(dir, 'nothing-here') }), undefined);
});

test('the expected-grade rule rounds the mean grade; argmax takes the likeliest', () => {
  assert.equal(toGrade([0.4, 0, 0, 0.6], 'argmax').grade, 3);
  assert.equal(toGrade([0.4, 0, 0, 0.6], 'expected').grade, 2);
  assert.equal(toGrade([0.4, 0, 0, 0.6], 'expected').confidence, 0);
});
