/**
 * One description per architecture. Everything that depends on an architecture's shape — the
 * model code, parameter counts, FLOPs, the dry-run plan, LoRA target names, adapter I/O, merging,
 * the benchmark's random models — reads it from its `ArchitectureSpec`, registered once in
 * ./registry.ts. Adding an architecture is one folder here plus one line in the registry.
 */
import type { CausalLM } from '../causal-lm.js';
import type { WeightReader } from '../layers/weights.js';
import type { ModelConfig } from '../types.js';

/**
 * How a linear layer's weight is stored in the checkpoint: `out_in` is nn.Linear's `[out, in]`;
 * `in_out` is GPT-2's Conv1D `[in, out]`. In memory every weight is `[out, in]`.
 */
export type StoredLayout = 'out_in' | 'in_out';

/** A linear layer of a decoder block, as the Hugging Face module inside the block. */
export interface LinearSpec {
  /** Path inside the block, e.g. `self_attn.q_proj`, `attn.c_attn`, `mlp.fc1`. */
  path: string;
  inFeatures: number;
  outFeatures: number;
  bias: boolean;
  layout: StoredLayout;
}

/** Where a parameter sits, for the breakdown of parameter counts. */
export type ParamRole = 'embedding' | 'position' | 'block' | 'final_norm' | 'head';

/** How a random-weight model draws the parameter: a matrix, a norm gain, or a bias. */
export type ParamKind = 'weight' | 'norm' | 'bias';

/** One parameter tensor of the model as transformers' state_dict holds it (stored shape). */
export interface ParamSpec {
  name: string;
  shape: number[];
  role: ParamRole;
  kind: ParamKind;
}

export interface BuildOptions {
  /** Base weights become trainable variables (full fine-tuning / pretraining). */
  trainable: boolean;
}

export interface ArchitectureSpec {
  /** Short name of the architecture (the folder name). */
  name: string;
  /** config.json `model_type` values it implements, each with its transformers causal-LM class. */
  modelTypes: Readonly<Record<string, string>>;
  /** config.json → ModelConfig, with the transformers config class's defaults (tie rule included). */
  parseConfig(json: Record<string, unknown>, file: string, modelType: string): ModelConfig;
  /** Prefix the causal-LM class adds to the bare model's tensors (`model.`, `transformer.`). */
  basePrefix: string;
  /** A tensor every bare-model checkpoint has (names a checkpoint saved without `basePrefix`). */
  bareProbe: string;
  /** Module name prefix of decoder block `layer` (`model.layers.3`). */
  blockPrefix(layer: number): string;
  /** Every linear layer of one decoder block, in forward order. */
  blockLinears(config: ModelConfig): LinearSpec[];
  /** Every parameter of the model in state_dict order; a tied head is not listed (it is the embedding). */
  parameters(config: ModelConfig): ParamSpec[];
  /**
   * Checkpoint tensors that are buffers, not parameters (GPT-2's causal-mask `attn.bias`, old
   * checkpoints' `rotary_emb.inv_freq`): skipped on load rather than refused as unconsumed.
   */
  knownBuffers: RegExp;
  /** PEFT's default `target_modules` for a model type, or null where PEFT has none (then a config must name them). */
  defaultTargets(modelType: string): string[] | null;
  /** Builds the tfjs model, taking every parameter from `reader` (which checks names and shapes). */
  build(config: ModelConfig, reader: WeightReader, opts: BuildOptions): CausalLM;
}

/** Name of the output head module in every architecture here. */
export const HEAD_NAME = 'lm_head';
