import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli } from '../helpers/cli.js';
import { testModelSpec } from '../helpers/test-model.js';

const modelArgs = (): string[] => {
  const m = testModelSpec();
  return m !== undefined ? ['--model', m] : [];
};

test('live on a capture device that does not exist, or an invalid filter or option, fails at once with one line naming it', async () => {
  for (const [source, line] of [
    [['--device', '/dev/video99'], 'sgus: live (/dev/video99): cannot open: no such capture device'],
    [['--input', 'lavfi:nosuchfilter=x'], "sgus: live (lavfi:nosuchfilter=x): cannot open: no such filter 'nosuchfilter'"],
    [['--input', 'lavfi:testsrc2=bogusopt=3'], "sgus: live (lavfi:testsrc2=bogusopt=3): cannot open: unknown option 'bogusopt'"],
  ] as const) {
    // --duration bounds a run that would retry: it must end long before it, on the first failure.
    const t0 = Date.now();
    const r = await runCli(['live', ...source, '--duration', '60', '-q', ...modelArgs()], { timeoutMs: 90_000 });
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stderr.trim(), line);
    assert.ok(Date.now() - t0 < 45_000, `failed at once, not after --duration (${Date.now() - t0} ms)`);
  }
});

test('live from a UDP port nobody sends to keeps waiting: one line for the state, no line per attempt', async () => {
  const port = 20000 + Math.floor(Math.random() * 20000);
  const r = await runCli(['live', '--input', `udp://127.0.0.1:${port}`, '--stall-timeout', '0.5', '--duration', '8', '-q', ...modelArgs()], { timeoutMs: 90_000 });
  assert.equal(r.code, 1, r.stderr);
  const lines = r.stderr.trim().split('\n');
  // Attempts every 0.5 s doubling to 10 s: about five in 8 s, told once.
  assert.equal(lines[0], `sgus: live: waiting for udp://127.0.0.1:${port} (cannot open: no data); retrying in 0.5 s (attempt 1)`);
  assert.deepEqual(lines.slice(1).filter((l) => !/^sgus: live: 0 frames in /.test(l)), [`sgus live: no frame arrived from udp://127.0.0.1:${port}`]);
  assert.doesNotMatch(r.stderr, /overrun_nonfatal|fifo_size|Input\/output error/);
});
