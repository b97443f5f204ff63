import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BufferPool } from '../../src/pipeline/ffmpeg-buffer-pool.js';

describe('BufferPool', () => {
  it('hands a given-back buffer out again for the same size, and a new one for another size', () => {
    const pool = new BufferPool();
    const a = pool.take(1000);
    assert.equal(a.length, 1000);
    pool.give(a);
    assert.equal(pool.take(1000), a);
    const b = pool.take(1000);
    assert.notEqual(b, a);
    pool.give(b);
    assert.notEqual(pool.take(2000), b);
  });

  it('keeps only whole buffers of their own, each once', () => {
    const pool = new BufferPool();
    const whole = Buffer.allocUnsafeSlow(64);
    pool.give(whole.subarray(0, 32)); // a view into a bigger buffer
    pool.give(new Uint8Array(64)); // not a Buffer
    pool.give(Buffer.from('small')); // from Node's shared slab
    pool.give(undefined);
    assert.equal(pool.size, 0);
    pool.give(whole);
    pool.give(whole);
    assert.equal(pool.size, 1);
    assert.equal(pool.take(64), whole);
    assert.notEqual(pool.take(64), whole);
  });

  it('is bounded in buffers per size and in sizes', () => {
    const pool = new BufferPool({ perSize: 2, sizes: 2 });
    for (let k = 0; k < 5; k++) pool.give(Buffer.allocUnsafeSlow(10));
    assert.equal(pool.size, 2);
    pool.give(Buffer.allocUnsafeSlow(20));
    pool.give(Buffer.allocUnsafeSlow(30)); // a third size: not kept
    assert.equal(pool.size, 3);
  });
});
