import * as tf from '@tensorflow/tfjs-core';
import '../../util/tfjs-setup.js';
import type { StoredLayout } from '../architectures/spec.js';
import { doraDelta } from './dora.js';

/**
 * A base weight held in a compressed form (int8, NF4, FP4: see src/lora/quantize). It is
 * expanded to float32 `[out, in]` with tfjs ops inside each forward pass, so only the packed
 * codes stay resident.
 */
export interface DequantizableWeight {
  readonly format: string;
  readonly shape: [number, number];
  residentBytes(): number;
  dequantize(): tf.Tensor2D;
  /** `x · Wᵀ` for `x` `[N, in]` → `[N, out]`, without keeping a float32 copy of W for the backward pass. */
  matMulTransposed(x: tf.Tensor2D): tf.Tensor2D;
  dispose(): void;
}

/**
 * The LoRA update attached to a linear layer (Hu et al. 2021, arXiv:2106.09685):
 * `y = W₀x + b + scale · B·A·dropout(x)`, A `[r, in]`, B `[out, r]`, with
 * scale = α/r (or α/√r with rsLoRA, Kalajdzievski 2023). Built by src/lora/inject.ts.
 */
export interface LoraWeights {
  A: tf.Variable; // [r, in]
  B: tf.Variable; // [out, r]
  r: number;
  scale: number;
  dropout: number;
  /** DoRA's trained magnitude m `[out]` (PEFT's lora_magnitude_vector); null for plain LoRA. */
  magnitude: tf.Variable | null;
}

/** Per-call options: dropout is active only while training, seeded for determinism. */
export interface ForwardContext {
  training: boolean;
  /** Seed for this step's dropout masks; each layer derives its own from it. */
  dropoutSeed?: number;
}

export interface LinearOptions {
  /** Layout of the weight in the checkpoint (GPT-2 Conv1D: `in_out`); memory is always `[out, in]`. */
  layout?: StoredLayout;
  /** Weight and bias are other parameters' (a head tied to the embedding): not exported, trained or disposed here. */
  tied?: boolean;
}

/**
 * A linear layer in the PyTorch layout: weight `[out, in]`, `y = x·Wᵀ + b`.
 * GPT-2's Conv1D layers are transposed to this layout on load and back on export.
 */
export class Linear {
  lora: LoraWeights | null = null;
  readonly layout: StoredLayout;
  readonly tied: boolean;

  constructor(
    /** Hugging Face module name, e.g. `model.layers.0.self_attn.q_proj`. */
    readonly name: string,
    readonly inFeatures: number,
    readonly outFeatures: number,
    public weight: tf.Tensor2D | DequantizableWeight,
    public bias: tf.Tensor1D | null,
    /** Index used to derive distinct dropout seeds per layer. */
    readonly index: number,
    opts: LinearOptions = {},
  ) {
    this.layout = opts.layout ?? 'out_in';
    this.tied = opts.tied ?? false;
  }

  get quantized(): boolean {
    return !(this.weight instanceof tf.Tensor);
  }

  apply(x: tf.Tensor, ctx: ForwardContext): tf.Tensor {
    const lead = x.shape.slice(0, -1);
    const x2 = x.reshape([-1, this.inFeatures]) as tf.Tensor2D; // [N, in]
    // A quantized weight multiplies itself: its backward pass dequantizes again rather than
    // keeping the float32 copy alive until backprop (as bitsandbytes does).
    const baseOut = this.baseMatMul(x2); // [N, out]
    let y: tf.Tensor2D = this.bias ? tf.add(baseOut, this.bias) : baseOut;
    if (this.lora) {
      const { A, B, scale, dropout, magnitude } = this.lora;
      const dropping = ctx.training && dropout > 0;
      const xin = dropping ? (tf.dropout(x2, dropout, undefined, ((ctx.dropoutSeed ?? 0) * 1009 + this.index) >>> 0) as tf.Tensor2D) : x2;
      if (magnitude) {
        // PEFT recomputes x·Wᵀ on the dropped-out input when dropout is active.
        const weight = () => this.denseWeight();
        y = tf.add(y, doraDelta({ x: xin, baseOut: dropping ? this.baseMatMul(xin) : baseOut, A, B, magnitude, scale, weight }));
      } else {
        const h = tf.matMul(xin, A, false, true); // [N, r]
        y = tf.add(y, tf.mul(tf.matMul(h, B, false, true), scale)); // [N, out]
      }
    }
    return y.reshape([...lead, this.outFeatures]);
  }

  /** `x · Wᵀ` `[N, out]` for `x` `[N, in]`, without bias. */
  private baseMatMul(x2: tf.Tensor2D): tf.Tensor2D {
    return this.weight instanceof tf.Tensor ? tf.matMul(x2, this.weight, false, true) : this.weight.matMulTransposed(x2);
  }

  /** The base weight as float32 `[out, in]`: the tensor itself, or a fresh dequantized copy (caller disposes inside a tidy). */
  denseWeight(): tf.Tensor2D {
    return this.weight instanceof tf.Tensor ? this.weight : this.weight.dequantize();
  }

  dispose(): void {
    if (!this.tied) {
      this.weight.dispose();
      this.bias?.dispose();
    }
    this.lora?.A.dispose();
    this.lora?.B.dispose();
    this.lora?.magnitude?.dispose();
    this.lora = null;
  }
}
