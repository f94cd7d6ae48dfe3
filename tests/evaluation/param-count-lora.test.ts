import { describe, expect, test } from 'vitest';
import { countLoraParameters } from '../../src/evaluation/param-count-lora.js';
import {
  blockLinearModules,
  matchesTargetModule,
  resolveTargetModules,
  UnknownTargetModuleError,
} from '../../src/evaluation/param-count-modules.js';
import { targetModuleNames } from '../../src/model/model-shapes.js';
import { GPT2_SMALL, QWEN2_5_0_5B, TINYLLAMA_1_1B, TINY_LLAMA } from './model-configs.js';

describe('LoRA trainable parameters: r · (in + out) per targeted module', () => {
  test('hand example: r=2 on q_proj and k_proj of a 2-layer model with GQA', () => {
    // q: 2·(8 + 8) = 32; k: 2·(8 + 4·1) = 24 (one KV head of 4); 56 per layer, 2 layers
    const c = countLoraParameters(TINY_LLAMA, { r: 2, targetModules: ['q_proj', 'k_proj'] });
    expect(c.trainable).toBe(112);
    expect(c.modules.map((m) => [m.name, m.params])).toEqual([
      ['model.layers.0.self_attn.q_proj', 32],
      ['model.layers.0.self_attn.k_proj', 24],
      ['model.layers.1.self_attn.q_proj', 32],
      ['model.layers.1.self_attn.k_proj', 24],
    ]);
    expect(c.total).toBe(1352 + 112);
  });

  test('TinyLlama r=8 q_proj,v_proj: PEFT prints 1,126,400 of 1,101,174,784', () => {
    const c = countLoraParameters(TINYLLAMA_1_1B, { r: 8, targetModules: ['q_proj', 'v_proj'] });
    expect(c.trainable).toBe(1_126_400); // 22 · (8·(2048+2048) + 8·(2048+256))
    expect(c.total).toBe(1_101_174_784);
    expect(c.trainablePercent).toBeCloseTo(0.1023, 4); // PEFT prints "trainable%: 0.1023"
  });

  test('Qwen2.5-0.5B r=16 on all seven projections: PEFT prints 8,798,208 of 502,830,976', () => {
    const c = countLoraParameters(QWEN2_5_0_5B, { r: 16, targetModules: targetModuleNames(QWEN2_5_0_5B) });
    expect(c.trainable).toBe(8_798_208);
    expect(c.total).toBe(502_830_976);
    expect(c.trainablePercent).toBeCloseTo(1.7497, 4);
    expect(countLoraParameters(QWEN2_5_0_5B, { r: 16, targetModules: 'all-linear' }).trainable).toBe(8_798_208);
  });

  test('GPT-2 c_attn r=8: 294,912', () => {
    expect(countLoraParameters(GPT2_SMALL, { r: 8, targetModules: ['c_attn'] }).trainable).toBe(12 * 8 * (768 + 2304));
    expect(12 * 8 * (768 + 2304)).toBe(294_912);
  });

  test('GPT-2: "c_proj" is both projections, "attn.c_proj" / "mlp.c_proj" one each', () => {
    const attn = 12 * 8 * (768 + 768); // 147,456
    const mlp = 12 * 8 * (3072 + 768); // 368,640
    const count = (t: string[]) => countLoraParameters(GPT2_SMALL, { r: 8, targetModules: t }).trainable;
    expect(count(['c_proj'])).toBe(attn + mlp);
    expect(count(['attn.c_proj'])).toBe(attn);
    expect(count(['mlp.c_proj'])).toBe(mlp);
    expect(count(['attn.c_proj', 'c_proj'])).toBe(attn + mlp); // a module is adapted once
  });
});

describe('module table and PEFT matching', () => {
  test('GQA shapes: k/v project to numKvHeads · headDim', () => {
    const byPath = Object.fromEntries(blockLinearModules(TINYLLAMA_1_1B).map((m) => [m.path, [m.inFeatures, m.outFeatures]]));
    expect(byPath).toEqual({
      'self_attn.q_proj': [2048, 2048],
      'self_attn.k_proj': [2048, 256],
      'self_attn.v_proj': [2048, 256],
      'self_attn.o_proj': [2048, 2048],
      'mlp.gate_proj': [2048, 5632],
      'mlp.up_proj': [2048, 5632],
      'mlp.down_proj': [5632, 2048],
    });
  });

  test('suffix matching needs a dot boundary; a string is a full-match regex', () => {
    expect(matchesTargetModule('model.layers.0.self_attn.q_proj', ['q_proj'])).toBe(true);
    expect(matchesTargetModule('model.layers.0.self_attn.q_proj', ['proj'])).toBe(false);
    expect(matchesTargetModule('transformer.h.0.mlp.c_proj', ['attn.c_proj'])).toBe(false);
    expect(matchesTargetModule('model.layers.0.self_attn.q_proj', String.raw`.*\.0\.self_attn\.q_proj`)).toBe(true);
    expect(matchesTargetModule('model.layers.10.self_attn.q_proj', String.raw`.*\.0\.self_attn\.q_proj`)).toBe(false);
    expect(matchesTargetModule('transformer.h.0.mlp.c_fc', String.raw`.*\.mlp\.c\_fc`)).toBe(true); // Python-style escape
  });

  test('a regex target can pick single layers', () => {
    const picked = resolveTargetModules(TINYLLAMA_1_1B, String.raw`model\.layers\.(0|21)\.self_attn\.(q|v)_proj`);
    expect(picked.map((m) => m.name)).toEqual([
      'model.layers.0.self_attn.q_proj',
      'model.layers.0.self_attn.v_proj',
      'model.layers.21.self_attn.q_proj',
      'model.layers.21.self_attn.v_proj',
    ]);
  });

  test('a name that matches nothing is an error naming what exists', () => {
    const err = (() => {
      try {
        resolveTargetModules(GPT2_SMALL, ['c_attn', 'q_proj']);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(UnknownTargetModuleError);
    expect((err as UnknownTargetModuleError).unmatched).toEqual(['q_proj']);
    expect((err as UnknownTargetModuleError).hint).toMatch(/c_attn, attn\.c_proj, c_fc, mlp\.c_proj/);
    expect(() => resolveTargetModules(TINY_LLAMA, ['proj'])).toThrow(UnknownTargetModuleError);
    expect(() => countLoraParameters(TINY_LLAMA, { r: 0, targetModules: ['q_proj'] })).toThrow(/rank/);
  });
});
