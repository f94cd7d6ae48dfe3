import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, test } from 'vitest';
import { buildModel } from '../../src/model/build-model.js';
import { parseModelConfig } from '../../src/model/config.js';
import { injectLora } from '../../src/lora/inject.js';
import { loraConfigSchema } from '../../src/lora/lora-config.js';
import { mergedTensors } from '../../src/lora/merge.js';
import { loadAdapter, saveAdapter } from '../../src/lora/peft-adapter.js';
import { TargetModulesError } from '../../src/lora/target-modules.js';
import { useCpuBackend } from '../helpers/tf-setup.js';
import { tinyLm } from '../helpers/tiny-lm.js';

const ids = tf.tidy(() => tf.tensor2d([[5, 17, 99, 3, 250, 42], [7, 7, 1, 0, 64, 200]], [2, 6], 'int32'));

function logitsOf(model: { forward: (i: { inputIds: tf.Tensor2D }) => { logits: tf.Tensor } }): Float32Array {
  return tf.tidy(() => model.forward({ inputIds: ids }).logits.dataSync() as Float32Array);
}

/** Sets every B to small random values so the adapter actually changes the output. */
function randomizeB(model: Awaited<ReturnType<typeof tinyLm>>['model'], seed: number): void {
  for (const l of model.linears.values()) if (l.lora) l.lora.B.assign(tf.randomNormal(l.lora.B.shape, 0, 0.05, 'float32', seed++));
}

beforeAll(useCpuBackend);

describe.each(['llama', 'qwen2', 'gpt2', 'phi', 'phi3', 'gemma'] as const)('LoRA on %s', (modelType) => {
  // PEFT has no default target_modules for phi3: its fused modules are named as PEFT users do.
  const defaults = modelType === 'phi3' ? { target_modules: ['qkv_proj', 'gate_up_proj'] } : {};
  test('B = 0 gives exactly the base logits; a trained-looking B changes them', async () => {
    const { model } = await tinyLm({ modelType });
    const base = logitsOf(model);
    injectLora(model, loraConfigSchema.parse({ r: 4, lora_alpha: 8, target_modules: 'all-linear' }), { seed: 3 });
    expect(logitsOf(model)).toEqual(base);
    randomizeB(model, 11);
    const adapted = logitsOf(model);
    expect(Math.max(...adapted.map((x, i) => Math.abs(x - base[i])))).toBeGreaterThan(1e-3);
    model.dispose();
  });

  test('merged weights give the same logits as base + adapter (1e-5)', async () => {
    const loaded = await tinyLm({ modelType });
    const { model } = loaded;
    injectLora(model, loraConfigSchema.parse({ r: 4, lora_alpha: 16, target_modules: 'all-linear', use_rslora: true }), { seed: 5 });
    randomizeB(model, 21);
    const adapted = logitsOf(model);
    const merged = buildModel({ config: model.config, tensors: await mergedTensors(model) });
    const mergedLogits = logitsOf(merged);
    const maxDiff = Math.max(...adapted.map((x, i) => Math.abs(x - mergedLogits[i])));
    expect(maxDiff).toBeLessThan(1e-5);
    model.dispose();
    merged.dispose();
  });

  test('adapter save → load round trip is exact', async () => {
    const a = await tinyLm({ modelType });
    const injected = injectLora(a.model, loraConfigSchema.parse({ r: 2, lora_alpha: 4, ...defaults }), { seed: 9 });
    randomizeB(a.model, 31);
    const dir = join(mkdtempSync(join(tmpdir(), 'adapter-')), 'adapter');
    await saveAdapter(dir, a.model, injected, { baseModel: a.dir });
    const b = await tinyLm({ modelType });
    const lora = await loadAdapter(dir, b.model);
    expect(lora.config.r).toBe(2);
    expect(logitsOf(b.model)).toEqual(logitsOf(a.model));
    a.model.dispose();
    b.model.dispose();
  });
});


test('target modules that match nothing give an error listing the real module names', async () => {
  const { model } = await tinyLm({ modelType: 'llama' });
  expect(() => injectLora(model, loraConfigSchema.parse({ target_modules: ['qkv'] }), { seed: 1 })).toThrow(TargetModulesError);
  try {
    injectLora(model, loraConfigSchema.parse({ target_modules: ['qkv'] }), { seed: 1 });
  } catch (err) {
    expect((err as TargetModulesError).hint).toContain('q_proj');
  }
  model.dispose();
});

test('r <= 0 is rejected by the config schema with the field named', () => {
  const res = loraConfigSchema.safeParse({ r: 0 });
  expect(res.success).toBe(false);
  expect(res.error?.issues[0].path).toEqual(['r']);
});

test('PEFT suffix matching on GPT-2: c_proj selects both attn and mlp projections', async () => {
  const { model } = await tinyLm({ modelType: 'gpt2' });
  const lora = injectLora(model, loraConfigSchema.parse({ target_modules: ['c_proj'] }), { seed: 1 });
  expect(lora.modules.sort()).toEqual([
    'transformer.h.0.attn.c_proj', 'transformer.h.0.mlp.c_proj', 'transformer.h.1.attn.c_proj', 'transformer.h.1.mlp.c_proj',
  ]);
  model.dispose();
});

test('unknown model_type is a clear error', () => {
  expect(() => parseModelConfig({ model_type: 'falcon' }, 'x/config.json')).toThrow(/falcon/);
});
