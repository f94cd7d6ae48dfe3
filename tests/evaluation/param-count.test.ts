import { expect, test } from 'vitest';
import { countParameters } from '../../src/evaluation/param-count.js';
import { GPT2_SMALL, QWEN2_5_0_5B, TINYLLAMA_1_1B, TINY_LLAMA } from './model-configs.js';

// Published totals (`model.num_parameters()` in transformers; PEFT's print_trainable_parameters
// base figures agree): each is reproduced from the config alone.
test('GPT-2 small: 124,439,808 with the head tied to wte', () => {
  const p = countParameters(GPT2_SMALL);
  expect(p.total).toBe(124_439_808);
  expect(p.embedding).toBe(50257 * 768);
  expect(p.positionEmbedding).toBe(1024 * 768);
  expect(p.perLayer).toBe(7_087_872); // ln_1 1536 + c_attn 1,771,776 + c_proj 590,592 + ln_2 1536 + c_fc 2,362,368 + c_proj 2,360,064
  expect(p.lmHead).toBe(0);
  expect(p.finalNorm).toBe(1536);
});

test('TinyLlama-1.1B: 1,100,048,384 with an untied head and GQA 32/4', () => {
  const p = countParameters(TINYLLAMA_1_1B);
  expect(p.total).toBe(1_100_048_384);
  expect(p.lmHead).toBe(65_536_000);
  expect(p.perLayer).toBe(44_044_288); // q,o 2048² each; k,v 2048·256 each; 3·2048·5632; 2 norms
  expect(p.nonEmbedding).toBe(1_100_048_384 - 2 * 65_536_000);
});

test('Qwen2.5-0.5B: 494,032,768 with q/k/v biases and a tied head', () => {
  const p = countParameters(QWEN2_5_0_5B);
  expect(p.total).toBe(494_032_768);
  expect(p.perLayer).toBe(14_912_384); // q 803,712; k, v 114,816 each; o 802,816; MLP 13,074,432; norms 1792
  expect(p.lmHead).toBe(0);
});

test('a config small enough to count by hand', () => {
  // embed 10·8 = 80; per layer: q 64, k 32, v 32, o 64, gate 128, up 128, down 128, 2 norms 16 → 592;
  // 2 layers 1184; final norm 8; untied head 80 → 1352
  expect(countParameters(TINY_LLAMA)).toEqual({
    embedding: 80,
    positionEmbedding: 0,
    perLayer: 592,
    layers: 1184,
    finalNorm: 8,
    lmHead: 80,
    total: 1352,
    nonEmbedding: 1192,
  });
  expect(countParameters({ ...TINY_LLAMA, tieWordEmbeddings: true }).total).toBe(1272);
});

test('Phi-2 (microsoft/phi-2 config.json): 2,779,683,840 with biases everywhere and an untied head with a bias', async () => {
  const { readFileSync } = await import('node:fs');
  const { parseModelConfig } = await import('../../src/model/config.js');
  const phi2 = parseModelConfig(JSON.parse(readFileSync('tests/fixtures/configs/phi-2.json', 'utf8')), 'phi-2/config.json');
  const p = countParameters(phi2);
  expect(p.total).toBe(2_779_683_840);
  expect(p.lmHead).toBe(51200 * 2560 + 51200);
  // input_layernorm 5120; q, k, v, dense 4·(2560² + 2560); fc1 2560·10240 + 10240; fc2 10240·2560 + 2560
  expect(p.perLayer).toBe(5120 + 4 * (2560 * 2560 + 2560) + (2560 * 10240 + 10240) + (10240 * 2560 + 2560));
  expect(p.finalNorm).toBe(5120);
});
