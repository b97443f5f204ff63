import assert from 'node:assert/strict';
import { copyFile, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { loadScoreCard } from '../../src/score/score-card.js';
import { SCORE_DOCS_END, SCORE_DOCS_START } from '../../src/score/score-docs.js';
import { MODELS_DIR, PACKAGE_ROOT } from '../../src/segmenter/model-registry.js';
import { runCli } from '../helpers/cli.js';

test('sgus models --update-docs writes the score block from the card; run twice, the README is identical (and matches the committed one)', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sgus-score-docs-'));
  const file = path.join(dir, 'README.md');
  const committed = await readFile(path.join(PACKAGE_ROOT, 'README.md'), 'utf8');
  // A stale block is rewritten.
  const a = committed.indexOf(SCORE_DOCS_START);
  const b = committed.indexOf(SCORE_DOCS_END);
  assert.ok(a >= 0 && b > a, 'the README has the score markers');
  await writeFile(file, `${committed.slice(0, a + SCORE_DOCS_START.length)}\nstale\n${committed.slice(b)}`);
  const r1 = await runCli(['models', '--update-docs', file]);
  assert.equal(r1.code, 0, r1.stderr);
  const once = await readFile(file, 'utf8');
  const r2 = await runCli(['models', '--update-docs', file]);
  assert.equal(r2.code, 0, r2.stderr);
  assert.equal(await readFile(file, 'utf8'), once, 'a second run changes nothing');
  assert.equal(once, committed, 'the committed README is what the tool writes');
  const block = once.slice(once.indexOf(SCORE_DOCS_START), once.indexOf(SCORE_DOCS_END));
  const { card } = await loadScoreCard(path.join(MODELS_DIR, 'sgus-score'));
  assert.ok(block.includes(`**${card.validation.leaveOneCentreOut.omeract.overall.kappa!.toFixed(3)}**`), block);
  assert.ok(block.includes(`clinicians κ ${card.validation.published.cliniciansMeanKappa.toFixed(2)}`), block);
  assert.ok(block.includes('research aid, not a diagnosis'));
  // A file without the score markers keeps only the models table's rewrite.
  const plain = path.join(dir, 'plain.md');
  await copyFile(file, plain);
  const noScore = once.slice(0, once.indexOf(SCORE_DOCS_START)) + once.slice(once.indexOf(SCORE_DOCS_END) + SCORE_DOCS_END.length);
  await writeFile(plain, noScore);
  assert.equal((await runCli(['models', '--update-docs', plain])).code, 0);
  assert.equal(await readFile(plain, 'utf8'), noScore);
});
