/**
 * Random weights for any registered architecture, from its spec's parameter list: matrices
 * ~ N(0, σ²) (σ = 0.02, HF's initializer_range), norm gains 1, biases 0. For benchmarks and
 * tests, where speed and shapes matter and the values do not.
 */
import { Rng } from '../util/random.js';
import { parameterSpecs } from './model-shapes.js';
import type { HostTensor, ModelConfig } from './types.js';

export function randomWeights(config: ModelConfig, opts: { seed: number; std?: number }): Map<string, HostTensor> {
  const rng = new Rng(opts.seed);
  const std = opts.std ?? 0.02;
  const out = new Map<string, HostTensor>();
  for (const p of parameterSpecs(config)) {
    const data = new Float32Array(p.shape.reduce((a, b) => a * b, 1));
    if (p.kind === 'norm') data.fill(1);
    else if (p.kind === 'weight') for (let i = 0; i < data.length; i++) data[i] = rng.normal() * std;
    out.set(p.name, { shape: p.shape, data });
  }
  return out;
}
