import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli } from '../helpers/cli.js';
import { testModelSpec } from '../helpers/test-model.js';

test('live on a capture device that does not exist retries with a clear line, then exits 1 saying no frame arrived', async () => {
  const m = testModelSpec();
  const r = await runCli(['live', '--device', '/dev/video99', '--duration', '2', ...(m !== undefined ? ['--model', m] : [])], { timeoutMs: 60_000 });
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /\/dev\/video99: No such file or directory\); reconnecting/);
  assert.match(r.stderr, /no frame arrived from \/dev\/video99/);
});
