import assert from 'node:assert/strict';
import { test } from 'node:test';
import { modelsMarkdown, worstHeldOutDevice } from '../../src/cli/models-command.js';

type Card = Parameters<typeof modelsMarkdown>[0][number];

const card = (name: string, validation: Record<string, unknown>, isDefault = false): Card =>
  ({ schema: 1, name, architecture: 'unet', file: 'model.onnx', format: 'onnx', input: {}, output: {}, validation, default: isDefault }) as unknown as Card;

test('a model\'s headline figure is its worst held-out device, shown first and in bold', () => {
  const c = card('m', {
    iou: 0.8, dice: 0.88, perImage: new Array(18).fill({}), folds: [{}, {}, {}],
    leaveOneDeviceOut: { 'esaote-mylab': { iou: 0.61, n: 5 }, 'ge-logiq-e9': { iou: 0.79, n: 9 }, 'samsung-rs85': { iou: 0.72, n: 4 } },
  }, true);
  assert.deepEqual(worstHeldOutDevice(c), { device: 'esaote-mylab', iou: 0.61 });
  const md = modelsMarkdown([c]);
  assert.match(md, /\| \*\*m\*\* \(default\) \|/);
  assert.match(md, /\| \*\*0\.610\*\* \(esaote-mylab\) \| esaote-mylab 0\.610, ge-logiq-e9 0\.790, samsung-rs85 0\.720 \| 0\.800 \(0\.880\) \| 18 frames, 3 devices \|/);
});

test('a model validated without leaving a device out has no headline figure, never a cross-validation one in its place', () => {
  const md = modelsMarkdown([card('cv-only', { iou: 0.9, dice: 0.95, perDevice: { a: {}, b: {} }, perImage: new Array(12).fill({}), folds: [{}, {}] })]);
  assert.match(md, /\| cv-only \| unet \| – \| – \| – \| – \| 0\.900 \(0\.950\) \| 12 frames, 2 devices \|/);
});

test('a card without cross-validation folds shows no cross-validation figure, even where its iou holds another mean', () => {
  const md = modelsMarkdown([card('lodo-only', { iou: 0.6, dice: 0.7, leaveOneDeviceOut: { a: { iou: 0.5, n: 2 }, b: { iou: 0.7, n: 2 } } })]);
  assert.match(md, /\| \*\*0\.500\*\* \(a\) \| a 0\.500, b 0\.700 \| – \| 4 frames, 2 devices \|/);
});
