/**
 * Writes a folded TF graph as a TensorFlow.js graph model (`model.json` + one weights file), the
 * format `tf.loadGraphModel` reads: `modelTopology` is the GraphDef as proto3 JSON with the
 * constants' values moved to the weights manifest. TF.js runs the TF ops natively (NHWC, fused
 * batch norm, transposed convolution), so the graph is written as folded, not rewritten: each op's
 * handler (`ops/`) says so with `tfjs: 'native'`.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { graphError } from './folded-graph.js';
import type { FoldedGraph } from './folded-graph.js';
import { OP_TABLE } from './ops/index.js';
import { TfDType, dtypeName } from './tf-graphdef.js';
import type { TfAttr, TfAttrList } from './tf-graphdef.js';

export const TFJS_WEIGHTS_FILE = 'group1-shard1of1.bin';

const DT_NAMES: Record<number, string> = {
  [TfDType.float]: 'DT_FLOAT',
  [TfDType.double]: 'DT_DOUBLE',
  [TfDType.int32]: 'DT_INT32',
  [TfDType.uint8]: 'DT_UINT8',
  [TfDType.int16]: 'DT_INT16',
  [TfDType.int8]: 'DT_INT8',
  [TfDType.string]: 'DT_STRING',
  // TF.js has no int64: its tensors are int32.
  [TfDType.int64]: 'DT_INT32',
  [TfDType.bool]: 'DT_BOOL',
  [TfDType.half]: 'DT_FLOAT',
};

function dt(type: number): string {
  const n = DT_NAMES[type % 100];
  if (n === undefined) throw graphError(`dtype ${dtypeName(type)} has no TF.js equivalent`);
  return n;
}

const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');

function shapeJson(dims: readonly number[], unknownRank = false): Record<string, unknown> {
  return unknownRank ? { unknownRank: true } : { dim: dims.map((d) => ({ size: String(d) })) };
}

function listJson(l: TfAttrList): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  if (l.s.length) o.s = l.s.map(b64);
  if (l.i.length) o.i = l.i.map(String);
  if (l.f.length) o.f = l.f;
  if (l.b.length) o.b = l.b;
  if (l.type.length) o.type = l.type.map(dt);
  if (l.shape.length) o.shape = l.shape.map((s) => shapeJson(s.dims, s.unknownRank));
  return o;
}

function attrJson(a: TfAttr): Record<string, unknown> {
  if (a.list !== undefined) return { list: listJson(a.list) };
  if (a.s !== undefined) return { s: b64(a.s) };
  if (a.i !== undefined) return { i: String(a.i) };
  if (a.f !== undefined) return { f: a.f };
  if (a.b !== undefined) return { b: a.b };
  if (a.type !== undefined) return { type: dt(a.type) };
  if (a.shape !== undefined) return { shape: shapeJson(a.shape.dims, a.shape.unknownRank) };
  if (a.tensor !== undefined) return { tensor: { dtype: dt(a.tensor.dtype), tensorShape: shapeJson(a.tensor.shape) } };
  return {};
}

export interface TfjsModelFiles {
  modelJson: string;
  weightsBytes: number;
}

/** Builds model.json and the weights bytes in memory. */
export function buildTfjsModel(g: FoldedGraph): { modelJson: Record<string, unknown>; weights: Uint8Array } {
  const nodes: Array<Record<string, unknown>> = [];
  const manifest: Array<{ name: string; shape: number[]; dtype: string }> = [];
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (const n of g.nodes) {
    if (OP_TABLE.get(n.op)?.tfjs !== 'native') throw graphError(`op '${n.op}' has no TF.js equivalent`, n.name);
    const attr: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(n.attr)) {
      // `_output_shapes` and friends are TF-internal.
      if (k.startsWith('_')) continue;
      attr[k] = attrJson(v);
    }
    nodes.push({ name: n.name, op: n.op, input: n.inputs, attr });
    if (n.op !== 'Const') continue;
    const t = n.attr.value!.tensor!;
    const d = t.dtype % 100;
    let bytes: Uint8Array;
    let dtype: string;
    if (d === TfDType.float || d === TfDType.half || d === TfDType.double) {
      bytes = new Uint8Array(Float32Array.from(t.data).buffer);
      dtype = 'float32';
    } else if (d === TfDType.bool) {
      bytes = Uint8Array.from(t.data);
      dtype = 'bool';
    } else if (d === TfDType.string) {
      throw graphError('string constants cannot be written for TF.js', n.name);
    } else {
      bytes = new Uint8Array(Int32Array.from(t.data).buffer);
      dtype = 'int32';
    }
    manifest.push({ name: n.name, shape: t.shape, dtype });
    chunks.push(bytes);
    total += bytes.length;
  }
  const weights = new Uint8Array(total);
  let o = 0;
  for (const c of chunks) {
    weights.set(c, o);
    o += c.length;
  }
  const modelJson = {
    format: 'graph-model',
    generatedBy: 'TensorFlow 1.x frozen graph',
    convertedBy: 'sgus-live import-frozen',
    modelTopology: { node: nodes, library: {}, versions: {} },
    signature: {
      inputs: Object.fromEntries(g.inputs.map((i) => [`${i.name}:0`, { name: `${i.name}:0`, dtype: dt(i.dtype), tensorShape: shapeJson(i.shape.map((d) => d ?? -1)) }])),
      outputs: Object.fromEntries(g.outputs.map((out) => [out.ref, { name: out.ref, dtype: dt(out.dtype), tensorShape: shapeJson(out.shape.map((d) => d ?? -1)) }])),
    },
    weightsManifest: [{ paths: [TFJS_WEIGHTS_FILE], weights: manifest }],
  };
  return { modelJson, weights };
}

/** Writes `dir/model.json` and `dir/group1-shard1of1.bin`. */
export async function writeTfjsModel(g: FoldedGraph, dir: string): Promise<TfjsModelFiles> {
  const { modelJson, weights } = buildTfjsModel(g);
  await mkdir(dir, { recursive: true });
  const modelJsonPath = path.join(dir, 'model.json');
  await writeFile(modelJsonPath, JSON.stringify(modelJson));
  await writeFile(path.join(dir, TFJS_WEIGHTS_FILE), weights);
  return { modelJson: modelJsonPath, weightsBytes: weights.length };
}
