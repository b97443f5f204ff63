import { test } from 'node:test';
import assert from 'node:assert/strict';
import { suppressColourOverlay } from '../../src/core/colour-overlay.js';
import { syntheticFrame } from '../../src/synthetic/ultrasound-frame.js';
import { drawContours } from '../../src/core/draw.js';
import { findContours } from '../../src/core/contours.js';

test('a grey frame is left exactly as it is', () => {
  const grey = { width: 4, height: 1, data: Uint8Array.from([10, 10, 10, 50, 50, 50, 90, 90, 90, 200, 201, 199]) };
  const { image, replaced } = suppressColourOverlay(grey);
  assert.equal(replaced, 0);
  assert.deepEqual(image.data, grey.data);
});

test('a coloured outline drawn over a frame is replaced by the grey around it', () => {
  const f = syntheticFrame({ width: 160, height: 120, seed: 2 });
  const outlined = drawContours(f.image, findContours(f.mask), { color: [255, 255, 0], thickness: 1 });
  const { image, replaced } = suppressColourOverlay(outlined);
  assert.ok(replaced > 50, `replaced ${replaced}`);
  let yellow = 0;
  let diff = 0;
  for (let i = 0; i < image.data.length; i += 3) {
    const [r, g, b] = [image.data[i]!, image.data[i + 1]!, image.data[i + 2]!];
    if (Math.max(r, g, b) - Math.min(r, g, b) > 24) yellow++;
    diff += Math.abs(r - f.image.data[i]!);
  }
  assert.equal(yellow, 0);
  // The replacement is close to the tissue that was under the line (speckle makes it noisy).
  assert.ok(diff / (image.data.length / 3) < 10, `mean abs difference ${diff / (image.data.length / 3)}`);
});
