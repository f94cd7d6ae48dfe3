import { parameterSpecs } from '../model/model-shapes.js';
import type { ModelConfig } from '../model/types.js';

/**
 * Parameter counts of a base model from its config alone, so that a dry run can size a plan
 * without reading weights. They sum the architecture spec's parameter list, i.e. what
 * `sum(p.numel() for p in model.parameters())` counts in transformers: a tied LM head is one
 * tensor and counts once; buffers (GPT-2's causal mask, RoPE frequencies) are not parameters.
 *
 * Checked against the released checkpoints (see tests/evaluation/param-count.test.ts):
 * GPT-2 small 124,439,808; TinyLlama-1.1B 1,100,048,384; Qwen2.5-0.5B 494,032,768; Phi-2 2,779,683,840.
 */
export interface ParameterBreakdown {
  /** Token embedding matrix, `vocabSize · hiddenSize`. */
  embedding: number;
  /** Learned absolute positions (GPT-2 `wpe`); 0 for RoPE models. */
  positionEmbedding: number;
  /** One decoder block: its linear weights and biases and its norms. */
  perLayer: number;
  /** `perLayer · numLayers`. */
  layers: number;
  /** The norm after the last block. */
  finalNorm: number;
  /** Untied output projection (weight and bias, if any); 0 when tied to the embedding. */
  lmHead: number;
  total: number;
  /** `total` minus embeddings and an untied head (Kaplan et al. 2020's N). */
  nonEmbedding: number;
}

export function countParameters(config: ModelConfig): ParameterBreakdown {
  const by = { embedding: 0, position: 0, block: 0, final_norm: 0, head: 0 };
  for (const p of parameterSpecs(config)) by[p.role] += p.shape.reduce((a, b) => a * b, 1);
  const total = by.embedding + by.position + by.block + by.final_norm + by.head;
  return {
    embedding: by.embedding,
    positionEmbedding: by.position,
    perLayer: config.numLayers > 0 ? by.block / config.numLayers : 0,
    layers: by.block,
    finalNorm: by.final_norm,
    lmHead: by.head,
    total,
    nonEmbedding: total - by.embedding - by.position - by.head,
  };
}
