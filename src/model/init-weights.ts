/**
 * Random initialisation of a fresh Llama-family model, in Hugging Face layout and names, for
 * pretraining from scratch. Follows GPT-2 / nanoGPT: every linear and the embedding ~ N(0, σ²)
 * with σ = 0.02, the projections that write into the residual stream (o_proj, down_proj)
 * scaled by 1/√(2·layers) so the residual variance stays flat with depth; RMSNorm gains 1.
 */
import { Rng } from '../util/random.js';
import type { HostTensor, ModelConfig } from './types.js';

export interface InitWeightsOptions {
  seed: number;
  /** Standard deviation of the linear and embedding weights (HF `initializer_range`). */
  std?: number;
}

function normal(rng: Rng, shape: number[], std: number): HostTensor {
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < data.length; i++) data[i] = rng.normal() * std;
  return { shape, data };
}

const ones = (n: number): HostTensor => ({ shape: [n], data: new Float32Array(n).fill(1) });
const zeros = (n: number): HostTensor => ({ shape: [n], data: new Float32Array(n) });

/** Every parameter of a Llama-family model described by `config`, freshly initialised from `seed`. */
export function initLlamaWeights(config: ModelConfig, opts: InitWeightsOptions): Map<string, HostTensor> {
  if (config.family !== 'llama') throw new Error(`initLlamaWeights: model family ${config.family} is not llama`);
  const rng = new Rng(opts.seed);
  const std = opts.std ?? 0.02;
  const residualStd = std / Math.sqrt(2 * config.numLayers);
  const C = config.hiddenSize;
  const qOut = config.numHeads * config.headDim;
  const kvOut = config.numKvHeads * config.headDim;
  const I = config.intermediateSize;
  const out = new Map<string, HostTensor>();
  out.set('model.embed_tokens.weight', normal(rng, [config.vocabSize, C], std));
  const linear = (name: string, outF: number, inF: number, bias: boolean, s: number): void => {
    out.set(`${name}.weight`, normal(rng, [outF, inF], s)); // [out, in], as nn.Linear stores it
    if (bias) out.set(`${name}.bias`, zeros(outF));
  };
  for (let i = 0; i < config.numLayers; i++) {
    const p = `model.layers.${i}`;
    out.set(`${p}.input_layernorm.weight`, ones(C));
    linear(`${p}.self_attn.q_proj`, qOut, C, config.attentionBias, std);
    linear(`${p}.self_attn.k_proj`, kvOut, C, config.attentionBias, std);
    linear(`${p}.self_attn.v_proj`, kvOut, C, config.attentionBias, std);
    linear(`${p}.self_attn.o_proj`, C, qOut, config.outputBias, residualStd);
    out.set(`${p}.post_attention_layernorm.weight`, ones(C));
    linear(`${p}.mlp.gate_proj`, I, C, config.mlpBias, std);
    linear(`${p}.mlp.up_proj`, I, C, config.mlpBias, std);
    linear(`${p}.mlp.down_proj`, C, I, config.mlpBias, residualStd);
  }
  out.set('model.norm.weight', ones(C));
  if (!config.tieWordEmbeddings) out.set('lm_head.weight', normal(rng, [config.vocabSize, C], std));
  return out;
}
