/** config.json of GemmaConfig (Gemma 1) → ModelConfig, with GemmaConfig's defaults. */
import { z } from 'zod';
import { count, decoderSizeFields, decoderSizes, kvHeads, parseWith, ropeFields, ropeTheta, tokenIds } from '../../config-fields.js';
import type { ModelConfig } from '../../types.js';

const schema = z.looseObject({
  ...decoderSizeFields,
  num_key_value_heads: count.default(16),
  // Independent of hidden_size / num_attention_heads (gemma-7b: 3072 hidden, 16 heads of 256).
  head_dim: count.default(256),
  hidden_act: z.string().default('gelu_pytorch_tanh'),
  hidden_activation: z.string().nullish(),
  max_position_embeddings: count.default(8192),
  rms_norm_eps: z.number().positive().default(1e-6),
  tie_word_embeddings: z.boolean().default(true),
  ...ropeFields,
  attention_bias: z.boolean().default(false),
  bos_token_id: tokenIds.default(2),
  eos_token_id: tokenIds.default(1),
  pad_token_id: tokenIds.default(0),
});

export function parseGemmaConfig(json: Record<string, unknown>, file: string, modelType: string): ModelConfig {
  const c = parseWith(schema, json, file);
  const theta = ropeTheta(c, file);
  return {
    modelType,
    family: 'gemma',
    ...decoderSizes(c, c, json),
    numKvHeads: kvHeads(c.num_attention_heads, c.num_key_value_heads, file),
    headDim: c.head_dim,
    maxPositionEmbeddings: c.max_position_embeddings,
    normEps: c.rms_norm_eps,
    ropeTheta: theta,
    rotaryDim: c.head_dim,
    attentionBias: c.attention_bias,
    outputBias: c.attention_bias,
    mlpBias: false,
    tieWordEmbeddings: c.tie_word_embeddings,
    // GemmaMLP is GeGLU with the tanh approximation: transformers uses hidden_activation and,
    // when it is unset, gelu_pytorch_tanh — not hidden_act, which released configs set to "gelu".
    hiddenAct: c.hidden_activation ?? 'gelu_pytorch_tanh',
    slidingWindow: null,
  };
}
