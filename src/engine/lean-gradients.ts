/**
 * tfjs-core 4.22's `Engine.gradients` (tf.variableGrads, tf.grads, tf.valueAndGrads…) with leaner
 * bookkeeping between the forward and the backward pass, for the outermost gradient only:
 * - the tape is filtered to the nodes on a path from the xs to y with Sets and one pass each
 *   way, and the pruned inputs are kept beside the nodes instead of copying every node object
 *   (the stock filter, plain objects keyed by tensor id, a redundant loop over xs and an
 *   Object.assign per node, took ~70 µs of a 75-node tiny-llama tape; this ~15 µs);
 * - gradients accumulate in a Map.
 * Everything with a value in it is what the stock engine does, in the same order: the forward in
 * a tidy('forward') under the tape, the same nodes kept with the same pruned inputs (in the
 * inputs' own key order), the backward in a tidy('backward') from ones(y.shape) (or dy), nodes
 * walked last to first, each input's gradient computed in its own tidy and summed into what is
 * there by the Add kernel (the earlier sum first) — so the same kernels with the same operands, the same
 * bits, and the same checks and errors. Then, as stock, the saved tensors of the whole tape are
 * disposed and the tape dropped.
 *
 * Nested gradients (called while another gradient records) take the stock method, which keeps
 * the outer tape going.
 */
import * as tf from '@tensorflow/tfjs-core';

interface TapeTensor {
  id: number;
  shape: number[];
  dtype: tf.DataType;
  dispose(): void;
}

interface TapeNode {
  id: number;
  kernelName: string;
  inputs: Record<string, TapeTensor>;
  outputs: TapeTensor[];
  saved?: TapeTensor[];
  gradient?: (dys: Array<tf.Tensor | null>) => Record<string, () => tf.Tensor>;
}

export interface GradientsEngine {
  state: { gradientDepth: number; activeTape: TapeNode[] | null };
  startTape(): void;
  endTape(): void;
  tidy<T>(nameOrFn: string | (() => T), fn?: () => T): T;
  scopedRun<T>(start: () => void, end: () => void, f: () => T): T;
  runKernel(name: string, inputs: Record<string, tf.Tensor>, attrs?: Record<string, unknown>): tf.Tensor | tf.Tensor[];
}

export type Gradients = (f: () => tf.Tensor, xs: tf.Tensor[], dy?: tf.Tensor, allowNoGradients?: boolean) => { value: tf.Tensor; grads: tf.Tensor[] };

/** A tape node on a path from the xs to y, with its inputs pruned to those that depend on the xs. */
interface KeptNode {
  node: TapeNode;
  inputs: Record<string, TapeTensor>;
}

/**
 * The nodes of `tape` (in tape order) that depend on one of `xs` and lead to `y`, each with the
 * inputs that depend on the xs (tfjs-core's getFilteredNodesXToY: the same nodes and inputs).
 */
export function nodesFromXsToY(tape: TapeNode[], xs: TapeTensor[], y: TapeTensor): KeptNode[] {
  const n = tape.length;
  const fromX = new Set<number>();
  for (const x of xs) fromX.add(x.id);
  // 1: depends on an x; 2: leads to y.
  const mark = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const node = tape[i];
    const inputs = node.inputs;
    for (const name in inputs) {
      const input = inputs[name];
      if (input != null && fromX.has(input.id)) {
        for (const o of node.outputs) fromX.add(o.id);
        mark[i] = 1;
        break;
      }
    }
  }
  const toY = new Set<number>([y.id]);
  for (let i = n - 1; i >= 0; i--) {
    const node = tape[i];
    let leads = false;
    for (const o of node.outputs) {
      if (toY.has(o.id)) {
        leads = true;
        break;
      }
    }
    if (!leads) continue;
    const inputs = node.inputs;
    for (const name in inputs) {
      const input = inputs[name];
      if (input != null) toY.add(input.id);
      // As the stock filter: a node counts as leading to y through an input it has.
      mark[i] |= 2;
    }
  }
  const kept: KeptNode[] = [];
  for (let i = 0; i < n; i++) {
    if (mark[i] !== 3) continue;
    const node = tape[i];
    const pruned: Record<string, TapeTensor> = {};
    for (const name in node.inputs) {
      const input = node.inputs[name];
      if (input != null && fromX.has(input.id)) pruned[name] = input;
    }
    kept.push({ node, inputs: pruned });
  }
  return kept;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** tfjs-core's backpropagateGradients over {@link nodesFromXsToY}'s nodes: the same calls in the same order, the same errors. */
function backpropagate(e: GradientsEngine, grads: Map<number, tf.Tensor>, kept: KeptNode[]): void {
  for (let i = kept.length - 1; i >= 0; i--) {
    const { node, inputs } = kept[i];
    const dys: Array<tf.Tensor | null> = node.outputs.map((o) => grads.get(o.id) ?? null);
    if (node.gradient == null) throw new Error(`Cannot compute gradient: gradient function not found for ${node.kernelName}.`);
    const inputGradients = node.gradient(dys);
    for (const name in inputs) {
      if (!(name in inputGradients)) {
        throw new Error(`Cannot backprop through input ${name}. Available gradients found: ${Object.keys(inputGradients)}.`);
      }
      const dx = e.tidy(() => inputGradients[name]());
      if (dx.dtype !== 'float32') {
        throw new Error(`Error in gradient for op ${node.kernelName}. The gradient of input ${name} must have 'float32' dtype, but has '${dx.dtype}'`);
      }
      const x = inputs[name];
      if (!sameShape(dx.shape, x.shape)) {
        throw new Error(`Error in gradient for op ${node.kernelName}. The gradient of input '${name}' has shape '${dx.shape}', which does not match the shape of the input '${x.shape}'`);
      }
      const current = grads.get(x.id);
      if (current == null) grads.set(x.id, dx);
      else {
        // The engine's own sum: the Add kernel alone (no op scope), as tfjs-core's add$1.
        grads.set(x.id, e.runKernel('Add', { a: current, b: dx }) as tf.Tensor);
        current.dispose();
      }
    }
  }
}

/** Builds the replacement for `Engine.gradients`; `stock` runs nested gradients. */
export function leanGradients(stock: Gradients): Gradients {
  return function gradients(this: GradientsEngine, f, xs, dy, allowNoGradients = false) {
    if (this.state.gradientDepth !== 0) return stock.call(this, f, xs, dy, allowNoGradients);
    if (!(xs.length > 0)) throw new Error('gradients() received an empty list of xs.');
    if (dy != null && dy.dtype !== 'float32') throw new Error(`dy must have 'float32' dtype, but has '${dy.dtype}'`);
    const y = this.scopedRun(
      () => this.startTape(),
      () => this.endTape(),
      () => this.tidy('forward', f),
    );
    if (!(y instanceof tf.Tensor)) throw new Error('The result y returned by f() must be a tensor.');
    const tape = this.state.activeTape ?? [];
    const kept = nodesFromXsToY(tape, xs, y);
    if (!allowNoGradients && kept.length === 0 && xs.length > 0) {
      throw new Error('Cannot compute gradient of y=f(x) with respect to x. Make sure that the f you passed encloses all operations that lead from x to y.');
    }
    return this.tidy('backward', () => {
      const acc = new Map<number, tf.Tensor>();
      acc.set(y.id, dy == null ? tf.ones(y.shape) : dy);
      backpropagate(this, acc, kept);
      const grads = xs.map((x) => acc.get(x.id) as tf.Tensor);
      if (this.state.gradientDepth === 0) {
        // Not inside a higher-order gradient: the tape's saved tensors go, and the tape.
        for (const node of tape) for (const t of node.saved ?? []) t.dispose();
        this.state.activeTape = null;
      }
      return { value: y, grads };
    });
  };
}
