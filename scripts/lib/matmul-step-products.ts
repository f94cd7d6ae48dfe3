// The matmul products of one training step of the bench shapes, with their calls per step (from
// BatchMatMul calls in a profiled step): scripts/bench-native-matmul.ts (through tfjs) and
// scripts/bench-native-matmul-direct.ts (the addon called directly) time them.

/** [calls per step, a's shape, b's shape, transposeA, transposeB, name]. */
export type StepProduct = [number, number[], number[], boolean, boolean, string?];

/** `bench --quick`'s tiny llama (hidden 64, batch 4×64, LoRA r=8 on q_proj and v_proj). */
export const TINY_STEP_PRODUCTS: StepProduct[] = [
  [4, [256, 64], [64, 64], false, true], [3, [256, 64], [64, 64], false, false],
  [4, [256, 128], [128, 64], false, false], [4, [256, 64], [128, 64], false, true],
  [2, [256, 128], [64, 128], false, true], [2, [256, 64], [64, 128], false, false],
  [1, [256, 64], [512, 64], false, true], [1, [256, 512], [512, 64], false, false],
  [4, [256, 64], [32, 64], false, true], [4, [256, 64], [8, 64], false, true],
  [2, [256, 32], [32, 64], false, false], [2, [256, 32], [32, 8], false, false],
  [2, [256, 64], [64, 8], false, false], [2, [256, 8], [8, 64], false, false],
  [2, [256, 8], [64, 8], false, true], [2, [256, 8], [32, 8], false, true],
  [4, [256, 8], [256, 64], true, false], [2, [256, 64], [256, 8], true, false], [2, [256, 32], [256, 8], true, false],
  [4, [4, 2, 128, 64], [4, 2, 64, 16], false, false], [4, [4, 2, 128, 16], [4, 2, 64, 16], false, true],
  [3, [4, 2, 128, 64], [4, 2, 128, 16], true, false],
];

/** GPT-2 small (batch 1×128, LoRA r=8 on c_attn; the tied head's vocabulary 50257). */
export const GPT2_STEP_PRODUCTS: StepProduct[] = [
  [1, [128, 768], [50257, 768], false, true, 'head x·Wᵀ'], [1, [128, 50257], [50257, 768], false, false, 'head dX'],
  [12, [128, 768], [2304, 768], false, true, 'c_attn x·Wᵀ'], [11, [128, 2304], [2304, 768], false, false, 'c_attn dX'],
  [12, [128, 768], [768, 768], false, true, 'c_proj x·Wᵀ'], [12, [128, 768], [768, 768], false, false, 'c_proj dX'],
  [12, [128, 768], [3072, 768], false, true, 'mlp fc x·Wᵀ'], [12, [128, 3072], [3072, 768], false, false, 'mlp fc dX'],
  [12, [128, 3072], [768, 3072], false, true, 'mlp proj x·Wᵀ'], [12, [128, 768], [768, 3072], false, false, 'mlp proj dX'],
  [24, [1, 12, 128, 64], [1, 12, 128, 64], false, true, 'attn q·kᵀ, dP'],
  [24, [1, 12, 128, 128], [1, 12, 128, 64], false, false, 'attn p·v, dQ'],
  [24, [1, 12, 128, 128], [1, 12, 128, 64], true, false, 'attn dV, dK'],
  [12, [128, 768], [8, 768], false, true, 'lora x·Aᵀ'], [12, [128, 8], [2304, 8], false, true, 'lora h·Bᵀ'],
  [12, [128, 2304], [128, 8], true, false, 'lora dB'], [12, [128, 8], [128, 768], true, false, 'lora dA'],
  [12, [128, 2304], [2304, 8], false, false, 'lora dh'], [11, [128, 8], [8, 768], false, false, 'lora dX'],
];

/** The product's batch (a's batch dims; these products do not broadcast), rows, columns and depth. */
export function productDims([, a, b, ta, tb]: StepProduct): { batch: number; M: number; N: number; K: number } {
  const r = a.length;
  return {
    batch: a.slice(0, -2).reduce((x, y) => x * y, 1),
    M: ta ? a[r - 1] : a[r - 2],
    K: ta ? a[r - 2] : a[r - 1],
    N: tb ? b[b.length - 2] : b[b.length - 1],
  };
}

/** `128x768·2304x768ᵀ`. */
export const productShapes = ([, a, b, ta, tb]: StepProduct): string => `${a.join('x')}${ta ? 'ᵀ' : ''}·${b.join('x')}${tb ? 'ᵀ' : ''}`;
