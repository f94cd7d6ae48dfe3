import type { ModelConfig } from '../model/types.js';
import { blockLinearModules } from './param-count-modules.js';

/**
 * Parameter counts of a base model from its config alone, so that a dry run can size a plan
 * without reading weights. They count what `sum(p.numel() for p in model.parameters())` counts
 * in transformers: a tied LM head is one tensor and counts once; buffers (GPT-2's causal mask,
 * RoPE frequencies) are not parameters.
 *
 * Checked against the released checkpoints (see tests/evaluation/param-count.test.ts):
 * GPT-2 small 124,439,808; TinyLlama-1.1B 1,100,048,384; Qwen2.5-0.5B 494,032,768.
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
  /** Untied output projection, `vocabSize · hiddenSize`; 0 when tied to the embedding. */
  lmHead: number;
  total: number;
  /** `total` minus embeddings and an untied head (Kaplan et al. 2020's N). */
  nonEmbedding: number;
}

/** RMSNorm has a weight only; LayerNorm has weight and bias. */
function normParams(config: ModelConfig): number {
  return config.family === 'llama' ? config.hiddenSize : 2 * config.hiddenSize;
}

export function countParameters(config: ModelConfig): ParameterBreakdown {
  const C = config.hiddenSize;
  let perLayer = 2 * normParams(config); // input/post-attention norms (llama); ln_1, ln_2 (gpt2)
  for (const m of blockLinearModules(config)) {
    perLayer += m.inFeatures * m.outFeatures + (m.bias ? m.outFeatures : 0);
  }
  const embedding = config.vocabSize * C;
  const positionEmbedding = config.family === 'gpt2' ? config.maxPositionEmbeddings * C : 0;
  const layers = perLayer * config.numLayers;
  const finalNorm = normParams(config);
  const lmHead = config.tieWordEmbeddings ? 0 : config.vocabSize * C;
  const total = embedding + positionEmbedding + layers + finalNorm + lmHead;
  return {
    embedding,
    positionEmbedding,
    perLayer,
    layers,
    finalNorm,
    lmHead,
    total,
    nonEmbedding: total - embedding - positionEmbedding - lmHead,
  };
}
