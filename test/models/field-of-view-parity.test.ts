/**
 * The training tool crops its frames to the model window exactly as the runtime does: same boxes
 * (it asks the runtime's detector) and the same resampling (Pillow's filter, reimplemented in
 * src/core/window-resample.ts), so the network is trained on what it will see.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { findModelWindow } from '../../src/core/field-of-view.js';
import { encodePngRgb, readImage } from '../../src/core/image-io.js';
import { cropToModel } from '../../src/core/window-resample.js';
import { PACKAGE_ROOT } from '../../src/segmenter/model-registry.js';
import { scannerScreen } from '../../src/synthetic/scanner-screen.js';

const PYTHON = process.env.SGUS_PYTHON ?? '/usr/bin/python3';

test('the training tool crops a scanner screen to the same model window and pixels as the runtime', { timeout: 120_000 }, async (t) => {
  if (spawnSync(PYTHON, ['-c', 'import torch, PIL'], { stdio: 'ignore' }).status !== 0) {
    t.skip(`PyTorch/Pillow not importable by ${PYTHON} (run scripts/setup.sh)`);
    return;
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sgus-fov-parity-'));
  const screen = scannerScreen({ width: 960, height: 720, fov: { x: 30, y: 150, width: 850, height: 330 }, seed: 9 });
  const png = path.join(dir, 'screen.png');
  const out = path.join(dir, 'crop.png');
  await writeFile(png, encodePngRgb(screen.image));
  const script = [
    'import sys, json',
    `sys.path.insert(0, ${JSON.stringify(path.join(PACKAGE_ROOT, 'models', 'training'))})`,
    'import data as D',
    'from PIL import Image',
    `p = ${JSON.stringify(png)}`,
    'mw = D.model_windows([p])[p]',
    `D.window_crop(Image.open(p).convert("RGB"), mw).resize((224, 224), Image.BILINEAR).save(${JSON.stringify(out)})`,
    'print(json.dumps(mw))',
  ].join('\n');
  const r = spawnSync(PYTHON, ['-c', script], { encoding: 'utf8', cwd: PACKAGE_ROOT, timeout: 100_000 });
  assert.equal(r.status, 0, r.stderr);
  const fromPython = JSON.parse(r.stdout.trim().split('\n').pop()!) as ReturnType<typeof findModelWindow>;
  const runtime = findModelWindow(screen.image);
  assert.deepEqual(fromPython.window, runtime.window);
  assert.deepEqual(fromPython.fov, runtime.fov);
  const py = await readImage(out);
  const ts = cropToModel(screen.image, runtime, 224, 224);
  let max = 0;
  for (let i = 0; i < ts.data.length; i++) max = Math.max(max, Math.abs(ts.data[i]! - py.data[i]!));
  // Pillow works in fixed point: one grey level apart at most.
  assert.ok(max <= 1, `largest difference ${max} grey levels`);
});

test('a whole-frame model sees the frame resized as the training tool resized it (Pillow bilinear, antialiased), not a 2-tap bilinear', { timeout: 120_000 }, async (t) => {
  if (spawnSync(PYTHON, ['-c', 'import PIL, numpy'], { stdio: 'ignore' }).status !== 0) {
    t.skip(`Pillow not importable by ${PYTHON} (run scripts/setup.sh)`);
    return;
  }
  const { preprocessBatch } = await import('../../src/segmenter/preprocess.js');
  const { resizeRgb } = await import('../../src/core/resize.js');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sgus-resize-parity-'));
  const screen = scannerScreen({ width: 800, height: 555, fov: { x: 160, y: 75, width: 620, height: 470 }, seed: 4 });
  const png = path.join(dir, 'frame.png');
  const out = path.join(dir, 'net-in.png');
  await writeFile(png, encodePngRgb(screen.image));
  // data.py make_item: net_in = view.resize((SIZE, SIZE), Image.BILINEAR) of the whole frame.
  const r = spawnSync(PYTHON, ['-c', `from PIL import Image; Image.open(${JSON.stringify(png)}).convert("RGB").resize((224, 224), Image.BILINEAR).save(${JSON.stringify(out)})`], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  const py = await readImage(out);
  // The runtime's input tensor, read back to grey levels (scale 1/255, mean 0, std 1: identity).
  const card = { input: { width: 224, height: 224, channels: 3, channelOrder: 'RGB', layout: 'NCHW', dtype: 'float32', normalization: { scale: 1, mean: [0, 0, 0], std: [1, 1, 1] } } } as unknown as Parameters<typeof preprocessBatch>[0];
  const { data } = preprocessBatch(card, [screen.image]);
  const plane = 224 * 224;
  let max = 0;
  let twoTap = 0;
  const bl = resizeRgb(screen.image, 224, 224);
  for (let p = 0; p < plane; p++) {
    for (let c = 0; c < 3; c++) {
      max = Math.max(max, Math.abs(data[c * plane + p]! - py.data[p * 3 + c]!));
      twoTap = Math.max(twoTap, Math.abs(bl.data[p * 3 + c]! - py.data[p * 3 + c]!));
    }
  }
  assert.ok(max <= 1, `largest difference ${max} grey levels`);
  assert.ok(twoTap > 10, `a 2-tap bilinear differs by ${twoTap}: the check can tell them apart`);
});
