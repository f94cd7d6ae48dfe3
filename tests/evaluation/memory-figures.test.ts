import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, expect, test } from 'vitest';
import { baseLinearBytes, quantizeBase } from '../../src/lora/quantize/quantize-base.js';
import { injectLora } from '../../src/lora/inject.js';
import { loraConfigSchema } from '../../src/lora/lora-config.js';
import type { QuantFormat } from '../../src/lora/quantize/types.js';
import { loadModel } from '../../src/model/load-model.js';
import { AdamW } from '../../src/training/adamw.js';
import { useCpuBackend } from '../helpers/tf-setup.js';
import { writeTinyModel } from '../helpers/tiny-models.js';

// Every figure here is measured as tfjs counts it (tf.memory().numBytes before and after), not
// computed from shapes, so the test fails if a layer keeps a copy or frees less than it claims.
const modelDir = join(mkdtempSync(join(tmpdir(), 'memory-figures-')), 'model');

beforeAll(async () => {
  await useCpuBackend();
  // Every linear dimension a multiple of 64, the quantization block size.
  await writeTinyModel(modelDir, { modelType: 'llama', seed: 4, hiddenSize: 64, numHeads: 4, numKvHeads: 2, intermediateSize: 128 });
});

const measure = (fn: () => void): number => {
  const before = tf.memory().numBytes;
  fn();
  return tf.memory().numBytes - before;
};

async function loraFigures(r: number): Promise<{ loraBytes: number; optimizerBytes: number; stateBytes: number; trainable: number }> {
  const { model } = await loadModel(modelDir);
  let lora!: ReturnType<typeof injectLora>;
  const loraBytes = measure(() => {
    lora = injectLora(model, loraConfigSchema.parse({ r, lora_alpha: 2 * r, target_modules: ['q_proj', 'v_proj'] }), { seed: 1 });
  });
  let opt!: AdamW;
  const optimizerBytes = measure(() => {
    opt = new AdamW(lora.variables, { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0 });
  });
  const stateBytes = opt.stateBytes();
  opt.dispose();
  model.dispose();
  return { loraBytes, optimizerBytes, stateBytes, trainable: lora.trainableParams };
}

test('more rank → more LoRA weight bytes and more optimizer bytes, in proportion to r', async () => {
  const r2 = await loraFigures(2);
  const r8 = await loraFigures(8);
  expect(r2.loraBytes).toBe(4 * r2.trainable);
  expect(r8.loraBytes).toBeGreaterThan(r2.loraBytes);
  expect(r8.optimizerBytes).toBeGreaterThan(r2.optimizerBytes);
  // A is [r, in], B is [out, r]: bytes are linear in r; Adam keeps two moments per parameter.
  expect(r8.loraBytes).toBe(4 * r2.loraBytes);
  expect(r8.optimizerBytes).toBe(4 * r2.optimizerBytes);
  expect(r8.stateBytes).toBe(2 * r8.loraBytes);
});

// Regression: AdamW once kept the zerosLike tensors its moments start from, holding twice stateBytes().
test('AdamW holds exactly the stateBytes() it reports', async () => {
  const r4 = await loraFigures(4);
  expect(r4.optimizerBytes).toBe(r4.stateBytes);
});

async function baseBytes(format: QuantFormat): Promise<{ freed: number; linearFp32: number; linearActual: number; headBytes: number }> {
  const { model } = await loadModel(modelDir);
  const head = model.linears.get(model.outputHeadName)!;
  const before = tf.memory().numBytes;
  quantizeBase(model, format);
  const freed = before - tf.memory().numBytes;
  const { fp32, actual } = baseLinearBytes(model);
  model.dispose();
  // The output head stays float32 (QLoRA), and this model's head is untied.
  return { freed, linearFp32: fp32, linearActual: actual, headBytes: head.inFeatures * head.outFeatures * 4 };
}

test('nf4 base weights take fewer bytes than int8, int8 fewer than fp32 (measured)', async () => {
  const fp32 = await baseBytes('fp32');
  const int8 = await baseBytes('int8');
  const nf4 = await baseBytes('nf4');
  expect(fp32.freed).toBe(0);
  expect(int8.freed).toBeGreaterThan(0);
  expect(nf4.freed).toBeGreaterThan(int8.freed);
  // What tfjs freed is exactly what the profiler's base_weight_bytes figure says was saved.
  for (const q of [int8, nf4]) expect(q.freed).toBe(q.linearFp32 - q.linearActual);
  // nf4: 4 bits a weight plus one fp32 absmax per 64 → about 1/7 of fp32.
  const ratio = (nf4.linearActual - nf4.headBytes) / (nf4.linearFp32 - nf4.headBytes);
  expect(ratio).toBeLessThan(0.2);
  expect(ratio).toBeGreaterThan(0.1);
});
