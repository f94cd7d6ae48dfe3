import type * as tf from '@tensorflow/tfjs-core';
import type { Linear } from './layers/linear.js';
import type { HostTensor, ModelConfig } from './types.js';

/** Keys and values of every layer for the positions seen so far: [B, Hkv, S, d] each. */
export interface KvCache {
  layers: Array<{ k: tf.Tensor; v: tf.Tensor }>;
  /** Number of cached positions S. */
  length: number;
}

export interface ForwardInput {
  inputIds: tf.Tensor2D; // [B, T] int32
  /** 1 for real tokens, 0 for padding, over past + new positions: [B, S]. */
  attentionMask?: tf.Tensor2D | null;
  /** Positions of the new tokens [B, T]; default past..past+T-1 (right padding). */
  positionIds?: tf.Tensor2D | null;
  cache?: KvCache | null;
  /** Return the updated cache (generation). */
  useCache?: boolean;
  training?: boolean;
  dropoutSeed?: number;
}

export interface ForwardOutput {
  logits: tf.Tensor3D; // [B, T, V]
  cache?: KvCache;
}

/** What every architecture provides to LoRA, the trainer, evaluation and export. */
export interface CausalLM {
  readonly config: ModelConfig;
  /** Every linear layer by its Hugging Face module name (the output head included). */
  readonly linears: Map<string, Linear>;
  /** Name of the output head module (`lm_head`), excluded by `all-linear`. */
  readonly outputHeadName: string;
  forward(input: ForwardInput): ForwardOutput;
  /** All base parameters in the on-disk Hugging Face layout (for export and merging). */
  exportTensors(): Map<string, HostTensor>;
  /** Base tensors that are trainable variables (full fine-tuning only; empty for LoRA). */
  baseVariables(): tf.Variable[];
  dispose(): void;
}
