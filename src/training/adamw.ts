import * as tf from '@tensorflow/tfjs-core';
import { fusedAdamWAvailable, fusedAdamWNorm, fusedAdamWUpdate } from './fused-training-ops.js';

export interface AdamWOptions {
  beta1: number;
  beta2: number;
  epsilon: number;
  weightDecay: number;
  /**
   * Per-parameter learning-rate multipliers (parameter groups), same order as the parameters;
   * LoRA+ uses them to give B a larger step. Default: 1 for every parameter.
   */
  lrScales?: number[];
}

/** Most elements one flat group holds: bounds the group's temporaries (a few copies of it) to tens of MB. */
export const MAX_GROUP_ELEMENTS = 1 << 22;

/** Parameters updated together: same lr scale, concatenated into one flat vector. */
interface Group {
  /** Indices into the parameter list, in order. */
  index: number[];
  sizes: number[];
  lrScale: number;
  /** The group's moments, flat `[Σ sizes]`. */
  m: tf.Variable;
  v: tf.Variable;
}

/**
 * Splits parameters into groups of equal lr scale and at most {@link MAX_GROUP_ELEMENTS}
 * elements (a larger parameter is a group of its own), keeping the parameters' order.
 */
export function planGroups(sizes: number[], lrScales: number[], maxElements = MAX_GROUP_ELEMENTS): number[][] {
  const groups: number[][] = [];
  const open = new Map<number, { index: number[]; elements: number }>();
  sizes.forEach((size, i) => {
    const scale = lrScales[i];
    let g = open.get(scale);
    if (!g || g.elements + size > maxElements) {
      g = { index: [], elements: 0 };
      groups.push(g.index);
      open.set(scale, g);
    }
    g.index.push(i);
    g.elements += size;
  });
  return groups;
}

/** A step's gradients as the update reads them, and their global norm (see {@link AdamW.prepare}). */
export interface PreparedGrads {
  /** Per group: its parameters' gradients concatenated flat, in the group's order. */
  flat: tf.Tensor1D[];
  /** Per group: flat², which the update reuses when it does not rescale the gradients. */
  squares: tf.Tensor1D[];
  /** The global L2 norm of all gradients, the same bits as {@link globalNorm}. */
  norm: tf.Scalar;
}

/**
 * AdamW (Loshchilov & Hutter 2019): Adam moments with bias correction, and weight decay applied
 * to the parameter directly (decoupled), not added to the gradient as L2 would be:
 * p ← p − lr·(m̂/(√v̂+ε) + λ·p). Keeps two float32 moments per trainable parameter — the
 * "optimizer state" memory the profiler reports.
 *
 * The update is elementwise, so parameters of the same lr scale are updated as one flat vector
 * (concatenated, updated, split back): the same IEEE operations on the same operands give the
 * same bits as updating each parameter alone, in about a tenth of the kernels (a LoRA run has
 * two small parameters per adapted layer, and every kernel costs a fixed overhead).
 */
export class AdamW {
  private readonly groups: Group[];
  private t = 0;

  constructor(private readonly params: tf.Variable[], private readonly opts: AdamWOptions) {
    if (opts.lrScales && opts.lrScales.length !== params.length) throw new Error(`internal: ${opts.lrScales.length} lr scales for ${params.length} parameters`);
    const lrScales = opts.lrScales ?? params.map(() => 1);
    this.groups = planGroups(params.map((p) => p.size), lrScales).map((index) => {
      const sizes = index.map((i) => params[i].size);
      const total = sizes.reduce((a, b) => a + b, 0);
      // tidy disposes the zeros tensors; each variable keeps its own reference to the data.
      const [m, v] = tf.tidy(() => [tf.variable(tf.zeros([total]), false), tf.variable(tf.zeros([total]), false)]);
      return { index, sizes, lrScale: lrScales[index[0]], m, v };
    });
  }

  /** Bytes held by the optimizer moments. */
  stateBytes(): number {
    return this.groups.reduce((s, g) => s + g.m.size * 4, 0) * 2;
  }

  /**
   * Flattens `grads` (`grads[i]` belongs to `params[i]`) per group, as the update reads them, and
   * computes their global norm from the flat squares, which the update then reuses: the same
   * per-parameter sums of the same squares in the same order as {@link globalNorm} (a sum runs
   * through a tensor's elements in row-major order whatever its shape), in a third fewer kernels.
   * The caller disposes the result ({@link disposePrepared}).
   */
  prepare(grads: tf.Tensor[]): PreparedGrads {
    // One kernel where the backend has the fused one (the same bits).
    if (fusedAdamWAvailable(grads)) return fusedAdamWNorm(grads, this.groups.map((g) => g.index));
    return tf.tidy(() => {
      const flat = this.groups.map((grp) => flatten(grp.index.map((i) => grads[i])));
      const squares = flat.map((g) => tf.square(g));
      const sums: tf.Tensor[] = new Array(this.params.length);
      this.groups.forEach((grp, k) => {
        const parts = grp.index.length === 1 ? [squares[k]] : tf.split(squares[k], grp.sizes);
        grp.index.forEach((i, j) => (sums[i] = tf.sum(parts[j])));
      });
      return { flat, squares, norm: tf.sqrt(tf.addN(sums)) as tf.Scalar };
    });
  }

  /** Applies one update at learning rate `lr` (times each parameter's lr scale); `grads[i]` belongs to `params[i]` (or come prepared) and is multiplied by `gradScale` (clipping). */
  step(grads: tf.Tensor[] | PreparedGrads, lr: number, gradScale = 1): void {
    if (Array.isArray(grads)) {
      const prepared = this.prepare(grads);
      try {
        return this.step(prepared, lr, gradScale);
      } finally {
        disposePrepared(prepared);
      }
    }
    this.t += 1;
    const { beta1, beta2, epsilon, weightDecay } = this.opts;
    const bc1 = 1 - Math.pow(beta1, this.t);
    const bc2 = 1 - Math.pow(beta2, this.t);
    const fused = fusedAdamWAvailable([...grads.flat, ...this.params]);
    this.groups.forEach((grp, k) => {
      tf.tidy(() => {
        const plr = lr * grp.lrScale;
        const params = grp.index.map((i) => this.params[i]);
        if (fused) {
          // One kernel: the chain below per element, the same float32 operations in the same order.
          const [m, v, ...next] = fusedAdamWUpdate(grp.m, grp.v, grads.flat[k], grads.squares[k], params, {
            gradScale,
            beta1,
            oneMinusBeta1: 1 - beta1,
            beta2,
            oneMinusBeta2: 1 - beta2,
            bc1,
            bc2,
            epsilon,
            keep: weightDecay > 0 ? 1 - plr * weightDecay : null,
            lr: plr,
          });
          grp.m.assign(m);
          grp.v.assign(v);
          params.forEach((p, j) => p.assign(next[j]));
          return;
        }
        const g0 = grads.flat[k];
        const g = gradScale === 1 ? g0 : tf.mul(g0, gradScale);
        const m = tf.add(tf.mul(grp.m, beta1), tf.mul(g, 1 - beta1));
        const v = tf.add(tf.mul(grp.v, beta2), tf.mul(gradScale === 1 ? grads.squares[k] : tf.square(g), 1 - beta2));
        grp.m.assign(m);
        grp.v.assign(v);
        const update = tf.div(tf.div(m, bc1), tf.add(tf.sqrt(tf.div(v, bc2)), epsilon));
        const p0 = flatten(params);
        const decayed = weightDecay > 0 ? tf.mul(p0, 1 - plr * weightDecay) : p0;
        const next = tf.sub(decayed, tf.mul(update, plr));
        const parts = params.length === 1 ? [next] : tf.split(next, grp.sizes);
        params.forEach((p, j) => p.assign(parts[j].reshape(p.shape)));
      });
    });
  }

  dispose(): void {
    for (const g of this.groups) {
      g.m.dispose();
      g.v.dispose();
    }
  }
}

/** One flat vector of the tensors' elements, in order. */
function flatten(ts: tf.Tensor[]): tf.Tensor1D {
  return (ts.length === 1 ? ts[0].reshape([-1]) : tf.concat(ts.map((t) => t.reshape([-1])))) as tf.Tensor1D;
}

export function disposePrepared(p: PreparedGrads): void {
  tf.dispose([...p.flat, ...p.squares, p.norm]);
}

/** Global L2 norm of all gradients (one scalar tensor). */
export function globalNorm(grads: tf.Tensor[]): tf.Scalar {
  return tf.tidy(() => tf.sqrt(tf.addN(grads.map((g) => tf.sum(tf.square(g))))) as tf.Scalar);
}
