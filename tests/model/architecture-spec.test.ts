/**
 * Every registered architecture's spec agrees with its model code: the linear modules, the
 * parameter list (names, stored shapes, count) and the LoRA trainable count that the dry-run
 * plan shows and injection creates.
 */
import { beforeAll, describe, expect, test } from 'vitest';
import { countParameters } from '../../src/evaluation/param-count.js';
import { injectLora } from '../../src/lora/inject.js';
import { loraConfigSchema } from '../../src/lora/lora-config.js';
import { planLora } from '../../src/lora/lora-plan.js';
import { SUPPORTED_MODEL_TYPES, specOf } from '../../src/model/architectures/registry.js';
import { buildModel } from '../../src/model/build-model.js';
import { parseModelConfig } from '../../src/model/config.js';
import { linearModules, parameterSpecs } from '../../src/model/model-shapes.js';
import { initWeights } from '../../src/model/init-weights.js';
import { useCpuBackend } from '../helpers/tf-setup.js';
import { tinyConfig, type TinyModelOptions } from '../helpers/tiny-models.js';

beforeAll(useCpuBackend);

/** One tiny config per supported model_type, plus tie/bias variants. */
const CASES: Array<{ name: string; opts: TinyModelOptions }> = [
  { name: 'llama', opts: { modelType: 'llama', seed: 1 } },
  { name: 'llama tied', opts: { modelType: 'llama', seed: 1, tie: true } },
  { name: 'mistral', opts: { modelType: 'mistral', seed: 1 } },
  { name: 'qwen2 tied', opts: { modelType: 'qwen2', seed: 1, tie: true } },
  { name: 'gpt2', opts: { modelType: 'gpt2', seed: 1 } },
  { name: 'gpt2 untied', opts: { modelType: 'gpt2', seed: 1, tie: false } },
  { name: 'phi', opts: { modelType: 'phi', seed: 1, numKvHeads: 4 } },
  { name: 'phi qk_layernorm GQA tied', opts: { modelType: 'phi', seed: 1, qkLayernorm: true, tie: true } },
  { name: 'phi3', opts: { modelType: 'phi3', seed: 1 } },
  { name: 'gemma', opts: { modelType: 'gemma', seed: 1 } },
];

test('every supported model_type has a case here', () => {
  expect(new Set(CASES.map((c) => c.opts.modelType))).toEqual(new Set(SUPPORTED_MODEL_TYPES));
});

describe.each(CASES)('$name', ({ opts }) => {
  const config = parseModelConfig(tinyConfig(opts), '<tiny>');

  test('the model builds from exactly the spec parameters; linears and export match the spec', () => {
    const model = buildModel({ config, tensors: initWeights(config, { seed: 2 }) });
    const specLinears = linearModules(config).map((m) => [m.name, m.inFeatures, m.outFeatures, m.layout, m.bias]);
    const modelLinears = [...model.linears.values()].map((l) => [l.name, l.inFeatures, l.outFeatures, l.layout, l.bias !== null]);
    expect(modelLinears).toEqual(specLinears);
    const exported = [...model.exportTensors()].map(([n, t]) => [n, t.shape]).sort();
    const params = parameterSpecs(config);
    expect(exported).toEqual(params.map((p) => [p.name, p.shape]).sort());
    const numel = params.reduce((s, p) => s + p.shape.reduce((a, b) => a * b, 1), 0);
    expect(countParameters(config).total).toBe(numel);
    model.dispose();
  });

  test.each(['default', 'all-linear', String.raw`.*\.1\..*`])('LoRA %s: the plan trains what injection creates', (target) => {
    const model = buildModel({ config, tensors: initWeights(config, { seed: 2 }) });
    // phi3 has no PEFT default: its case names the fused module, as a phi3 config must.
    const noDefault = specOf(config).defaultTargets(config.modelType) === null;
    const targets = target === 'default' ? (noDefault ? ['qkv_proj'] : undefined) : target;
    const lora = loraConfigSchema.parse({ r: 3, ...(targets === undefined ? {} : { target_modules: targets }) });
    const plan = planLora(linearModules(config), lora, config.modelType);
    const injected = injectLora(model, lora, { seed: 1 });
    expect(plan.modules).toEqual(injected.modules);
    expect(plan.trainableParams).toBe(injected.trainableParams);
    expect(injected.variables.reduce((s, v) => s + v.size, 0)).toBe(plan.trainableParams);
    if (target === 'default' && !noDefault) expect(plan.target).toEqual(specOf(config).defaultTargets(config.modelType));
    model.dispose();
  });
});

test('phi3 without target_modules is refused as PEFT refuses it, naming the fused modules', () => {
  const config = parseModelConfig(tinyConfig({ modelType: 'phi3', seed: 1 }), '<tiny>');
  expect(() => planLora(linearModules(config), loraConfigSchema.parse({ r: 2 }), 'phi3')).toThrow(/no default target modules for model_type phi3/);
  try {
    planLora(linearModules(config), loraConfigSchema.parse({ r: 2 }), 'phi3');
  } catch (e) {
    expect((e as { hint?: string }).hint).toMatch(/qkv_proj, o_proj, gate_up_proj, down_proj/);
  }
});
