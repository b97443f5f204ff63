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
import { deepSgusLikeGraph } from '../helpers/tf-graph-builder.js';

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
});
