import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSgusError } from '../../src/errors.js';
import { STALL_WATCHDOG_DEFAULTS, StallWatchdog } from '../../src/server/stall-watchdog.js';

describe('StallWatchdog', () => {
  function make(stallAfterS?: number): { dog: StallWatchdog; stalls: string[]; clock: { t: number } } {
    const clock = { t: 1_000_000 };
    const stalls: string[] = [];
    const dog = new StallWatchdog({ ...(stallAfterS !== undefined ? { stallAfterS } : {}), onStall: (id) => stalls.push(id), now: () => clock.t, checkEveryMs: 60_000 });
    return { dog, stalls, clock };
  }

  it(`reports a watched stream once after ${STALL_WATCHDOG_DEFAULTS.stallAfterS} s without a frame (the default), again only after frames resume`, () => {
    const { dog, stalls, clock } = make();
    dog.watch('cam', 25);
    clock.t += STALL_WATCHDOG_DEFAULTS.stallAfterS * 1000 - 1;
    dog.check();
    assert.deepEqual(stalls, []);
    clock.t += 2;
    dog.check();
    dog.check();
    assert.deepEqual(stalls, ['cam']);
    assert.equal(dog.frame('cam'), true, 'the frame ends a reported stall');
    assert.equal(dog.frame('cam'), false);
    clock.t += 10_000;
    dog.check();
    assert.deepEqual(stalls, ['cam', 'cam']);
    dog.close();
  });

  it('allows a slow stream three frame periods, and ignores streams it does not watch', () => {
    const { dog, stalls, clock } = make(1);
    dog.watch('slow', 0.5);
    dog.watch('gone', 25);
    dog.unwatch('gone');
    clock.t += 5000;
    dog.check();
    assert.deepEqual(stalls, []);
    clock.t += 1001;
    dog.check();
    assert.deepEqual(stalls, ['slow']);
    dog.close();
    dog.close();
  });

  it('refuses a stall time that is not a positive number, in one line', () => {
    for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      assert.throws(() => new StallWatchdog({ stallAfterS: bad, onStall: () => undefined }), (e: unknown) => isSgusError(e) && /stallAfterS must be a positive number/.test(e.message) && !e.message.includes('\n'));
    }
  });
});
