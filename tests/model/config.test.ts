import { describe, expect, test } from 'vitest';
import { ModelConfigError, parseModelConfig, UnsupportedConfigFeatureError, UnsupportedModelTypeError } from '../../src/model/config.js';

const FILE = '/models/x/config.json';
const llama = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  model_type: 'llama', vocab_size: 100, hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2, num_attention_heads: 8, ...extra,
});

describe('llama family', () => {
  test('transformers defaults fill what the file omits', () => {
    const c = parseModelConfig(llama(), FILE);
    expect(c).toMatchObject({
      modelType: 'llama', family: 'llama', numKvHeads: 8, headDim: 8, normEps: 1e-6, ropeTheta: 10000,
      attentionBias: false, outputBias: false, mlpBias: false, tieWordEmbeddings: false, hiddenAct: 'silu',
      maxPositionEmbeddings: 2048, eosTokenId: null, slidingWindow: null,
    });
    expect(c.raw).toEqual(llama());
  });

  test('explicit fields win: GQA, head_dim, attention_bias, tie, eos list', () => {
    const c = parseModelConfig(
      llama({ num_key_value_heads: 2, head_dim: 16, rope_theta: 500000, attention_bias: true, mlp_bias: true, tie_word_embeddings: true, eos_token_id: [7, 9], rms_norm_eps: 1e-5 }),
      FILE,
    );
    expect(c).toMatchObject({ numKvHeads: 2, headDim: 16, ropeTheta: 500000, attentionBias: true, outputBias: true, mlpBias: true, tieWordEmbeddings: true, eosTokenId: 7, normEps: 1e-5 });
  });

  test('qwen2 always has q/k/v biases and no o_proj bias; mistral none', () => {
    expect(parseModelConfig(llama({ model_type: 'qwen2' }), FILE)).toMatchObject({ attentionBias: true, outputBias: false, maxPositionEmbeddings: 32768 });
    const m = parseModelConfig(llama({ model_type: 'mistral', attention_bias: true, sliding_window: 4096 }), FILE);
    expect(m).toMatchObject({ attentionBias: false, outputBias: false, slidingWindow: 4096 });
  });

  test('rope_scaling is refused clearly; null is fine', () => {
    expect(parseModelConfig(llama({ rope_scaling: null }), FILE).ropeTheta).toBe(10000);
    const err = (() => { try { parseModelConfig(llama({ rope_scaling: { rope_type: 'llama3', factor: 8 } }), FILE); } catch (e) { return e; } })();
    expect(err).toBeInstanceOf(UnsupportedConfigFeatureError);
    expect((err as Error).message).toMatch(/config\.json: field "rope_scaling" .*not supported yet/);
  });

  test('missing and invalid fields name the file and the field', () => {
    const { hidden_size: _, ...noHidden } = llama();
    expect(() => parseModelConfig(noHidden, FILE)).toThrow(`${FILE}: field "hidden_size" is required but missing`);
    expect(() => parseModelConfig(llama({ num_hidden_layers: '2' }), FILE)).toThrow(/field "num_hidden_layers" is invalid/);
    expect(() => parseModelConfig(llama({ num_key_value_heads: 3 }), FILE)).toThrow(/"num_key_value_heads" \(3\) must divide num_attention_heads \(8\)/);
    const err = (() => { try { parseModelConfig(noHidden, FILE); } catch (e) { return e; } })();
    expect(err).toMatchObject({ constructor: ModelConfigError, file: FILE, field: 'hidden_size' });
  });
});

describe('gpt2', () => {
  const gpt2 = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
    model_type: 'gpt2', vocab_size: 50257, n_embd: 768, n_layer: 12, n_head: 12, n_inner: null, ...extra,
  });

  test('defaults and fixed facts', () => {
    expect(parseModelConfig(gpt2(), FILE)).toMatchObject({
      family: 'gpt2', hiddenSize: 768, numHeads: 12, numKvHeads: 12, headDim: 64, intermediateSize: 3072,
      maxPositionEmbeddings: 1024, normEps: 1e-5, hiddenAct: 'gelu_new', tieWordEmbeddings: true,
      attentionBias: true, outputBias: true, mlpBias: true, eosTokenId: 50256,
    });
    expect(parseModelConfig(gpt2({ n_inner: 1000 }), FILE)).toMatchObject({ intermediateSize: 1000 });
    // transformers ties GPT-2's head only when tie_word_embeddings is true (its default).
    expect(parseModelConfig(gpt2({ tie_word_embeddings: false }), FILE)).toMatchObject({ tieWordEmbeddings: false });
  });

  test('unsupported attention variants are refused', () => {
    expect(() => parseModelConfig(gpt2({ scale_attn_by_inverse_layer_idx: true }), FILE)).toThrow(UnsupportedConfigFeatureError);
  });
});

test('unknown model_type names the file, the value and the supported list', () => {
  const err = (() => { try { parseModelConfig(llama({ model_type: 'bert' }), FILE); } catch (e) { return e; } })();
  expect(err).toBeInstanceOf(UnsupportedModelTypeError);
  expect(err).toMatchObject({ file: FILE, modelType: 'bert' });
  expect((err as Error).message).toBe(`${FILE}: model_type "bert" is not supported; supported model types: llama, mistral, qwen2, gpt2, phi, phi3, gemma`);
  expect(() => parseModelConfig({ hidden_size: 3 }, FILE)).toThrow(`${FILE}: field "model_type" is required but missing`);
  expect(() => parseModelConfig([1], FILE)).toThrow(ModelConfigError);
});

describe('phi, phi3, gemma: their config classes\' defaults', () => {
  const base = { vocab_size: 100, hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2, num_attention_heads: 8 };

  test('phi (Phi-2): untied head with bias, partial rotary 0.5 by default, LayerNorm eps', () => {
    expect(parseModelConfig({ model_type: 'phi', ...base }, FILE)).toMatchObject({
      family: 'phi', headDim: 8, rotaryDim: 4, tieWordEmbeddings: false, lmHeadBias: true, qkLayernorm: false, hiddenAct: 'gelu_new', normEps: 1e-5, maxPositionEmbeddings: 2048,
    });
    expect(parseModelConfig({ model_type: 'phi', ...base, partial_rotary_factor: 0.25, qk_layernorm: true }, FILE)).toMatchObject({ rotaryDim: 2, qkLayernorm: true });
    expect(() => parseModelConfig({ model_type: 'phi', ...base, partial_rotary_factor: 0.1 }, FILE)).toThrow(/partial_rotary_factor/);
  });

  test('phi3: untied, no biases, longrope refused', () => {
    expect(parseModelConfig({ model_type: 'phi3', ...base }, FILE)).toMatchObject({ family: 'phi3', tieWordEmbeddings: false, attentionBias: false, normEps: 1e-5, rotaryDim: 8 });
    expect(() => parseModelConfig({ model_type: 'phi3', ...base, rope_scaling: { type: 'longrope' } }, FILE)).toThrow(UnsupportedConfigFeatureError);
  });

  test('gemma: tied by default, head_dim independent, tanh GeGLU whatever hidden_act says', () => {
    const c = parseModelConfig({ model_type: 'gemma', ...base, num_key_value_heads: 1, head_dim: 32, hidden_act: 'gelu' }, FILE);
    expect(c).toMatchObject({ family: 'gemma', tieWordEmbeddings: true, headDim: 32, numKvHeads: 1, hiddenAct: 'gelu_pytorch_tanh' });
    expect(parseModelConfig({ model_type: 'gemma', ...base, num_key_value_heads: 8, tie_word_embeddings: false }, FILE).tieWordEmbeddings).toBe(false);
  });
});
