/**
 * config.json → ModelConfig. Defaults are the ones of the transformers config classes
 * (LlamaConfig, MistralConfig, Qwen2Config, GPT2Config), because a config.json may omit any field
 * that equals its class default and transformers still loads it.
 */
import { z } from 'zod';
import { LoraStudyError } from '../util/errors.js';
import { SUPPORTED_MODEL_TYPES, type ModelConfig, type SupportedModelType } from './types.js';

/** A field of config.json is missing, has the wrong type or an inconsistent value. */
export class ModelConfigError extends LoraStudyError {
  constructor(readonly file: string, readonly field: string, readonly reason: string, hint?: string) {
    super(`${file}: field "${field}" ${reason}`, {
      hint: hint ?? 'config.json must be the one transformers writes with model.save_pretrained(dir)',
    });
  }
}

/** `model_type` names an architecture this project does not implement. */
export class UnsupportedModelTypeError extends LoraStudyError {
  constructor(readonly file: string, readonly modelType: string, readonly supported: readonly string[] = SUPPORTED_MODEL_TYPES) {
    super(`${file}: model_type "${modelType}" is not supported; supported model types: ${supported.join(', ')}`, {
      hint: 'pick a model of a supported architecture (e.g. a Llama, Mistral, Qwen2 or GPT-2 checkpoint)',
    });
  }
}

/** A feature the config asks for that the architectures do not implement yet. */
export class UnsupportedConfigFeatureError extends ModelConfigError {
  constructor(file: string, field: string, readonly value: unknown, what: string) {
    super(file, field, `is ${JSON.stringify(value)}: ${what} is not supported yet`, 'use a model without this feature');
  }
}

const count = z.number().int().positive();
const tokenId = z.number().int().nonnegative().nullish();
/** Llama 3 lists several end-of-sequence ids; the first is the one used for padding and stopping. */
const tokenIds = z.union([tokenId, z.array(z.number().int().nonnegative())]);

const llamaSchema = z.looseObject({
  vocab_size: count,
  hidden_size: count,
  intermediate_size: count,
  num_hidden_layers: count,
  num_attention_heads: count,
  num_key_value_heads: count.nullish(),
  head_dim: count.nullish(),
  max_position_embeddings: count.optional(),
  rms_norm_eps: z.number().positive().default(1e-6),
  rope_theta: z.number().positive().default(10000),
  rope_scaling: z.unknown().optional(),
  /** transformers ≥ 5 moves rope_theta and the scaling type into one object. */
  rope_parameters: z.looseObject({ rope_theta: z.number().positive().optional(), rope_type: z.string().optional() }).nullish(),
  attention_bias: z.boolean().default(false),
  mlp_bias: z.boolean().default(false),
  tie_word_embeddings: z.boolean().default(false),
  hidden_act: z.string().default('silu'),
  sliding_window: count.nullish(),
  use_sliding_window: z.boolean().default(false),
  bos_token_id: tokenIds,
  eos_token_id: tokenIds,
  pad_token_id: tokenIds,
});

const gpt2Schema = z.looseObject({
  // Sizes are required although GPT2Config has defaults: a config.json without them is broken,
  // and failing here is clearer than a weight-shape mismatch later.
  vocab_size: count,
  n_embd: count,
  n_layer: count,
  n_head: count,
  n_positions: count.default(1024),
  n_inner: count.nullish(),
  layer_norm_epsilon: z.number().positive().default(1e-5),
  activation_function: z.string().default('gelu_new'),
  scale_attn_weights: z.boolean().default(true),
  scale_attn_by_inverse_layer_idx: z.boolean().default(false),
  bos_token_id: tokenIds.default(50256),
  eos_token_id: tokenIds.default(50256),
  pad_token_id: tokenIds,
});

/** max_position_embeddings defaults differ per class. */
const DEFAULT_MAX_POSITIONS: Record<string, number> = { llama: 2048, mistral: 4096 * 32, qwen2: 32768 };

function firstId(v: number | number[] | null | undefined): number | null {
  if (Array.isArray(v)) return v[0] ?? null;
  return v ?? null;
}

function parseWith<S extends z.ZodType>(schema: S, json: Record<string, unknown>, file: string): z.output<S> {
  const r = schema.safeParse(json);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const field = issue.path.join('.') || '(root)';
  const missing = issue.path.length === 1 && json[String(issue.path[0])] === undefined;
  throw new ModelConfigError(file, field, missing ? 'is required but missing' : `is invalid: ${issue.message}`);
}

function llamaFamily(modelType: 'llama' | 'mistral' | 'qwen2', json: Record<string, unknown>, file: string): ModelConfig {
  const c = parseWith(llamaSchema, json, file);
  if (c.rope_scaling !== undefined && c.rope_scaling !== null) {
    throw new UnsupportedConfigFeatureError(file, 'rope_scaling', c.rope_scaling, 'RoPE scaling (long-context variants)');
  }
  const ropeType = c.rope_parameters?.rope_type;
  if (ropeType !== undefined && ropeType !== 'default') {
    throw new UnsupportedConfigFeatureError(file, 'rope_parameters.rope_type', ropeType, 'RoPE scaling (long-context variants)');
  }
  const numKvHeads = c.num_key_value_heads ?? c.num_attention_heads;
  if (c.num_attention_heads % numKvHeads !== 0) {
    throw new ModelConfigError(file, 'num_key_value_heads', `(${numKvHeads}) must divide num_attention_heads (${c.num_attention_heads})`);
  }
  if (c.head_dim == null && c.hidden_size % c.num_attention_heads !== 0) {
    throw new ModelConfigError(file, 'hidden_size', `(${c.hidden_size}) must be a multiple of num_attention_heads (${c.num_attention_heads}) when head_dim is not given`);
  }
  // Which projections carry biases is fixed per class: Qwen2 always has q/k/v biases and none on
  // o_proj; Mistral has none; Llama's attention_bias covers q, k, v and o alike.
  const attentionBias = modelType === 'qwen2' ? true : modelType === 'llama' ? c.attention_bias : false;
  const outputBias = modelType === 'llama' ? c.attention_bias : false;
  const mlpBias = modelType === 'llama' ? c.mlp_bias : false;
  // Mistral's sliding window only changes attention for sequences longer than the window;
  // Qwen2 uses it only when use_sliding_window is set.
  const slidingWindow =
    modelType === 'mistral' ? (c.sliding_window ?? null) : modelType === 'qwen2' && c.use_sliding_window ? (c.sliding_window ?? null) : null;
  return {
    modelType,
    family: 'llama',
    vocabSize: c.vocab_size,
    hiddenSize: c.hidden_size,
    numLayers: c.num_hidden_layers,
    numHeads: c.num_attention_heads,
    numKvHeads,
    headDim: c.head_dim ?? c.hidden_size / c.num_attention_heads,
    intermediateSize: c.intermediate_size,
    maxPositionEmbeddings: c.max_position_embeddings ?? DEFAULT_MAX_POSITIONS[modelType],
    normEps: c.rms_norm_eps,
    ropeTheta: c.rope_parameters?.rope_theta ?? c.rope_theta,
    attentionBias,
    outputBias,
    mlpBias,
    tieWordEmbeddings: c.tie_word_embeddings,
    hiddenAct: c.hidden_act,
    slidingWindow,
    bosTokenId: firstId(c.bos_token_id),
    eosTokenId: firstId(c.eos_token_id),
    padTokenId: firstId(c.pad_token_id),
    raw: json,
  };
}

function gpt2(json: Record<string, unknown>, file: string): ModelConfig {
  const c = parseWith(gpt2Schema, json, file);
  if (!c.scale_attn_weights) throw new UnsupportedConfigFeatureError(file, 'scale_attn_weights', false, 'unscaled attention');
  if (c.scale_attn_by_inverse_layer_idx) {
    throw new UnsupportedConfigFeatureError(file, 'scale_attn_by_inverse_layer_idx', true, 'per-layer attention scaling');
  }
  if (c.n_embd % c.n_head !== 0) {
    throw new ModelConfigError(file, 'n_embd', `(${c.n_embd}) must be a multiple of n_head (${c.n_head})`);
  }
  return {
    modelType: 'gpt2',
    family: 'gpt2',
    vocabSize: c.vocab_size,
    hiddenSize: c.n_embd,
    numLayers: c.n_layer,
    numHeads: c.n_head,
    numKvHeads: c.n_head,
    headDim: c.n_embd / c.n_head,
    intermediateSize: c.n_inner ?? 4 * c.n_embd,
    maxPositionEmbeddings: c.n_positions,
    normEps: c.layer_norm_epsilon,
    ropeTheta: 0, // learned absolute positions: no RoPE
    attentionBias: true,
    outputBias: true,
    mlpBias: true,
    // GPT2LMHeadModel always ties lm_head to wte, whatever tie_word_embeddings says.
    tieWordEmbeddings: true,
    hiddenAct: c.activation_function,
    slidingWindow: null,
    bosTokenId: firstId(c.bos_token_id),
    eosTokenId: firstId(c.eos_token_id),
    padTokenId: firstId(c.pad_token_id),
    raw: json,
  };
}

/** Validates a parsed config.json (`file` is named in every error) and normalises it. */
export function parseModelConfig(json: unknown, file: string): ModelConfig {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new ModelConfigError(file, '(root)', 'must be a JSON object');
  }
  const obj = json as Record<string, unknown>;
  const modelType = obj.model_type;
  if (modelType === undefined) throw new ModelConfigError(file, 'model_type', 'is required but missing');
  if (typeof modelType !== 'string') throw new ModelConfigError(file, 'model_type', `must be a string, got ${JSON.stringify(modelType)}`);
  if (!(SUPPORTED_MODEL_TYPES as readonly string[]).includes(modelType)) throw new UnsupportedModelTypeError(file, modelType);
  const mt = modelType as SupportedModelType;
  return mt === 'gpt2' ? gpt2(obj, file) : llamaFamily(mt, obj, file);
}
