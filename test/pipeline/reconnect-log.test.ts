import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ReconnectLog } from '../../src/pipeline/reconnect-log.js';

describe('reconnect log lines', () => {
  it('an idle source: the state once, then at most one line a minute with the attempts, however many', () => {
    const log = new ReconnectLog('net', 'udp://127.0.0.1:5000');
    const lines: [number, string][] = [];
    // An attempt every 5 s (the stall timeout) for ten minutes.
    for (let i = 0, t = 0; t <= 600_000; i++, t += 5000) {
      for (const l of log.reconnecting({ attempt: i + 1, delayMs: Math.min(10_000, 500 * 2 ** i), reason: 'cannot open: no data' }, t)) lines.push([t, l]);
    }
    assert.equal(lines[0]![1], 'net: waiting for udp://127.0.0.1:5000 (cannot open: no data); retrying in 0.5 s (attempt 1)');
    assert.equal(lines.length, 11, lines.map((l) => l[1]).join('\n'));
    for (const [t, l] of lines.slice(1)) {
      assert.equal(l, 'net: still no data from udp://127.0.0.1:5000 (12 attempts in the last 1 minute)', `at ${t} ms`);
    }
  });

  it('a source that delivered frames is lost, and a new outage after frames again is said at once', () => {
    const log = new ReconnectLog('cam', '/dev/video0');
    log.opened();
    assert.deepEqual(log.reconnecting({ attempt: 1, delayMs: 500, reason: 'no data for 5 s' }, 0), ['cam: source lost (no data for 5 s); reconnecting in 0.5 s (attempt 1)']);
    assert.deepEqual(log.reconnecting({ attempt: 2, delayMs: 1000, reason: 'no data for 5 s' }, 1000), []);
    assert.deepEqual(log.reconnecting({ attempt: 3, delayMs: 2000, reason: 'cannot open: no such capture device' }, 61_000), ['cam: still no data from /dev/video0 (2 attempts in the last 1 minute; now: cannot open: no such capture device)']);
    log.opened();
    assert.deepEqual(log.reconnecting({ attempt: 1, delayMs: 500, reason: 'ffmpeg exited with signal SIGKILL' }, 62_000), ['cam: source lost (ffmpeg exited with signal SIGKILL); reconnecting in 0.5 s (attempt 1)']);
  });
});
