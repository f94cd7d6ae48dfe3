import { deriveSeed, Rng } from '../util/random.js';

/**
 * PEFT's default A init: nn.init.kaiming_uniform_(A, a=√5), whose bound works out to
 * √(6 / ((1 + a²)·fan_in)) = 1/√fan_in. Seeded per module so runs are reproducible.
 */
export function kaimingUniformA(r: number, inFeatures: number, seed: number, moduleName: string): Float32Array {
  const rng = new Rng(deriveSeed(seed, `lora_A:${moduleName}`));
  const bound = 1 / Math.sqrt(inFeatures);
  const a = new Float32Array(r * inFeatures);
  for (let i = 0; i < a.length; i++) a[i] = rng.uniform(-bound, bound);
  return a;
}

/** PEFT's "gaussian" init: A ~ N(0, (1/r)²). */
export function gaussianA(r: number, inFeatures: number, seed: number, moduleName: string): Float32Array {
  const rng = new Rng(deriveSeed(seed, `lora_A:${moduleName}`));
  const a = new Float32Array(r * inFeatures);
  for (let i = 0; i < a.length; i++) a[i] = rng.normal() / r;
  return a;
}

/** B starts at zero so that the adapted model equals the base model before training. */
export function zerosB(outFeatures: number, r: number): Float32Array {
  return new Float32Array(outFeatures * r);
}
