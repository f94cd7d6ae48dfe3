import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, expect, test } from 'vitest';
import { buildModel } from '../../src/model/build-model.js';
import { writeSafetensors } from '../../src/model/safetensors.js';
import { loadAdapter, AdapterFormatError } from '../../src/lora/peft-adapter.js';
import { useCpuBackend } from '../helpers/tf-setup.js';
import { tinyLm } from '../helpers/tiny-lm.js';
import { mulberry32 } from '../helpers/tiny-models.js';

beforeAll(useCpuBackend);

/**
 * adapter_config.json with every field PEFT 0.19 writes (the field list of a real PEFT 0.19.1
 * LoRA adapter for a Llama model), values chosen here. PEFT saves the tensors without the
 * adapter name: base_model.model.<module>.lora_A.weight [r, in] / lora_B.weight [out, r].
 */
function peft019Config(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    alora_invocation_tokens: null, alpha_pattern: {}, arrow_config: null, auto_mapping: null,
    base_model_name_or_path: 'some/base', bias: 'none', corda_config: null, ensure_weight_tying: false,
    eva_config: null, exclude_modules: null, fan_in_fan_out: false, inference_mode: true, init_lora_weights: true,
    layer_replication: null, layers_pattern: null, layers_to_transform: null, loftq_config: {}, lora_alpha: 8,
    lora_bias: false, lora_dropout: 0.05, lora_ga_config: null, megatron_config: null, megatron_core: 'megatron.core',
    modules_to_save: null, peft_type: 'LORA', peft_version: '0.19.1', qalora_group_size: 16, r: 4, rank_pattern: {},
    revision: null, target_modules: ['v_proj', 'q_proj'], target_parameters: null, task_type: 'CAUSAL_LM',
    trainable_token_indices: null, use_bdlora: null, use_dora: false, use_qalora: false, use_rslora: false,
    ...over,
  };
}

async function writePeftAdapter(dir: string, config: Record<string, unknown>, modules: Array<{ name: string; inF: number; outF: number }>) {
  mkdirSync(dir, { recursive: true });
  const rand = mulberry32(7);
  const r = config.r as number;
  const tensors: Record<string, { shape: number[]; data: Float32Array }> = {};
  for (const m of modules) {
    tensors[`base_model.model.${m.name}.lora_A.weight`] = { shape: [r, m.inF], data: Float32Array.from({ length: r * m.inF }, () => rand() - 0.5) };
    tensors[`base_model.model.${m.name}.lora_B.weight`] = { shape: [m.outF, r], data: Float32Array.from({ length: m.outF * r }, () => (rand() - 0.5) * 0.2) };
  }
  await writeSafetensors(join(dir, 'adapter_model.safetensors'), tensors);
  writeFileSync(join(dir, 'adapter_config.json'), JSON.stringify(config, null, 2));
  return tensors;
}

test('a PEFT 0.19-style adapter loads and computes W + (alpha/r)·B·A', async () => {
  const { model } = await tinyLm({ modelType: 'llama' });
  const base = model.exportTensors();
  const modules = ['q_proj', 'v_proj'].flatMap((p) => [0, 1].map((i) => {
    const l = model.linears.get(`model.layers.${i}.self_attn.${p}`)!;
    return { name: l.name, inF: l.inFeatures, outF: l.outFeatures };
  }));
  const dir = join(mkdtempSync(join(tmpdir(), 'peft-')), 'adapter');
  const tensors = await writePeftAdapter(dir, peft019Config(), modules);
  const lora = await loadAdapter(dir, model);
  expect(lora.modules.sort()).toEqual(modules.map((m) => m.name).sort());

  // Independent merge on the host: W' = W + (8/4)·B·A, then a plain model on the merged weights.
  for (const m of modules) {
    const A = tensors[`base_model.model.${m.name}.lora_A.weight`];
    const B = tensors[`base_model.model.${m.name}.lora_B.weight`];
    const W = base.get(`${m.name}.weight`)!;
    const merged = new Float32Array(W.data);
    for (let o = 0; o < m.outF; o++) for (let i = 0; i < m.inF; i++) {
      let s = 0;
      for (let k = 0; k < 4; k++) s += B.data[o * 4 + k] * A.data[k * m.inF + i];
      merged[o * m.inF + i] += 2 * s;
    }
    base.set(`${m.name}.weight`, { shape: W.shape, data: merged });
  }
  const reference = buildModel({ config: model.config, tensors: base });
  const ids = tf.tensor2d([[3, 14, 15, 92, 65, 35]], [1, 6], 'int32');
  const a = tf.tidy(() => model.forward({ inputIds: ids }).logits.dataSync() as Float32Array);
  const b = tf.tidy(() => reference.forward({ inputIds: ids }).logits.dataSync() as Float32Array);
  expect(Math.max(...a.map((x, i) => Math.abs(x - b[i])))).toBeLessThan(1e-4);
  model.dispose();
  reference.dispose();
});

test.each([
  ['lora_bias', { lora_bias: true }],
  ['lora_magnitude_vector', { use_dora: true }],
  ['init_lora_weights', { init_lora_weights: 'corda' }],
  ['modules_to_save', { modules_to_save: ['lm_head'] }],
  ['peft_type', { peft_type: 'IA3' }],
])('an adapter using %s is refused with the field named', async (field, over) => {
  const { model } = await tinyLm({ modelType: 'llama' });
  const l = model.linears.get('model.layers.0.self_attn.q_proj')!;
  const dir = join(mkdtempSync(join(tmpdir(), 'peft-')), 'adapter');
  await writePeftAdapter(dir, peft019Config({ target_modules: ['q_proj'], ...over }), [{ name: l.name, inF: l.inFeatures, outF: l.outFeatures }]);
  await expect(loadAdapter(dir, model)).rejects.toThrow(AdapterFormatError);
  await expect(loadAdapter(dir, model)).rejects.toThrow(new RegExp(field));
  model.dispose();
});
