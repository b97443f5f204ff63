import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { clip, TMP } from '../helpers/pipeline.js';
import { testModelSpec } from '../helpers/test-model.js';

const model = (): string[] => {
  const m = testModelSpec();
  return m !== undefined ? ['--model', m] : [];
};

describe('sgus replay with the score', () => {
  it('prints the exam score and writes <stem>.score-summary.json beside the NDJSON; --no-score writes neither', async () => {
    const file = await clip({ seconds: 1 });
    const stem = path.basename(file, '.mp4');
    const out = path.join(TMP, 'cli-score');
    const r = await runCli(['replay', file, '--max-speed', '--no-video', '--out', out, '--quiet', ...model()], { timeoutMs: 120_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /replay: exam score OMERACT .* De Vita .* over \d+ scored frames — research aid, not a diagnosis/);
    const s = JSON.parse(await readFile(path.join(out, `${stem}.score-summary.json`), 'utf8')) as Record<string, any>;
    assert.equal(s.stream, 'replay');
    assert.equal(s.label, 'research aid, not a diagnosis');
    assert.equal(s.model, 'sgus-score');
    assert.deepEqual([s.criteria.minAreaShare, s.criteria.minConfidence], [0.5, 0.5]);
    assert.equal(s.validation.method, 'leave-one-centre-out');
    const lines = (await readFile(path.join(out, `${stem}.contours.ndjson`), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>);
    const scored = lines.filter((l) => l.score !== undefined);
    assert.equal(s.framesScored, scored.length, 'the summary counts the NDJSON\'s scored frames');
    for (const l of scored) assert.equal(l.score.label, 'research aid, not a diagnosis');
    for (const k of ['omeract', 'deVita']) assert.equal(s[k].distribution.reduce((a: number, b: number) => a + b, 0), s[k].frames);

    const out2 = path.join(TMP, 'cli-no-score');
    const r2 = await runCli(['replay', file, '--max-speed', '--no-video', '--out', out2, '--quiet', '--no-score', ...model()], { timeoutMs: 120_000 });
    assert.equal(r2.code, 0, r2.stderr);
    assert.equal(existsSync(path.join(out2, `${stem}.score-summary.json`)), false);
    assert.ok(!(await readFile(path.join(out2, `${stem}.contours.ndjson`), 'utf8')).includes('"score"'));
  });
});
