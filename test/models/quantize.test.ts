/**
 * The int8 quantiser (models/training/quantize.py + scripts/calibrate-activations.ts) on a tiny
 * ONNX conv net built here: calibration through the runtime's pre-processing, Q/DQ inserted with
 * one weight scale per output channel, ONNX Runtime fusing it into int8 kernels, and the int8
 * output close to the float one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { loadCard } from '../../src/segmenter/model-card.js';
import { PACKAGE_ROOT } from '../../src/segmenter/model-registry.js';
import { preprocessBatch } from '../../src/segmenter/preprocess.js';
import { syntheticFrame } from '../../src/synthetic/ultrasound-frame.js';

const PYTHON = process.env.SGUS_PYTHON ?? '/usr/bin/python3';
const QUANTIZE = path.join(PACKAGE_ROOT, 'models', 'training', 'quantize.py');
const CALIBRATE = path.join(PACKAGE_ROOT, 'scripts', 'calibrate-activations.ts');

function onnxAvailable(): boolean {
  return spawnSync(PYTHON, ['-c', 'import onnx, numpy'], { stdio: 'ignore' }).status === 0;
}

// Conv(3->8)+Relu, depthwise-free Conv(8->8)+Clip, a residual Add, Conv(8->2) head, bilinear Resize
// to the input size: the op kinds of the shipped U-Nets, seeded weights.
const BUILD_TINY = `
import sys, numpy as np, onnx
from onnx import helper as h, numpy_helper as nh, TensorProto as T
r = np.random.default_rng(3)
w = lambda *s: nh.from_array((r.standard_normal(s) * 0.3).astype(np.float32))
inits = []
def init(name, arr):
    arr.name = name; inits.append(arr); return name
nodes = [
  h.make_node("Conv", ["input", init("w1", w(8, 3, 3, 3)), init("b1", w(8))], ["c1"], pads=[1,1,1,1], strides=[2,2]),
  h.make_node("Relu", ["c1"], ["r1"]),
  h.make_node("Conv", ["r1", init("w2", w(8, 8, 3, 3)), init("b2", w(8))], ["c2"], pads=[1,1,1,1]),
  h.make_node("Clip", ["c2", init("lo", nh.from_array(np.array(0, np.float32))), init("hi", nh.from_array(np.array(6, np.float32)))], ["r2"]),
  h.make_node("Conv", ["r2", init("w3", w(8, 8, 1, 1)), init("b3", w(8))], ["c3"]),
  h.make_node("Add", ["c3", "r1"], ["a3"]),
  h.make_node("Conv", ["a3", init("w4", w(2, 8, 1, 1)), init("b4", w(2))], ["head"]),
  h.make_node("Resize", ["head", "", init("sc", nh.from_array(np.array([1, 1, 2, 2], np.float32)))], ["logits"], mode="linear"),
]
g = h.make_graph(nodes, "tiny", [h.make_tensor_value_info("input", T.FLOAT, ["batch", 3, 32, 32])],
                 [h.make_tensor_value_info("logits", T.FLOAT, ["batch", 2, 32, 32])], inits)
m = h.make_model(g, opset_imports=[h.make_opsetid("", 17)])
m.ir_version = 8
onnx.checker.check_model(m)
onnx.save(m, sys.argv[1])
`;

const INSPECT = `
import sys, json, onnx
from onnx import numpy_helper as nh
m = onnx.load(sys.argv[1])
inits = {i.name: nh.to_array(i) for i in m.graph.initializer}
ops = [n.op_type for n in m.graph.node]
weights = [n for n in m.graph.node if n.op_type == "DequantizeLinear" and n.name.endswith("_weight_DequantizeLinear")]
print(json.dumps({"ops": ops, "weightScales": [int(inits[n.input[1]].size) for n in weights],
                  "weightTypes": [str(inits[n.input[0]].dtype) for n in weights]}))
`;

function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 120_000, cwd: PACKAGE_ROOT });
  assert.equal(r.status, 0, `${path.basename(args[0] ?? cmd)} failed:\n${(r.stderr ?? '').slice(-2000)}`);
  return r.stdout;
}

test('a calibrated int8 model has per-channel Q/DQ weights, fuses into QLinearConv and stays close to float', { timeout: 240_000 }, async (t) => {
  if (!onnxAvailable()) {
    t.skip(`${PYTHON} cannot import onnx (Debian package python3-onnx, installed by scripts/setup.sh)`);
    return;
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sgus-quantize-'));
  const fp32 = path.join(dir, 'model.onnx');
  run(PYTHON, ['-c', BUILD_TINY, fp32]);
  const card = JSON.parse(await readFile(path.join(PACKAGE_ROOT, 'models', 'unet-s', 'card.json'), 'utf8')) as { name: string; input: Record<string, unknown>; output: unknown };
  card.name = 'tiny';
  card.input = { ...card.input, width: 32, height: 32, suppressColourOverlay: true };
  card.output = { name: 'logits', kind: 'logits', classes: ['background', 'gland'] };
  await writeFile(path.join(dir, 'card.json'), JSON.stringify(card));

  run(PYTHON, [QUANTIZE, 'prepare', '--model', fp32, '--out', path.join(dir, 'calib.onnx'), '--tensors-out', path.join(dir, 'tensors.json')]);
  run(process.execPath, ['--import', 'tsx', CALIBRATE, '--model', path.join(dir, 'calib.onnx'), '--tensors', path.join(dir, 'tensors.json'),
    '--card', path.join(dir, 'card.json'), '--synthetic', '6', '--out', path.join(dir, 'ranges.json')]);
  const ranges = JSON.parse(await readFile(path.join(dir, 'ranges.json'), 'utf8')) as { frames: number; tensors: Record<string, { min: number; max: number; pLow: number; pHigh: number }> };
  assert.equal(ranges.frames, 6);
  assert.ok(ranges.tensors['r1']!.min === 0 && ranges.tensors['r1']!.max > 0, 'a ReLU output is calibrated from 0');
  assert.ok(ranges.tensors['r1']!.pHigh <= ranges.tensors['r1']!.max, 'the percentile range lies inside min/max');

  const int8 = path.join(dir, 'int8.onnx');
  run(PYTHON, [QUANTIZE, 'quantize', '--model', fp32, '--ranges', path.join(dir, 'ranges.json'), '--out', int8]);
  const info = JSON.parse(run(PYTHON, ['-c', INSPECT, int8])) as { ops: string[]; weightScales: number[]; weightTypes: string[] };
  assert.ok(info.ops.filter((o) => o === 'QuantizeLinear').length >= 5, `QuantizeLinear on the activations: ${info.ops.join(' ')}`);
  assert.deepEqual(info.weightScales, [8, 8, 8, 2], 'one weight scale per output channel of each Conv');
  assert.deepEqual(info.weightTypes, ['int8', 'int8', 'int8', 'int8']);

  // ONNX Runtime's optimiser turns DQ -> Conv -> Q into its int8 convolution.
  const optimised = path.join(dir, 'optimised.onnx');
  const opts = { intraOpNumThreads: 1, graphOptimizationLevel: 'extended' as const };
  const q = await ort.InferenceSession.create(int8, { ...opts, optimizedModelFilePath: optimised });
  const fused = JSON.parse(run(PYTHON, ['-c', INSPECT, optimised])) as { ops: string[] };
  assert.ok(fused.ops.includes('QLinearConv'), `no QLinearConv after optimisation: ${fused.ops.join(' ')}`);

  const f = await ort.InferenceSession.create(fp32, opts);
  const { card: loaded } = await loadCard(path.join(dir, 'card.json'));
  const x = preprocessBatch(loaded, [syntheticFrame({ seed: 999, width: 120, height: 90 }).image]);
  const feed = { input: new ort.Tensor('float32', x.data, x.dims) };
  const a = (await f.run(feed)).logits!.data as Float32Array;
  const b = (await q.run(feed)).logits!.data as Float32Array;
  let span = 0;
  let diff = 0;
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    span = Math.max(span, Math.abs(a[i]!));
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    sum += Math.abs(a[i]! - b[i]!);
  }
  // Class of each pixel (logits laid out N x 2 x H x W): what the segmentation keeps of the logits.
  const plane = a.length / 2;
  let agree = 0;
  for (let p = 0; p < plane; p++) if (a[plane + p]! > a[p]! === b[plane + p]! > b[p]!) agree++;
  const mean = sum / a.length;
  t.diagnostic(`max |int8 - float| = ${diff.toFixed(4)}, mean ${mean.toFixed(4)} for logits up to ${span.toFixed(3)}; class agreement ${(agree / plane).toFixed(4)}`);
  assert.ok(diff > 0, 'the int8 model computes in int8, not a copy of the float one');
  // A 4-layer random net calibrated on 6 frames: single logits may move by several percent, the
  // whole map must not.
  assert.ok(mean < 0.02 * span, `int8 logits differ by ${mean} on average (float logits up to ${span})`);
  assert.ok(diff < 0.1 * span, `int8 logits differ by up to ${diff} (float logits up to ${span})`);
  assert.ok(agree / plane >= 0.95, `int8 keeps the class of ${agree} of ${plane} pixels`);
  await f.release();
  await q.release();
});
