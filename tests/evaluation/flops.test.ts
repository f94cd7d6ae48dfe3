import { describe, expect, test } from 'vitest';
import {
  achievedFlopsPerSecond,
  forwardFlopsPerToken,
  doraNormFlopsPerToken,
  loraForwardFlopsPerToken,
  mfu,
  trainingFlopsPerToken,
} from '../../src/evaluation/flops.js';
import { countParameters } from '../../src/evaluation/param-count.js';
import { GPT2_SMALL, TINYLLAMA_1_1B, TINY_LLAMA } from './model-configs.js';

describe('forward FLOPs per token', () => {
  test('hand example at T = 3', () => {
    // linear MACs per block: q 64 + k 32 + v 32 + o 64 + gate 128 + up 128 + down 128 = 576 → 2·576·2 layers = 2304
    // attention: A = 2·4 = 8; causal positions see 1, 2, 3 keys, mean 2 → 2·2·2·8 = 64 per layer → 128
    // lm head: 2·8·10 = 160
    expect(forwardFlopsPerToken(TINY_LLAMA, { seqLen: 3 })).toEqual({ linear: 2304, attention: 128, lmHead: 160, total: 2592 });
    // full attention: every query sees 3 keys → 2·2·3·8·2 = 192
    expect(forwardFlopsPerToken(TINY_LLAMA, { seqLen: 3, attention: 'full' }).attention).toBe(192);
  });

  test('GPT-2 small at T = 1024: linear is 2 × its weight matrices, attention 2·L·A·(T+1)', () => {
    const f = forwardFlopsPerToken(GPT2_SMALL, { seqLen: 1024 });
    const weightsPerBlock = 768 * 2304 + 768 * 768 + 768 * 3072 + 3072 * 768; // 7,077,888
    expect(f.linear).toBe(2 * 12 * weightsPerBlock);
    expect(f.attention).toBe(2 * 12 * 768 * 1025);
    expect(f.lmHead).toBe(2 * 768 * 50257);
    // Kaplan et al.: C_forward ≈ 2N + 2·n_layer·n_ctx·d_attn with N non-embedding; biases and norms are the gap
    const N = countParameters(GPT2_SMALL).nonEmbedding;
    expect(f.linear / (2 * N)).toBeGreaterThan(0.998);
    expect(f.linear / (2 * N)).toBeLessThan(1);
  });
});

describe('training FLOPs per token', () => {
  test('full fine-tuning is 3 × forward', () => {
    const t = trainingFlopsPerToken(TINY_LLAMA, { seqLen: 3, method: { kind: 'full' } });
    expect(t).toEqual({ baseForward: 2592, loraForward: 0, doraNorm: 0, forward: 2592, backward: 5184, total: 7776 });
  });

  test('LoRA is 2 × base forward + 3 × adapter forward (hand example)', () => {
    // adapters r=2 on q (8→8) and k (8→4): 2·2·(16 + 12) = 112 per layer, 224 for 2 layers
    const lora = { r: 2, targetModules: ['q_proj', 'k_proj'] };
    expect(loraForwardFlopsPerToken(TINY_LLAMA, lora)).toBe(224);
    const t = trainingFlopsPerToken(TINY_LLAMA, { seqLen: 3, method: { kind: 'lora', ...lora } });
    expect(t).toEqual({ baseForward: 2592, loraForward: 224, doraNorm: 0, forward: 2816, backward: 2592 + 448, total: 5184 + 672 });
  });

  test('DoRA adds the per-pass weight norm, shared by the pass\'s tokens, forward only (hand example)', () => {
    // B·A for q (8×8) and k (4×8) at r=2: 2·2·(64 + 32) = 384 per layer, 768 per pass; over 6 tokens 128 per token
    const lora = { r: 2, targetModules: ['q_proj', 'k_proj'], dora: { tokensPerForward: 6 } };
    expect(doraNormFlopsPerToken(TINY_LLAMA, lora)).toBe(128);
    const t = trainingFlopsPerToken(TINY_LLAMA, { seqLen: 3, method: { kind: 'lora', ...lora } });
    expect(t).toEqual({ baseForward: 2592, loraForward: 224, doraNorm: 128, forward: 2944, backward: 2592 + 448, total: 2944 + 3040 });
    expect(doraNormFlopsPerToken(TINY_LLAMA, { r: 2, targetModules: ['q_proj'] })).toBe(0);
    expect(() => doraNormFlopsPerToken(TINY_LLAMA, { r: 2, targetModules: ['q_proj'], dora: { tokensPerForward: 0 } })).toThrow(/tokens per forward/);
  });

  test('LoRA on a real model costs about 2/3 of full fine-tuning', () => {
    const opts = { seqLen: 512 } as const;
    const full = trainingFlopsPerToken(TINYLLAMA_1_1B, { ...opts, method: { kind: 'full' } }).total;
    const lora = trainingFlopsPerToken(TINYLLAMA_1_1B, {
      ...opts,
      method: { kind: 'lora', r: 8, targetModules: ['q_proj', 'v_proj'] },
    }).total;
    expect(lora / full).toBeGreaterThan(2 / 3);
    expect(lora / full).toBeLessThan(2 / 3 + 0.01);
  });

  test('bad sequence lengths are rejected', () => {
    expect(() => forwardFlopsPerToken(TINY_LLAMA, { seqLen: 0 })).toThrow(/seqLen/);
  });
});

test('mfu', () => {
  expect(mfu(achievedFlopsPerSecond(2592, 1e9), 1e13)).toBeCloseTo(0.2592, 12);
  expect(mfu(0, 1)).toBe(0);
  expect(() => mfu(1, 0)).toThrow(/peak/);
  expect(() => mfu(Number.NaN, 1)).toThrow(/achieved/);
});
