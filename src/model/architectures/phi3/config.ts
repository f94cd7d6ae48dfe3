/** config.json of Phi3Config (Phi-3, Phi-3.5, Phi-4-mini) → ModelConfig, with Phi3Config's defaults. */
import { z } from 'zod';
import { count, decoderSizeFields, decoderSizes, headDim, kvHeads, parseWith, ropeFields, ropeTheta, rotaryDims, tokenIds } from '../../config-fields.js';
import type { ModelConfig } from '../../types.js';

const schema = z.looseObject({
  ...decoderSizeFields,
  head_dim: count.nullish(),
  hidden_act: z.string().default('silu'),
  max_position_embeddings: count.default(4096),
  rms_norm_eps: z.number().positive().default(1e-5),
  tie_word_embeddings: z.boolean().default(false),
  ...ropeFields,
  partial_rotary_factor: z.number().gt(0).max(1).default(1),
  sliding_window: count.nullish(),
  bos_token_id: tokenIds.default(1),
  eos_token_id: tokenIds.default(32000),
  pad_token_id: tokenIds.default(32000),
});

export function parsePhi3Config(json: Record<string, unknown>, file: string, modelType: string): ModelConfig {
  const c = parseWith(schema, json, file);
  // Long-context Phi-3 variants use rope_scaling "longrope": refused here with the field named.
  const theta = ropeTheta(c, file);
  const hd = headDim(c.hidden_size, c.num_attention_heads, c.head_dim, file);
  const rotaryDim = rotaryDims(hd, c, file);
  return {
    modelType,
    family: 'phi3',
    ...decoderSizes(c, c, json),
    numKvHeads: kvHeads(c.num_attention_heads, c.num_key_value_heads, file),
    headDim: hd,
    maxPositionEmbeddings: c.max_position_embeddings,
    normEps: c.rms_norm_eps,
    ropeTheta: theta,
    rotaryDim,
    attentionBias: false,
    outputBias: false,
    mlpBias: false,
    tieWordEmbeddings: c.tie_word_embeddings,
    hiddenAct: c.hidden_act,
    slidingWindow: c.sliding_window ?? null,
  };
}
