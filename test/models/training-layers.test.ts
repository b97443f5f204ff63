/**
 * The offline training tool (models/training/*.py) is layered: each module imports only layers
 * below its own, so no import runs in a circle and the command-line entry points stay thin. The
 * imports are read from the Python sources (top-level and lazy ones alike), no Python needed.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { PACKAGE_ROOT } from '../../src/segmenter/model-registry.js';

const TOOL = path.join(PACKAGE_ROOT, 'models', 'training');
const PYTHON = process.env.SGUS_PYTHON ?? '/usr/bin/python3';

/** Rank per layer: a module may import modules of a lower rank, or of its own layer (acyclic). */
const LAYERS: Record<string, { rank: number; modules: string[] }> = {
  'data and models': { rank: 0, modules: ['data', 'appearance', 'priors', 'architectures', 'pretrained'] },
  recipe: { rank: 1, modules: ['recipe'] },
  scoring: { rank: 2, modules: ['scoring', 'score_reports'] },
  // Same rank, separate layers: training and export never import each other.
  training: { rank: 3, modules: ['training_loop', 'pseudo_labels'] },
  export: { rank: 3, modules: ['exporter'] },
  'command line': { rank: 4, modules: ['train', 'validate', 'export'] },
};
const ENTRY_POINTS = new Set(LAYERS['command line']!.modules);

/** Local modules each module imports, from `import x`, `import x as y, z` and `from x import ...` at any indentation. */
function localImports(sources: Map<string, string>): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>();
  for (const [name, text] of sources) {
    const code = text.replace(/"""[\s\S]*?"""/g, '').replace(/'''[\s\S]*?'''/g, '');
    const deps = new Set<string>();
    for (const m of code.matchAll(/^[ \t]*from[ \t]+([\w.]+)[ \t]+import\b/gm)) deps.add(m[1]!.split('.')[0]!);
    for (const m of code.matchAll(/^[ \t]*import[ \t]+([^\n#]+)/gm)) {
      for (const part of m[1]!.split(',')) deps.add(part.trim().split(/\s+/)[0]!.split('.')[0]!);
    }
    graph.set(name, new Set([...deps].filter((d) => sources.has(d) && d !== name)));
  }
  return graph;
}

/** One import circle as a path (a → b → a), or null. */
function findCycle(graph: Map<string, Set<string>>): string[] | null {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (n: string): string[] | null => {
    if (state.get(n) === 'done') return null;
    if (state.get(n) === 'open') return [...stack.slice(stack.indexOf(n)), n];
    state.set(n, 'open');
    stack.push(n);
    for (const d of graph.get(n) ?? []) {
      const c = visit(d);
      if (c) return c;
    }
    stack.pop();
    state.set(n, 'done');
    return null;
  };
  for (const n of graph.keys()) {
    const c = visit(n);
    if (c) return c;
  }
  return null;
}

function toolSources(): Map<string, string> {
  const files = readdirSync(TOOL).filter((f) => f.endsWith('.py'));
  return new Map(files.map((f) => [f.slice(0, -3), readFileSync(path.join(TOOL, f), 'utf8')]));
}

function layerOf(module: string): string | undefined {
  return Object.keys(LAYERS).find((l) => LAYERS[l]!.modules.includes(module));
}

test('the import checker sees lazy imports and reports a circle', () => {
  const graph = localImports(new Map([
    ['a', 'import os\nimport b as B  # noqa\n'],
    ['b', '"""import a is only words here"""\ndef f():\n    from c import g\n'],
    ['c', 'import numpy as np, a\n'],
  ]));
  assert.deepEqual([...graph.get('b')!], ['c']);
  assert.deepEqual(findCycle(graph), ['a', 'b', 'c', 'a']);
  assert.equal(findCycle(localImports(new Map([['a', 'import b'], ['b', '']]))), null);
});

test('the training tool has no import circle', () => {
  const graph = localImports(toolSources());
  for (const m of ENTRY_POINTS) assert.ok(graph.has(m), `${m}.py read from ${TOOL}`);
  assert.equal(findCycle(graph), null);
});

test('every training-tool module imports only layers below its own, and nobody imports a command-line entry point', (t) => {
  const graph = localImports(toolSources());
  for (const layer of Object.values(LAYERS)) for (const m of layer.modules) assert.ok(graph.has(m), `${m}.py exists`);
  const unplaced = [...graph.keys()].filter((m) => layerOf(m) === undefined);
  if (unplaced.length) t.diagnostic(`modules in no layer yet (checked only for circles and entry points): ${unplaced.join(', ')}`);
  for (const [module, deps] of graph) {
    const own = layerOf(module);
    for (const dep of deps) {
      assert.ok(!ENTRY_POINTS.has(dep), `${module}.py imports the entry point ${dep}.py`);
      if (own === undefined) continue;
      const theirs = layerOf(dep);
      assert.ok(theirs !== undefined, `${module}.py (${own}) imports ${dep}.py, which is in no layer`);
      const ok = theirs === own || LAYERS[theirs]!.rank < LAYERS[own]!.rank;
      assert.ok(ok, `${module}.py (${own}) imports ${dep}.py (${theirs}): imports run downward only`);
    }
  }
});

test('the three command-line entry points import and show their options', { timeout: 120_000 }, (t) => {
  if (spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status !== 0) {
    t.skip(`PyTorch not importable by ${PYTHON} (run scripts/setup.sh)`);
    return;
  }
  const flags: Record<string, string[]> = {
    'train.py': ['--protocol', '--val-split', '--suppress-colour', '--field-of-view', '--pseudo-from', '--tiny'],
    'validate.py': ['--run', '--summary', '--compare', '--frames', '--update'],
    'export.py': ['--run', '--out', '--reference-out', '--default', '--single-region', '--flip-average'],
  };
  for (const [file, expected] of Object.entries(flags)) {
    const r = spawnSync(PYTHON, [path.join(TOOL, file), '--help'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, `${file} --help:\n${r.stderr.slice(-1500)}`);
    for (const flag of expected) assert.ok(r.stdout.includes(flag), `${file} --help names ${flag}`);
  }
});
