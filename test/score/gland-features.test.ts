import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createGrey, rgbToGrey } from '../../src/core/image.js';
import type { GreyImage } from '../../src/core/image.js';
import { findContours } from '../../src/core/contours.js';
import { GLAND_FEATURE_COUNT, GLAND_FEATURE_NAMES, glandFeatures, regionFromContours, scanRegion } from '../../src/score/gland-features.js';
import { syntheticFrame } from '../../src/synthetic/ultrasound-frame.js';

const at = (f: Float32Array, name: string): number => f[GLAND_FEATURE_NAMES.indexOf(name)]!;

/** A synthetic frame's grey pixels with the gland's own pixels passed through `fn`. */
function withGland(seed: number, fn: (v: number, x: number, y: number) => number): { grey: GreyImage; mask: GreyImage } {
  const s = syntheticFrame({ width: 320, height: 240, seed });
  const grey = rgbToGrey(s.image);
  for (let i = 0; i < grey.data.length; i++) if (s.mask.data[i] !== 0) grey.data[i] = Math.max(0, Math.min(255, Math.round(fn(grey.data[i]!, i % 320, Math.floor(i / 320)))));
  return { grey, mask: s.mask };
}

test('features have one fixed length, finite values, and are all zero for an empty mask', () => {
  for (const seed of [1, 2, 3]) {
    const s = syntheticFrame({ width: 200 + seed * 40, height: 180, seed });
    const f = glandFeatures(s.image, s.mask);
    assert.equal(f.length, GLAND_FEATURE_COUNT);
    assert.ok(f.every(Number.isFinite), String(f));
    assert.ok(at(f, 'areaShare') > 0);
  }
  const s = syntheticFrame({ seed: 4 });
  const empty = glandFeatures(s.image, createGrey(s.mask.width, s.mask.height));
  assert.equal(empty.length, GLAND_FEATURE_COUNT);
  assert.ok(empty.every((v) => v === 0));
  assert.equal(GLAND_FEATURE_NAMES.length, new Set(GLAND_FEATURE_NAMES).size);
});

test('a darker gland has a larger hypoechoic share and lower intensity ratios', () => {
  const bright = withGland(5, (v) => v);
  // The synthetic gland is about 2.4 times as bright as the tissue around it: a quarter of it is darker.
  const dark = withGland(5, (v) => v * 0.25);
  const fb = glandFeatures(bright.grey, bright.mask);
  const fd = glandFeatures(dark.grey, dark.mask);
  for (const name of ['hypo40Surround', 'hypo60Surround', 'hypo80Surround']) assert.ok(at(fd, name) > at(fb, name), `${name}: ${at(fd, name)} vs ${at(fb, name)}`);
  assert.ok(at(fd, 'hypo80Surround') - at(fb, 'hypo80Surround') > 0.2, `${at(fd, 'hypo80Surround')} vs ${at(fb, 'hypo80Surround')}`);
  assert.ok(at(fd, 'medianRatio') < at(fb, 'medianRatio') * 0.6, `${at(fd, 'medianRatio')} vs ${at(fb, 'medianRatio')}`);
});

test('dark spots inside the gland are counted as blobs and make it less homogeneous', () => {
  const plain = withGland(6, (v) => v);
  const spotted = withGland(6, (v, x, y) => ((Math.floor(x / 14) + Math.floor(y / 14)) % 3 === 0 ? 5 : v));
  const fp = glandFeatures(plain.grey, plain.mask);
  const fs = glandFeatures(spotted.grey, spotted.mask);
  assert.ok(at(fs, 'darkBlobsLog') > at(fp, 'darkBlobsLog'), `${at(fs, 'darkBlobsLog')} vs ${at(fp, 'darkBlobsLog')}`);
  assert.ok(at(fs, 'cv') > at(fp, 'cv'));
  assert.ok(at(fs, 'glcmContrast') > at(fp, 'glcmContrast'));
});

test('a global gain change leaves the relative features unchanged and moves only the absolute ones', () => {
  const s = syntheticFrame({ width: 320, height: 240, seed: 7 });
  const grey = rgbToGrey(s.image);
  const dim = { ...grey, data: grey.data.map((v) => Math.round(v * 0.6)) };
  const a = glandFeatures(grey, s.mask);
  const b = glandFeatures(dim, s.mask);
  for (const name of ['meanRatio', 'medianRatio', 'p25Ratio', 'p75Ratio', 'cv', 'iqrRatio', 'localStd', 'edgeRatio']) {
    assert.ok(Math.abs(at(a, name) - at(b, name)) <= 0.03 * Math.max(0.1, Math.abs(at(a, name))), `${name}: ${at(a, name)} vs ${at(b, name)}`);
  }
  for (const name of ['hypo40Surround', 'hypo60Surround', 'hypo80Surround', 'hypo50Gland', 'hypo70Gland', 'areaShare', 'boxFill']) {
    assert.ok(Math.abs(at(a, name) - at(b, name)) <= 0.03, `${name}: ${at(a, name)} vs ${at(b, name)}`);
  }
  assert.ok(Math.abs(at(b, 'absGlandMean') / at(a, 'absGlandMean') - 0.6) < 0.02);
});

test('the region from the outline gives the features of a scan of the whole mask, RGB as grey', () => {
  const s = syntheticFrame({ width: 300, height: 220, seed: 8 });
  const grey = rgbToGrey(s.image);
  let area = 0;
  for (const v of s.mask.data) if (v !== 0) area++;
  const region = regionFromContours(findContours(s.mask), area);
  assert.deepEqual(region, scanRegion(s.mask));
  assert.deepEqual(glandFeatures(s.image, s.mask, region), glandFeatures(s.image, s.mask));
  // Synthetic frames are grey (R = G = B): the RGB path reads the same values.
  const fg = glandFeatures(grey, s.mask);
  const fr = glandFeatures(s.image, s.mask);
  for (let k = 0; k < fg.length; k++) assert.ok(Math.abs(fg[k]! - fr[k]!) < 0.02 * Math.max(1, Math.abs(fg[k]!)), GLAND_FEATURE_NAMES[k]);
  assert.throws(() => glandFeatures(s.image, createGrey(10, 10)), /mask is 10×10/);
});
