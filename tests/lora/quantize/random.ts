/** Seeded pseudo-random numbers for the quantization tests (mulberry32 + Box-Muller). */
import { mulberry32 as rng } from '../../helpers/tiny-models.js';

export { rng };

/** `n` normal(0, std) values, as pretrained linear weights roughly are. */
export function normalData(n: number, seed: number, std = 0.02): Float32Array {
  const next = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = Math.max(next(), 1e-12);
    out[i] = std * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * next());
  }
  return out;
}
