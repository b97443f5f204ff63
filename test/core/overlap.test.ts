import { test } from 'node:test';
import assert from 'node:assert/strict';
import { overlap } from '../../src/core/overlap.js';

function rect(w: number, h: number, x0: number, y0: number, x1: number, y1: number, value = 1): { width: number; height: number; data: Uint8Array } {
  const data = new Uint8Array(w * h);
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) data[y * w + x] = value;
  return { width: w, height: h, data };
}

test('IoU and Dice of two half-overlapping squares are 1/3 and 1/2', () => {
  const a = rect(20, 20, 0, 0, 10, 10);
  const b = rect(20, 20, 5, 0, 15, 10, 255); // non-zero means gland, whatever the value
  const o = overlap(a, b);
  assert.equal(o.intersection, 50);
  assert.equal(o.union, 150);
  assert.ok(Math.abs(o.iou - 1 / 3) < 1e-12);
  assert.ok(Math.abs(o.dice - 0.5) < 1e-12);
});

test('identical masks score 1 and disjoint masks score 0', () => {
  const a = rect(8, 8, 1, 1, 4, 4);
  assert.equal(overlap(a, a).iou, 1);
  assert.equal(overlap(a, rect(8, 8, 5, 5, 8, 8)).iou, 0);
});

test('two empty masks agree perfectly', () => {
  assert.equal(overlap(rect(4, 4, 0, 0, 0, 0), rect(4, 4, 0, 0, 0, 0)).iou, 1);
});

test('masks of different sizes are refused with a clear error', () => {
  assert.throws(() => overlap(rect(4, 4, 0, 0, 1, 1), rect(5, 4, 0, 0, 1, 1)), /mask sizes differ: 4x4 vs 5x4/);
});
