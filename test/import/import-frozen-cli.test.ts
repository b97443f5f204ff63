import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { writePngRgb } from '../../src/core/image-io.js';
import { PACKAGE_ROOT } from '../../src/segmenter/model-registry.js';
import { syntheticFrame } from '../../src/synthetic/ultrasound-frame.js';
import { TfDType, strAttr } from '../../src/import/tf-graphdef.js';
import { GraphBuilder, T_FLOAT, deepSgusLikeGraph, ints, randomArray } from '../helpers/tf-graph-builder.js';

const REAL_CLASSIFIER = path.join(PACKAGE_ROOT, '..', 'shared', 'data', 'tf-frozen-graphs', 'small-cnn-classifier.frozen.pb');

/** A small image classifier: conv, global mean, dense, softmax over 3 classes ([N,3] out). */
function classifierGraph(): Uint8Array {
  const g = new GraphBuilder();
  const T = T_FLOAT;
  g.placeholder('input_image', TfDType.float, [-1, 8, 8, 3]);
  g.const('conv/kernel', [3, 3, 3, 4], randomArray(3 * 3 * 3 * 4, 1, 0.3));
  g.add('conv/Conv2D', 'Conv2D', ['input_image', 'conv/kernel'], { T, strides: ints(1, 1, 1, 1), padding: strAttr('SAME'), data_format: strAttr('NHWC'), dilations: ints(1, 1, 1, 1) });
  g.const('gap/axes', [2], [1, 2], TfDType.int32);
  g.add('gap/Mean', 'Mean', ['conv/Conv2D', 'gap/axes'], { T, Tidx: { type: TfDType.int32 }, keep_dims: { b: false } });
  g.const('fc/weights', [4, 3], randomArray(12, 2, 0.5));
  g.add('fc/MatMul', 'MatMul', ['gap/Mean', 'fc/weights'], { T, transpose_a: { b: false }, transpose_b: { b: false } });
  g.add('Softmax', 'Softmax', ['fc/MatMul'], { T });
  return g.encode();
}

/** Runs `sgus` from the sources (no build needed). */
function sgus(args: string[], env: Record<string, string> = {}): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(PACKAGE_ROOT, 'src', 'cli', 'main.ts'), ...args], {
    cwd: PACKAGE_ROOT,
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('sgus import-frozen then sgus segment', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'sgus-import-cli-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('imports a DeepSGUS-shaped graph, lists its tensors, and segments a PNG with --model NAME', async () => {
    const graph = path.join(dir, 'frozen_graph.pb');
    await writeFile(graph, deepSgusLikeGraph(64, 5).bytes);
    const models = path.join(dir, 'models');
    const imp = sgus(['import-frozen', graph, '--name', 'deepsgus', '--models-dir', models]);
    assert.equal(imp.code, 0, imp.stderr);
    assert.match(imp.stdout, /input_image +float \[-1,64,64,3\]/);
    assert.match(imp.stdout, /keep_probabilty +float \[\?\] +fixed to 1/);
    assert.match(imp.stdout, /TRAINING +bool \[\] +fixed to false/);
    assert.match(imp.stdout, /inference\/prediction:0 +\(ArgMax\)/);
    assert.match(imp.stdout, /\(classes\)/);
    assert.ok(existsSync(path.join(models, 'deepsgus', 'model.onnx')));
    assert.ok(existsSync(path.join(models, 'deepsgus', 'card.json')));

    const png = path.join(dir, 'scan.png');
    await writePngRgb(png, syntheticFrame({ width: 96, height: 80, seed: 9 }).image);
    const out = path.join(dir, 'out');
    const seg = sgus(['segment', '--model', 'deepsgus', '--threads', '1', '-q', '-o', out, png], { SGUS_MODELS_DIR: models });
    assert.equal(seg.code, 0, seg.stderr);
    const files = (await readdir(out)).sort();
    assert.ok(files.includes('scan_SG_PerPixelPredictions.png'), files.join(', '));
    assert.ok(files.includes('scan_SG_Contour_Points.txt'), files.join(', '));
    assert.ok((await readFile(path.join(out, 'scan_SG_Black&White.png'))).length > 0);
  });

  test('--list prints the placeholders and candidate outputs without writing anything', async () => {
    const graph = path.join(dir, 'list.pb');
    await writeFile(graph, deepSgusLikeGraph(16, 3).bytes);
    const r = sgus(['import-frozen', graph, '--list', '--models-dir', path.join(dir, 'none')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /inputs \(placeholders\):\n  input_image/);
    assert.match(r.stdout, /inference\/prediction:0 +\(ArgMax\)/);
    assert.ok(!existsSync(path.join(dir, 'none')));
  });

  test('a truncated .pb fails with one line naming the file and exit code 1', async () => {
    const bad = path.join(dir, 'broken.pb');
    const bytes = deepSgusLikeGraph(16, 1).bytes;
    await writeFile(bad, bytes.subarray(0, bytes.length >> 1));
    const r = sgus(['import-frozen', bad, '--models-dir', path.join(dir, 'models2')]);
    assert.equal(r.code, 1);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, /^sgus: .*broken\.pb: not a valid TensorFlow frozen graph/);
  });

  test('--name of an existing model is refused in one line and leaves it untouched, unless --force', async () => {
    const graph = path.join(dir, 'again.pb');
    await writeFile(graph, deepSgusLikeGraph(16, 4).bytes);
    const models = path.join(dir, 'models-again');
    const first = sgus(['import-frozen', graph, '--name', 'kept', '--models-dir', models, '--no-tfjs']);
    assert.equal(first.code, 0, first.stderr);
    const card = path.join(models, 'kept', 'card.json');
    await writeFile(card, '{"marker": "the model already there"}\n');
    const again = sgus(['import-frozen', graph, '--name', 'kept', '--models-dir', models, '--no-tfjs']);
    assert.equal(again.code, 2, again.stderr);
    const lines = again.stderr.trim().split('\n');
    assert.equal(lines.length, 1, again.stderr);
    assert.match(lines[0]!, /^sgus: model 'kept' already exists \(.*kept\); pass --force to replace it, or choose another --name$/);
    assert.equal(await readFile(card, 'utf8'), '{"marker": "the model already there"}\n');
    const forced = sgus(['import-frozen', graph, '--name', 'kept', '--models-dir', models, '--no-tfjs', '--force']);
    assert.equal(forced.code, 0, forced.stderr);
    assert.equal((JSON.parse(await readFile(card, 'utf8')) as { name: string }).name, 'kept');
  });

  test('a --name that would leave the models folder is refused', async () => {
    const graph = path.join(dir, 'dots.pb');
    await writeFile(graph, deepSgusLikeGraph(16, 4).bytes);
    for (const name of ['..', '.']) {
      const r = sgus(['import-frozen', graph, '--name', name, '--models-dir', path.join(dir, 'models-dots'), '--force']);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /--name '\.{1,2}' must start with a letter or digit/);
    }
  });

  test('a classifier graph is refused with one line saying it is not a segmentation model, and nothing is written', async () => {
    const graphs: string[] = [];
    const synthetic = path.join(dir, 'classifier.pb');
    await writeFile(synthetic, classifierGraph());
    graphs.push(synthetic);
    if (existsSync(REAL_CLASSIFIER)) graphs.push(REAL_CLASSIFIER);
    for (const graph of graphs) {
      const models = path.join(dir, `models-${path.basename(graph)}`);
      const r = sgus(['import-frozen', graph, '--name', 'cls', '--models-dir', models]);
      assert.equal(r.code, 1, `${graph}: ${r.stderr}`);
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0]!, /^sgus: .*\.pb: output '[^']+' has shape \[N,\d+\], not a per-pixel class map \(\[N,H,W\] or \[N,H,W,C\]\) of the \d+x\d+ input: it is not a segmentation model; nothing written$/);
      assert.ok(!existsSync(path.join(models, 'cls')), 'no model folder');
    }
  });

  test('a feature map at another size than the input is refused as not a segmentation model', async () => {
    const graph = path.join(dir, 'features.pb');
    await writeFile(graph, deepSgusLikeGraph(32, 2).bytes);
    const r = sgus(['import-frozen', graph, '--output', 'relu2', '--name', 'features', '--models-dir', path.join(dir, 'models-features')]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr.trim(), /output 'relu2:0' has shape \[N,16,16,16\], a 16x16 map for a 32x32 input, not a class map at the input's size: it is not a segmentation model; nothing written$/);
  });
});
