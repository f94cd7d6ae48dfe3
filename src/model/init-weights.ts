/**
 * Random initialisation of a fresh model, in Hugging Face layout and names (the architecture
 * spec's parameter list), for pretraining from scratch. Follows GPT-2 / nanoGPT: every linear
 * and the embedding ~ N(0, σ²) with σ = 0.02, the projections that write into the residual
 * stream (o_proj, down_proj) scaled by 1/√(2·layers) so the residual variance stays flat with
 * depth; norm gains 1, biases 0.
 */
import { Rng } from '../util/random.js';
import { parameterSpecs } from './model-shapes.js';
import type { HostTensor, ModelConfig } from './types.js';

export interface InitWeightsOptions {
  seed: number;
  /** Standard deviation of the linear and embedding weights (HF `initializer_range`). */
  std?: number;
}

/** Weights of the projections that write into the residual stream (Llama naming). */
const RESIDUAL_OUT = /\.(o_proj|down_proj)\.weight$/;

/**
 * Every parameter of any registered architecture, from its spec: matrices ~ N(0, std²), norm
 * gains 1, biases 0; weights whose names match `residualOut` get std/√(2·layers). Benchmarks and
 * tests use it without `residualOut` (speed and shapes matter there, not the values).
 */
export function initWeights(config: ModelConfig, opts: InitWeightsOptions & { residualOut?: RegExp }): Map<string, HostTensor> {
  const rng = new Rng(opts.seed);
  const std = opts.std ?? 0.02;
  const residualStd = std / Math.sqrt(2 * config.numLayers);
  const out = new Map<string, HostTensor>();
  for (const p of parameterSpecs(config)) {
    const data = new Float32Array(p.shape.reduce((a, b) => a * b, 1));
    if (p.kind === 'norm') data.fill(1);
    else if (p.kind === 'weight') {
      const s = opts.residualOut?.test(p.name) ? residualStd : std;
      for (let i = 0; i < data.length; i++) data[i] = rng.normal() * s;
    }
    out.set(p.name, { shape: p.shape, data });
  }
  return out;
}

/** Every parameter of a Llama-family model described by `config`, freshly initialised from `seed`. */
export function initLlamaWeights(config: ModelConfig, opts: InitWeightsOptions): Map<string, HostTensor> {
  if (config.family !== 'llama') throw new Error(`initLlamaWeights: model family ${config.family} is not llama`);
  return initWeights(config, { ...opts, residualOut: RESIDUAL_OUT });
}
