/** config.json of PhiConfig (Phi-1, Phi-1.5, Phi-2) → ModelConfig, with PhiConfig's defaults. */
import { z } from 'zod';
import { count, decoderSizeFields, decoderSizes, headDim, kvHeads, parseWith, ropeFields, ropeTheta, rotaryDims, tokenIds } from '../../config-fields.js';
import type { ModelConfig } from '../../types.js';

const schema = z.looseObject({
  ...decoderSizeFields,
  hidden_act: z.string().default('gelu_new'),
  max_position_embeddings: count.default(2048),
  layer_norm_eps: z.number().positive().default(1e-5),
  tie_word_embeddings: z.boolean().default(false),
  ...ropeFields,
  partial_rotary_factor: z.number().gt(0).max(1).default(0.5),
  qk_layernorm: z.boolean().default(false),
  bos_token_id: tokenIds.default(1),
  eos_token_id: tokenIds.default(2),
  pad_token_id: tokenIds,
});

export function parsePhiConfig(json: Record<string, unknown>, file: string, modelType: string): ModelConfig {
  const c = parseWith(schema, json, file);
  const theta = ropeTheta(c, file);
  // PhiAttention: head_dim = hidden_size // num_attention_heads (no head_dim field).
  const hd = headDim(c.hidden_size, c.num_attention_heads, null, file);
  const rotaryDim = rotaryDims(hd, c, file);
  return {
    modelType,
    family: 'phi',
    ...decoderSizes(c, c, json),
    numKvHeads: kvHeads(c.num_attention_heads, c.num_key_value_heads, file),
    headDim: hd,
    maxPositionEmbeddings: c.max_position_embeddings,
    normEps: c.layer_norm_eps,
    ropeTheta: theta,
    rotaryDim,
    qkLayernorm: c.qk_layernorm,
    lmHeadBias: true,
    attentionBias: true,
    outputBias: true,
    mlpBias: true,
    tieWordEmbeddings: c.tie_word_embeddings,
    hiddenAct: c.hidden_act,
    slidingWindow: null,
  };
}
