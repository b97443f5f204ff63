/**
 * What an op handler is: the one place that says what a TensorFlow op means to the importer —
 * how it folds, the shapes it produces when kept, its ONNX nodes and whether TF.js runs it as is.
 * `graph-fold.ts` and `onnx-writer.ts` are drivers that look ops up in the table (`index.ts`).
 */
import type { TfAttr, TfNode, TfTensor } from '../tf-graphdef.js';
import type { Dim, FoldedNode, TensorInfo } from '../folded-graph.js';
import type { OnnxBuilder } from '../onnx-builder.js';

/** A tensor's value while folding. */
export type Value =
  | { kind: 'const'; t: TfTensor; origin: string }
  | { kind: 'dyn'; ref: string; shape: Dim[]; dtype: number }
  /** An integer vector (or scalar) with some unknown entries: a shape involving the batch. */
  | { kind: 'partial'; dims: Dim[]; scalar: boolean; dtype: number }
  /** Values known to lie in [lo, hi] (hi excluded when hiOpen): random draws. lo === hi: exactly that value. */
  | { kind: 'uniform'; lo: number; hi: number; hiOpen: boolean; shape: Dim[] | null; dtype: number }
  | { kind: 'dead' };

export type ConstValue = Extract<Value, { kind: 'const' }>;
export type DynValue = Extract<Value, { kind: 'dyn' }>;
export type UniformValue = Extract<Value, { kind: 'uniform' }>;
export type PartialValue = Extract<Value, { kind: 'partial' }>;

export const DEAD: Value = { kind: 'dead' };

/** What the folder lends a folding rule. */
export interface FoldContext {
  /** Placeholders with a fixed value. */
  feeds: Record<string, number | boolean>;
  inputShapes: Record<string, number[]> | undefined;
  /** Batch size to fold with; `null` keeps it symbolic. */
  batch: number | null;
  /** Records a placeholder that stays an input of the folded graph. */
  addInput(input: TensorInfo & { name: string }): void;
  /** Keeps `node` in the folded graph with these inputs and outputs; returns its outputs' values. */
  keep(node: TfNode, ins: Value[], outs: TensorInfo[], attr?: Record<string, TfAttr>): Value[];
  constOf(v: Value, node: TfNode, what: string): TfTensor;
  shapeOf(v: Value, node: string): Dim[];
  dtypeOf(v: Value): number;
}

/** An input of a kept node as shape inference sees it: its constant value where it has one. */
export interface InInfo {
  shape: Dim[];
  dtype: number;
  value: TfTensor | undefined;
}

export interface OpHandler {
  /** The TF op types this handler owns (each op is owned by exactly one handler). */
  ops: readonly string[];
  /**
   * The folding rule: the node's output values, or `undefined` to keep the node as it is (its
   * outputs then come from `shape`). May replace entries of `ins` before keeping. `T` is the node's
   * element type (attr `T`, else the first input's).
   */
  fold?: (c: FoldContext, node: TfNode, ins: Value[], T: number) => Value[] | undefined;
  /** Output shapes and dtypes of a kept node (when `fold` leaves it). */
  shape?: (node: TfNode, ins: InInfo[], batch: number | null) => TensorInfo[];
  /** The ONNX nodes of a kept node. An op without one is not kept: it must fold away. */
  onnx?: (c: OnnxBuilder, n: FoldedNode) => void;
  /** 'native': the TF.js export writes the node as folded (tf.loadGraphModel runs the TF op). */
  tfjs?: 'native';
  /** Evaluated even when an input is dead (Merge picks its live input). */
  takesDeadInputs?: boolean;
}

/** A folding rule (`OpHandler.fold`), for handlers of several ops that share one. */
export type FoldRule = NonNullable<OpHandler['fold']>;
