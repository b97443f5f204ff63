import assert from 'node:assert/strict';
import { copyFile, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { rectIou } from '../../src/core/field-of-view.js';
import { resizeRgb } from '../../src/core/resize.js';
import { createSegmenter } from '../../src/segmenter/segmenter.js';
import type { Segmenter } from '../../src/segmenter/segmenter.js';
import { scannerScreen } from '../../src/synthetic/scanner-screen.js';
import { testModelSpec } from '../helpers/test-model.js';

// The test model with its card saying `input.fieldOfView` (whatever the shipped default says).
let seg: Segmenter;
before(async () => {
  const base = await createSegmenter({ model: testModelSpec(), threads: 1 });
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sgus-fov-model-'));
  const card = JSON.parse(await readFile(path.join(path.dirname(base.modelPath), 'card.json'), 'utf8')) as { file: string; input: Record<string, unknown>; default?: boolean };
  await copyFile(base.modelPath, path.join(dir, card.file));
  await base.close();
  card.input.fieldOfView = true;
  card.default = false;
  await writeFile(path.join(dir, 'card.json'), JSON.stringify(card));
  seg = await createSegmenter({ model: dir, threads: 1 });
});
after(async () => {
  await seg.close();
});

const FOV = { x: 120, y: 90, width: 620, height: 330 };

test('a model trained on model windows sees the field of view, and its outline lies inside it in frame pixels', async () => {
  const screen = scannerScreen({ width: 960, height: 720, fov: FOV, seed: 4 });
  const s = await seg.segment(screen.image);
  assert.ok(s.window !== undefined);
  assert.ok(rectIou(s.window.fov, FOV) > 0.95, JSON.stringify(s.window.fov));
  assert.equal(s.window.window.width, s.window.window.height);
  for (let y = 0; y < 720; y++) {
    for (let x = 0; x < 960; x++) {
      if (s.classMap.data[y * 960 + x] === 0) continue;
      assert.ok(x >= s.window.fov.x - 1 && x < s.window.fov.x + s.window.fov.width + 1 && y >= s.window.fov.y - 1 && y < s.window.fov.y + s.window.fov.height + 1, `gland at (${x}, ${y}) outside the field of view`);
    }
  }
  for (const c of s.contours) for (const [x, y] of c.points) assert.ok(x >= 0 && x < 960 && y >= 0 && y < 720);
});

test('the same screen at another size gives the same outline, scaled (the window is found in source proportions)', async () => {
  const screen = scannerScreen({ width: 960, height: 720, fov: FOV, seed: 4 });
  const full = await seg.segment(screen.image);
  const small = await seg.segment(resizeRgb(screen.image, 448, 448), { width: 960, height: 720 });
  assert.ok(rectIou(full.window!.fov, small.window!.fov) > 0.95);
  let same = 0;
  for (let i = 0; i < full.classMap.data.length; i++) if (full.classMap.data[i] === small.classMap.data[i]) same++;
  assert.ok(same / full.classMap.data.length > 0.97, `${same / full.classMap.data.length}`);
});
