import * as tf from '@tensorflow/tfjs-core';

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

/**
 * AdamW (Loshchilov & Hutter 2019): Adam moments with bias correction, and weight decay applied
 * to the parameter directly (decoupled), not added to the gradient as L2 would be:
 * p ← p − lr·(m̂/(√v̂+ε) + λ·p). Keeps two float32 moments per trainable parameter — the
 * "optimizer state" memory the profiler reports.
 */
export class AdamW {
  private readonly m: tf.Variable[];
  private readonly v: tf.Variable[];
  private t = 0;

  private readonly lrScales: number[];

  constructor(private readonly params: tf.Variable[], private readonly opts: AdamWOptions) {
    if (opts.lrScales && opts.lrScales.length !== params.length) throw new Error(`internal: ${opts.lrScales.length} lr scales for ${params.length} parameters`);
    this.lrScales = opts.lrScales ?? params.map(() => 1);
    // tidy disposes the zeros tensors; each variable keeps its own reference to the data.
    this.m = tf.tidy(() => params.map((p) => tf.variable(tf.zerosLike(p), false)));
    this.v = tf.tidy(() => params.map((p) => tf.variable(tf.zerosLike(p), false)));
  }

  /** Bytes held by the optimizer moments. */
  stateBytes(): number {
    return this.m.reduce((s, x) => s + x.size * 4, 0) * 2;
  }

  /** Applies one update at learning rate `lr` (times each parameter's lr scale); `grads[i]` belongs to `params[i]` and is multiplied by `gradScale` (clipping). */
  step(grads: tf.Tensor[], lr: number, gradScale = 1): void {
    this.t += 1;
    const { beta1, beta2, epsilon, weightDecay } = this.opts;
    const bc1 = 1 - Math.pow(beta1, this.t);
    const bc2 = 1 - Math.pow(beta2, this.t);
    tf.tidy(() => {
      this.params.forEach((p, i) => {
        const plr = lr * this.lrScales[i];
        const g = gradScale === 1 ? grads[i] : tf.mul(grads[i], gradScale);
        const m = tf.add(tf.mul(this.m[i], beta1), tf.mul(g, 1 - beta1));
        const v = tf.add(tf.mul(this.v[i], beta2), tf.mul(tf.square(g), 1 - beta2));
        this.m[i].assign(m);
        this.v[i].assign(v);
        const update = tf.div(tf.div(m, bc1), tf.add(tf.sqrt(tf.div(v, bc2)), epsilon));
        const decayed = weightDecay > 0 ? tf.mul(p, 1 - plr * weightDecay) : p;
        p.assign(tf.sub(decayed, tf.mul(update, plr)));
      });
    });
  }

  dispose(): void {
    for (const x of [...this.m, ...this.v]) x.dispose();
  }
}

/** Global L2 norm of all gradients (one scalar tensor). */
export function globalNorm(grads: tf.Tensor[]): tf.Scalar {
  return tf.tidy(() => tf.sqrt(tf.addN(grads.map((g) => tf.sum(tf.square(g))))) as tf.Scalar);
}
