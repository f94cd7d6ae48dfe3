import type { ModelConfig } from '../../src/model/types.js';

/** ModelConfig with the fields a count does not read filled with harmless defaults. */
function config(fields: Partial<ModelConfig> & Pick<ModelConfig, 'modelType' | 'family'>): ModelConfig {
  return {
    vocabSize: 0,
    hiddenSize: 0,
    numLayers: 0,
    numHeads: 1,
    numKvHeads: 1,
    headDim: 0,
    intermediateSize: 0,
    maxPositionEmbeddings: 0,
    normEps: 1e-5,
    ropeTheta: 10000,
    attentionBias: false,
    outputBias: false,
    mlpBias: false,
    tieWordEmbeddings: false,
    hiddenAct: 'silu',
    bosTokenId: null,
    eosTokenId: null,
    padTokenId: null,
    raw: {},
    ...fields,
  };
}

/** openai-community/gpt2 config.json: n_embd 768, n_layer 12, n_head 12, n_positions 1024, n_inner null (→ 4·768). */
export const GPT2_SMALL = config({
  modelType: 'gpt2',
  family: 'gpt2',
  vocabSize: 50257,
  hiddenSize: 768,
  numLayers: 12,
  numHeads: 12,
  numKvHeads: 12,
  headDim: 64,
  intermediateSize: 3072,
  maxPositionEmbeddings: 1024,
  tieWordEmbeddings: true,
  hiddenAct: 'gelu_new',
});

/** TinyLlama/TinyLlama-1.1B-Chat-v1.0 config.json: GQA 32/4, untied head. */
export const TINYLLAMA_1_1B = config({
  modelType: 'llama',
  family: 'llama',
  vocabSize: 32000,
  hiddenSize: 2048,
  numLayers: 22,
  numHeads: 32,
  numKvHeads: 4,
  headDim: 64,
  intermediateSize: 5632,
  maxPositionEmbeddings: 2048,
  tieWordEmbeddings: false,
});

/** Qwen/Qwen2.5-0.5B config.json: GQA 14/2, q/k/v biases, tied head. */
export const QWEN2_5_0_5B = config({
  modelType: 'qwen2',
  family: 'llama',
  vocabSize: 151936,
  hiddenSize: 896,
  numLayers: 24,
  numHeads: 14,
  numKvHeads: 2,
  headDim: 64,
  intermediateSize: 4864,
  maxPositionEmbeddings: 32768,
  attentionBias: true,
  outputBias: false,
  tieWordEmbeddings: true,
});

/** Small enough to count by hand: C=8, 2 heads of 4, 1 KV head, I=16, V=10, 2 layers, untied. */
export const TINY_LLAMA = config({
  modelType: 'llama',
  family: 'llama',
  vocabSize: 10,
  hiddenSize: 8,
  numLayers: 2,
  numHeads: 2,
  numKvHeads: 1,
  headDim: 4,
  intermediateSize: 16,
  maxPositionEmbeddings: 32,
});
