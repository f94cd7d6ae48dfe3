/** config.json of GPT2Config → ModelConfig, with GPT2Config's defaults. */
import { z } from 'zod';
import { count, firstId, ModelConfigError, parseWith, tokenIds, UnsupportedConfigFeatureError } from '../../config-fields.js';
import type { ModelConfig } from '../../types.js';

const schema = z.looseObject({
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
  // GPT2Config inherits PretrainedConfig's default: tied. GPT2LMHeadModel ties lm_head to wte
  // only when this is true; an untied checkpoint ships its own lm_head.weight.
  tie_word_embeddings: z.boolean().default(true),
  bos_token_id: tokenIds.default(50256),
  eos_token_id: tokenIds.default(50256),
  pad_token_id: tokenIds,
});

export function parseGpt2Config(json: Record<string, unknown>, file: string, modelType: string): ModelConfig {
  const c = parseWith(schema, json, file);
  if (!c.scale_attn_weights) throw new UnsupportedConfigFeatureError(file, 'scale_attn_weights', false, 'unscaled attention');
  if (c.scale_attn_by_inverse_layer_idx) {
    throw new UnsupportedConfigFeatureError(file, 'scale_attn_by_inverse_layer_idx', true, 'per-layer attention scaling');
  }
  if (c.n_embd % c.n_head !== 0) {
    throw new ModelConfigError(file, 'n_embd', `(${c.n_embd}) must be a multiple of n_head (${c.n_head})`);
  }
  return {
    modelType,
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
    rotaryDim: 0,
    attentionBias: true,
    outputBias: true,
    mlpBias: true,
    tieWordEmbeddings: c.tie_word_embeddings,
    hiddenAct: c.activation_function,
    slidingWindow: null,
    bosTokenId: firstId(c.bos_token_id),
    eosTokenId: firstId(c.eos_token_id),
    padTokenId: firstId(c.pad_token_id),
    raw: json,
  };
}
