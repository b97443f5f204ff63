import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { detectFieldOfView, modelWindow, rectIou, scaleWindow, wholeFrame } from '../../src/core/field-of-view.js';
import { readImage } from '../../src/core/image-io.js';
import { resizeRgb } from '../../src/core/resize.js';
import { scannerScreen } from '../../src/synthetic/scanner-screen.js';
import { realDataOrSkip } from '../helpers/data.js';

// Layouts as scanners draw them: wide and shallow, deep, off-centre, reaching the screen's edge.
const LAYOUTS = [
  { width: 960, height: 720, fov: { x: 0, y: 165, width: 880, height: 290 } },
  { width: 800, height: 555, fov: { x: 160, y: 74, width: 640, height: 480 } },
  { width: 1280, height: 872, fov: { x: 175, y: 120, width: 925, height: 640 } },
  { width: 640, height: 480, fov: { x: 90, y: 60, width: 420, height: 380 } },
];

describe('field-of-view detection', () => {
  for (const [k, layout] of LAYOUTS.entries()) {
    it(`finds the ultrasound image of a ${layout.width}x${layout.height} screen drawn at ${layout.fov.width}x${layout.fov.height}+${layout.fov.x}+${layout.fov.y}`, () => {
      const screen = scannerScreen({ ...layout, seed: k + 1 });
      const found = detectFieldOfView(screen.image);
      assert.ok(rectIou(found, layout.fov) > 0.95, `found ${JSON.stringify(found)} for ${JSON.stringify(layout.fov)}`);
    });
  }

  it('finds the same field of view at any resolution of the same screen', () => {
    const screen = scannerScreen({ ...LAYOUTS[0]!, seed: 3 });
    const full = detectFieldOfView(screen.image);
    const small = resizeRgb(screen.image, 448, 448);
    const mw = scaleWindow(modelWindow(detectFieldOfView(small), 448, 448), 960, 720);
    assert.ok(rectIou(full, mw.fov) > 0.97, `${JSON.stringify(full)} vs ${JSON.stringify(mw.fov)}`);
  });

  it('takes the whole frame when nothing looks like an image (a black frame)', () => {
    const img = { width: 320, height: 240, data: new Uint8Array(320 * 240 * 3) };
    assert.deepEqual(detectFieldOfView(img), wholeFrame(320, 240));
  });

  it('keeps the whole frame for an image that fills it', () => {
    const img = { width: 200, height: 100, data: new Uint8Array(200 * 100 * 3).fill(90) };
    assert.deepEqual(detectFieldOfView(img), wholeFrame(200, 100));
  });
});

describe('model window', () => {
  it('is the square that holds the field of view, centred on it', () => {
    const mw = modelWindow({ x: 100, y: 200, width: 400, height: 100 }, 640, 480);
    assert.deepEqual(mw.window, { x: 100, y: 50, width: 400, height: 400 });
    const tall = modelWindow({ x: 10, y: 0, width: 100, height: 300 }, 640, 480);
    assert.deepEqual(tall.window, { x: -90, y: 0, width: 300, height: 300 });
  });

  it('is the field of view itself when the model was trained on stretched fields of view', () => {
    const mw = modelWindow({ x: 100, y: 200, width: 400, height: 100 }, 640, 480, 'stretch');
    assert.deepEqual(mw.window, { x: 100, y: 200, width: 400, height: 100 });
  });

  it('scales with the frame, staying square in source pixels', () => {
    const mw = modelWindow({ x: 100, y: 200, width: 400, height: 100 }, 640, 480);
    const s = scaleWindow(mw, 320, 480);
    assert.deepEqual(s.window, { x: 50, y: 50, width: 200, height: 400 });
    assert.deepEqual(scaleWindow(s, 640, 480).window, mw.window);
  });
});

describe('field-of-view detection on the real scanners', () => {
  it('holds every clinician-outlined gland of the three labelled scanners', async (t) => {
    const root = realDataOrSkip(t);
    if (root === undefined) return;
    const manifest = JSON.parse(readFileSync(path.join(root, 'annotated', 'manifest.json'), 'utf8')) as Array<{ id: string; image: string; mask: string }>;
    for (const e of manifest) {
      const img = await readImage(path.join(root, 'annotated', e.image));
      const mask = await readImage(path.join(root, 'annotated', e.mask));
      const f = detectFieldOfView(img);
      let inside = 0;
      let total = 0;
      for (let y = 0; y < mask.height; y++) {
        for (let x = 0; x < mask.width; x++) {
          if (mask.data[(y * mask.width + x) * 3]! === 0) continue;
          total++;
          if (x >= f.x && x < f.x + f.width && y >= f.y && y < f.y + f.height) inside++;
        }
      }
      assert.ok(inside / total > 0.99, `${e.id}: field of view ${JSON.stringify(f)} holds ${(inside / total).toFixed(3)} of the gland`);
      // The interface is left out: the field of view is a real part of the screen, not all of it.
      assert.ok(f.width * f.height < 0.9 * img.width * img.height, `${e.id}: field of view ${JSON.stringify(f)} is the whole screen`);
    }
  });

  it('finds a large field of view on the unlabeled frames of all four scanners, Philips included', async (t) => {
    const root = realDataOrSkip(t);
    if (root === undefined) return;
    const rows = readFileSync(path.join(root, 'unlabeled', 'metadata.csv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split(','));
    const byMachine = new Map<string, string[]>();
    for (const r of rows) byMachine.set(r[3]!, [...(byMachine.get(r[3]!) ?? []), r[0]!]);
    assert.equal(byMachine.size, 4);
    const files = new Set(readdirSync(path.join(root, 'unlabeled')));
    for (const [machine, names] of byMachine) {
      for (const name of names.slice(0, 3)) {
        assert.ok(files.has(name));
        const img = await readImage(path.join(root, 'unlabeled', name));
        const f = detectFieldOfView(img);
        const share = (f.width * f.height) / (img.width * img.height);
        assert.ok(share > 0.4, `${machine} ${name}: field of view ${JSON.stringify(f)} covers only ${share.toFixed(2)} of the frame`);
      }
    }
  });
});
