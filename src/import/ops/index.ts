/**
 * The op table: every TensorFlow op the importer understands, with its handler (`types.ts`). An op
 * not in the table fails the import naming the op and the node. The kept ops — those that survive
 * folding and that the writers map — are the ones whose handler has an ONNX output.
 */
import { binaryHandlers } from './binary.js';
import { convHandlers } from './conv.js';
import { elementwiseHandlers } from './elementwise.js';
import { generatorHandlers } from './generators.js';
import { graphControlHandlers } from './graph-control.js';
import { matmulHandlers } from './matmul.js';
import { normalizationHandlers } from './normalization.js';
import { padHandlers } from './pad.js';
import { poolingHandlers } from './pooling.js';
import { reduceHandlers } from './reduce.js';
import { resizeHandlers } from './resize.js';
import { shapeHandlers } from './shape-ops.js';
import { sliceHandlers } from './slice.js';
import type { OpHandler } from './types.js';

/** The families, each in its own file. */
export const OP_FAMILIES: Readonly<Record<string, readonly OpHandler[]>> = {
  'graph-control': graphControlHandlers,
  generators: generatorHandlers,
  'shape-ops': shapeHandlers,
  slice: sliceHandlers,
  elementwise: elementwiseHandlers,
  binary: binaryHandlers,
  conv: convHandlers,
  pooling: poolingHandlers,
  normalization: normalizationHandlers,
  resize: resizeHandlers,
  reduce: reduceHandlers,
  matmul: matmulHandlers,
  pad: padHandlers,
};

function buildTable(): ReadonlyMap<string, OpHandler> {
  const table = new Map<string, OpHandler>();
  for (const [family, handlers] of Object.entries(OP_FAMILIES)) {
    for (const h of handlers) {
      for (const op of h.ops) {
        // A programming error, found by any import: one op, one meaning.
        if (table.has(op)) throw new Error(`op '${op}' has two handlers (the second in ops/${family}.ts)`);
        table.set(op, h);
      }
    }
  }
  return table;
}

/** TF op type → its handler. */
export const OP_TABLE: ReadonlyMap<string, OpHandler> = buildTable();

/** Ops the converter keeps (and both writers map). Everything else must fold away. */
export const KEPT_OPS: ReadonlySet<string> = new Set([...OP_TABLE].flatMap(([op, h]) => (h.onnx !== undefined ? [op] : [])));

export function opHandler(op: string): OpHandler | undefined {
  return OP_TABLE.get(op);
}

export type { OpHandler } from './types.js';
