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
