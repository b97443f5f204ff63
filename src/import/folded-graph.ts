/**
 * The folded graph that `graph-fold.ts` produces and both writers read, and the importer's error
 * constructors (in their own file so that the op handlers, the folder and the writers share them
 * without importing each other).
 */
import { ErrorCode, SgusError } from '../errors.js';
import type { TfAttr, TfNode } from './tf-graphdef.js';

/** A dimension: a number, or `null` for the (symbolic) batch / an unknown size. */
export type Dim = number | null;

export interface TensorInfo {
  shape: Dim[];
  dtype: number;
}

export interface FoldedNode {
  name: string;
  op: string;
  /** Tensor refs (`node` or `node:k`) in the folded graph; no control inputs. */
  inputs: string[];
  attr: Record<string, TfAttr>;
  outputs: TensorInfo[];
}

export interface FoldedGraph {
  /** In topological order. Constants are `Const` nodes with `attr.value.tensor`. */
  nodes: FoldedNode[];
  /** Placeholders that stayed inputs. */
  inputs: Array<TensorInfo & { name: string }>;
  /** Requested outputs: `name` as asked for, `ref` the folded tensor that holds it. */
  outputs: Array<TensorInfo & { name: string; ref: string }>;
}

export function graphError(message: string, node?: string): SgusError {
  return new SgusError(ErrorCode.GraphImport, message, node !== undefined ? { where: `node '${node}'` } : {});
}

export function unsupported(node: Pick<TfNode, 'op' | 'name'>, why = ''): SgusError {
  return new SgusError(ErrorCode.GraphImport, `unsupported op '${node.op}' at node '${node.name}'${why ? `: ${why}` : ''}`);
}
