import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resizeFloat, resizeNearest, resizeRgb, resizeThreshold } from '../../src/core/resize.js';

test('resizing a constant image keeps every pixel at that constant', () => {
  const src = { width: 7, height: 5, data: new Uint8Array(7 * 5 * 3).fill(93) };
  const out = resizeRgb(src, 224, 224);
  assert.equal(out.data.length, 224 * 224 * 3);
  assert.ok(out.data.every((v) => v === 93));
});

test('bilinear upscaling by 2 matches half-pixel-centre interpolation (PyTorch align_corners=false)', () => {
  // Source row [0, 100]: destination centres at -0.25, 0.25, 0.75, 1.25 in source units, clamped.
  const out = resizeFloat({ width: 2, height: 1, data: Float32Array.from([0, 100]) }, 4, 1);
  assert.deepEqual(Array.from(out.data), [0, 25, 75, 100]);
});

test('downscaling by 2 averages neighbouring pixel pairs', () => {
  const out = resizeFloat({ width: 4, height: 1, data: Float32Array.from([0, 10, 20, 30]) }, 2, 1);
  assert.deepEqual(Array.from(out.data), [5, 25]);
});

test('a probability map resized back keeps a step edge at the same place in the larger image', () => {
  const w = 224;
  const data = new Float32Array(w * w);
  for (let y = 0; y < w; y++) for (let x = 112; x < w; x++) data[y * w + x] = 1;
  const big = resizeFloat({ width: w, height: w, data }, 1280, 720);
  const row = Array.from(big.data.subarray(360 * 1280, 361 * 1280));
  const firstAbove = row.findIndex((v) => v > 0.5);
  assert.ok(Math.abs(firstAbove - 640) <= 2, `edge at ${firstAbove}`);
});

test('nearest resizing of a class map keeps only the original values', () => {
  const src = { width: 3, height: 3, data: Uint8Array.from([0, 1, 0, 1, 1, 1, 0, 1, 0]) };
  const out = resizeNearest(src, 10, 8);
  assert.ok(out.data.every((v) => v === 0 || v === 1));
  assert.equal(out.data[4 * 10 + 5], 1);
  assert.equal(out.data[0], 0);
});

test('the fused resize-and-threshold gives exactly the thresholded bilinear resize', () => {
  const src = { width: 13, height: 9, data: Float32Array.from({ length: 13 * 9 }, (_, i) => ((i * 7919) % 101) / 100) };
  const fused = resizeThreshold(src, 50, 31, 0.5);
  const ref = resizeFloat(src, 50, 31);
  for (let i = 0; i < fused.data.length; i++) assert.equal(fused.data[i], ref.data[i]! > 0.5 ? 1 : 0, `pixel ${i}`);
});
