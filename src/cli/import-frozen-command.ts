/** `sgus import-frozen`: a TensorFlow 1.x frozen graph (DeepSGUS `frozen_graph.pb`) → models/<name>/. */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ErrorCode, SgusError, describeError } from '../errors.js';
import { importFrozen, parseFrozenGraph, summarizeGraph } from '../import/import-frozen.js';
import type { GraphSummary } from '../import/import-frozen.js';
import { MODELS_DIR } from '../segmenter/model-registry.js';
import { intOption, parse } from './args.js';
import type { CliCommand } from './command.js';

const HELP = `Usage: sgus import-frozen FILE.pb [options]

Imports a TensorFlow 1.x frozen graph (e.g. DeepSGUS's frozen_graph.pb) as a model that
'sgus segment --model NAME' and the pipeline run like any other: writes models/NAME/model.onnx
(ONNX opset 13, NHWC 0-255 RGB input kept), card.json, and tfjs/model.json for '--engine tfjs'.
Fixed feeds are folded away: a bool placeholder named like TRAINING is fed False, a float one named
like keep_prob(abilty) 1.0 (tf.cond branches and dropout disappear). A graph whose output is not a
per-pixel class map at the input's size (a classifier, say) is refused: it is not a segmentation model.

Options:
      --name NAME         model folder name (default: from the file name); an existing model of
                          that name is refused
      --force             replace an existing model of that name
      --models-dir DIR    where models live (default: ${path.relative(process.cwd(), MODELS_DIR) || MODELS_DIR})
      --input NAME        image placeholder (default: input_image, else the only unfixed placeholder)
      --output NAME       tensor to output (default: inference/prediction:0, else the only unconsumed tensor);
                          an ArgMax output becomes a 'classes' model, a Softmax one 'probabilities'
      --feed NAME=VALUE   fix another placeholder (number, true or false); repeatable
      --batch N           fix the batch size (default: dynamic)
      --size N            input height/width when the placeholder leaves them unknown (default 224)
      --no-tfjs           do not write the TF.js graph model
      --list              only list the graph's inputs and outputs

Examples:
  sgus import-frozen ~/DeepSGUS/frozen_graph.pb --name deepsgus
  sgus segment --model deepsgus scans/ -o out/`;

function parseFeeds(values: unknown): Record<string, number | boolean> {
  const feeds: Record<string, number | boolean> = {};
  for (const f of (values as string[] | undefined) ?? []) {
    const m = /^([^=]+)=(.+)$/.exec(f);
    if (!m) throw new SgusError(ErrorCode.InvalidArgument, `--feed must be NAME=VALUE, got '${f}'`);
    const v = m[2]!.trim().toLowerCase();
    const value = v === 'true' ? true : v === 'false' ? false : Number(v);
    if (typeof value === 'number' && !Number.isFinite(value)) throw new SgusError(ErrorCode.InvalidArgument, `--feed ${m[1]}: '${m[2]}' is not a number, true or false`);
    feeds[m[1]!.trim()] = value;
  }
  return feeds;
}

function shortPath(p: string): string {
  const rel = path.relative(process.cwd(), p);
  return rel === '' || rel.startsWith('..') ? p : rel;
}

function describeSummary(file: string, s: GraphSummary): string {
  const lines = [`graph ${file}: ${s.nodes} nodes (${s.ops.slice(0, 12).map(([o, n]) => `${o}×${n}`).join(', ')}${s.ops.length > 12 ? ', …' : ''})`, 'inputs (placeholders):'];
  for (const p of s.placeholders) {
    lines.push(`  ${p.name}  ${p.dtype} ${p.shape === undefined ? '[?]' : `[${p.shape.join(',')}]`}${p.fixed !== undefined ? `  fixed to ${String(p.fixed)}` : ''}`);
  }
  if (s.placeholders.length === 0) lines.push('  (none)');
  lines.push('outputs (tensors no node consumes):');
  for (const o of s.outputs.slice(0, 20)) lines.push(`  ${o.name}  (${o.op})`);
  if (s.outputs.length > 20) lines.push(`  … ${s.outputs.length - 20} more`);
  return lines.join('\n');
}

const command: CliCommand = {
  help: HELP,
  async run(args: string[]): Promise<number> {
    const { values, positionals } = parse(args, {
      name: { type: 'string' },
      force: { type: 'boolean' },
      'models-dir': { type: 'string' },
      input: { type: 'string' },
      output: { type: 'string' },
      feed: { type: 'string', multiple: true },
      batch: { type: 'string' },
      size: { type: 'string' },
      'no-tfjs': { type: 'boolean' },
      list: { type: 'boolean' },
    });
    if (positionals.length !== 1) throw new SgusError(ErrorCode.InvalidArgument, 'give exactly one frozen graph file (.pb); see --help');
    const file = positionals[0]!;
    if (values.list === true) {
      let bytes: Uint8Array;
      try {
        bytes = await readFile(file);
      } catch (err) {
        throw new SgusError(ErrorCode.FileUnreadable, `cannot read the frozen graph: ${describeError(err)}`, { where: file, cause: err });
      }
      process.stdout.write(`${describeSummary(file, summarizeGraph(parseFrozenGraph(bytes, file)))}\n`);
      return 0;
    }
    const r = await importFrozen(file, {
      modelsDir: (values['models-dir'] as string | undefined) ?? MODELS_DIR,
      ...(typeof values.name === 'string' ? { name: values.name } : {}),
      ...(typeof values.input === 'string' ? { input: values.input } : {}),
      ...(typeof values.output === 'string' ? { output: values.output } : {}),
      feeds: parseFeeds(values.feed),
      batch: values.batch === undefined ? null : intOption(values.batch, 'batch', 1, 1),
      size: intOption(values.size, 'size', 1, 224),
      tfjs: values['no-tfjs'] !== true,
      overwrite: values.force === true,
    });
    const shape = (s: ReadonlyArray<number | null>): string => `[${s.map((d) => d ?? 'N').join(',')}]`;
    const out = [
      describeSummary(file, r.summary),
      `imported ${r.input.name} ${shape(r.input.shape)} → ${r.output.name} ${shape(r.output.shape)} (${r.output.kind}) in ${r.ms.toFixed(0)} ms`,
      `  fixed feeds: ${Object.entries(r.feeds).map(([k, v]) => `${k}=${String(v)}`).join(', ') || 'none'}`,
      `  ${r.folded.nodes.filter((n) => n.op !== 'Const').length} network ops after folding; ONNX: ${Object.entries(r.onnx.opCounts).map(([o, n]) => `${o}×${n}`).join(', ')}`,
      `  ${r.onnx.parameters.toLocaleString('en-US')} parameters${r.onnx.flops > 0 ? `, ${(r.onnx.flops / 1e9).toFixed(2)} GFLOPs per frame` : ''}`,
      `wrote ${shortPath(r.modelDir)}/: model.onnx, card.json${r.tfjsModel !== undefined ? `, ${r.tfjsModel}` : ''}`,
      ...r.notes.map((n) => `note: ${n}`),
      ...(r.notes.some((n) => n.includes('not a segmentation model') || n.includes('cannot feed')) ? [] : [`run it: sgus segment --model ${r.card.name}${values['models-dir'] !== undefined ? ` (with SGUS_MODELS_DIR=${String(values['models-dir'])}, or --model ${r.modelDir})` : ''} IMAGE...`]),
    ];
    process.stdout.write(`${out.join('\n')}\n`);
    return 0;
  },
};

export default command;
