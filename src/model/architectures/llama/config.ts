/**
 * config.json of LlamaConfig, MistralConfig and Qwen2Config → ModelConfig, with those classes'
 * defaults (a config.json may omit any field equal to its class default).
 */
import { z } from 'zod';
import { count, decoderSizeFields, decoderSizes, headDim, kvHeads, parseWith, ropeFields, ropeTheta, tokenIds } from '../../config-fields.js';
import type { ModelConfig } from '../../types.js';

const schema = z.looseObject({
  ...decoderSizeFields,
  head_dim: count.nullish(),
  max_position_embeddings: count.optional(),
  rms_norm_eps: z.number().positive().default(1e-6),
  ...ropeFields,
  attention_bias: z.boolean().default(false),
  mlp_bias: z.boolean().default(false),
  // LlamaConfig, MistralConfig and Qwen2Config all default to an untied head.
  tie_word_embeddings: z.boolean().default(false),
  hidden_act: z.string().default('silu'),
  sliding_window: count.nullish(),
  use_sliding_window: z.boolean().default(false),
  bos_token_id: tokenIds,
  eos_token_id: tokenIds,
  pad_token_id: tokenIds,
});

/** max_position_embeddings defaults differ per class. */
const DEFAULT_MAX_POSITIONS: Record<string, number> = { llama: 2048, mistral: 4096 * 32, qwen2: 32768 };

export function parseLlamaConfig(json: Record<string, unknown>, file: string, modelType: string): ModelConfig {
  const c = parseWith(schema, json, file);
  const theta = ropeTheta(c, file);
  const numKvHeads = kvHeads(c.num_attention_heads, c.num_key_value_heads, file);
  const hd = headDim(c.hidden_size, c.num_attention_heads, c.head_dim, file);
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
    ...decoderSizes(c, c, json),
    numKvHeads,
    headDim: hd,
    maxPositionEmbeddings: c.max_position_embeddings ?? DEFAULT_MAX_POSITIONS[modelType],
    normEps: c.rms_norm_eps,
    ropeTheta: theta,
    rotaryDim: hd,
    attentionBias,
    outputBias,
    mlpBias,
    tieWordEmbeddings: c.tie_word_embeddings,
    hiddenAct: c.hidden_act,
    slidingWindow,
  };
}
