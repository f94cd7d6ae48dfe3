/**
 * Tiny random-weight models in exact Hugging Face layout (config.json as transformers writes it,
 * HF tensor names and shapes, tokenizer.json), so loader, architecture and LoRA tests need no
 * download. Weights come from a seeded PRNG: the same options always give the same bytes.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { saveCheckpoint } from '../../src/model/checkpoint.js';
import { parseModelConfig } from '../../src/model/config.js';
import { parameterSpecs } from '../../src/model/model-shapes.js';
import { roundToDtype } from '../../src/model/half-float.js';
import type { HostTensor, StoredDtype } from '../../src/model/types.js';
import { mulberry32 } from '../../src/util/random.js';
import { makeTinyTokenizerConfig, makeTinyTokenizerJson } from './tiny-tokenizer.js';

export type TinyModelType = 'llama' | 'mistral' | 'qwen2' | 'gpt2' | 'phi' | 'phi3' | 'gemma';

export interface TinyModelOptions {
  modelType: TinyModelType;
  seed: number;
  hiddenSize?: number;
  numLayers?: number;
  numHeads?: number;
  /** Key/value heads (llama family; gpt2 has none of its own). */
  numKvHeads?: number;
  /** MLP width for the llama family; for gpt2 it becomes n_inner (default 4·hidden). */
  intermediateSize?: number;
  /** Tie lm_head to the embeddings (llama family default: untied; gpt2 default: tied). */
  tie?: boolean;
  dtype?: StoredDtype;
  /** Shard the weights into files of at most this many bytes (plus an index). */
  shardBytes?: number;
  /** max_position_embeddings / n_positions. */
  maxPositions?: number;
  /** phi: per-head LayerNorm of queries and keys. */
  qkLayernorm?: boolean;
  /** gemma: head_dim independent of hidden / heads (default 16 with hidden 32 and 4 heads). */
  headDim?: number;
}

export interface TinyModel {
  dir: string;
  /** config.json as written. */
  config: Record<string, unknown>;
  /** The weights exactly as they load (already rounded through `dtype`). */
  tensors: Map<string, HostTensor>;
}

/** mulberry32 (src/util/random.ts): a tiny, well-mixed 32-bit PRNG; enough for reproducible test weights. */
export { mulberry32 };

/** Standard normal samples by Box–Muller. */
function gaussian(rand: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

const TORCH_DTYPE: Record<StoredDtype, string> = { F32: 'float32', F16: 'float16', BF16: 'bfloat16' };
const ARCHITECTURES: Record<TinyModelType, string> = {
  llama: 'LlamaForCausalLM',
  mistral: 'MistralForCausalLM',
  qwen2: 'Qwen2ForCausalLM',
  gpt2: 'GPT2LMHeadModel',
  phi: 'PhiForCausalLM',
  phi3: 'Phi3ForCausalLM',
  gemma: 'GemmaForCausalLM',
};

type Resolved = Required<Omit<TinyModelOptions, 'shardBytes' | 'intermediateSize' | 'qkLayernorm' | 'headDim'>> &
  Pick<TinyModelOptions, 'shardBytes' | 'intermediateSize' | 'qkLayernorm' | 'headDim'>;

function configFor(o: Resolved, vocabSize: number, eos: number): Record<string, unknown> {
  const common = { architectures: [ARCHITECTURES[o.modelType]], model_type: o.modelType, bos_token_id: eos, eos_token_id: eos };
  const tail = { torch_dtype: TORCH_DTYPE[o.dtype], transformers_version: '4.46.3', use_cache: true, vocab_size: vocabSize };
  if (o.modelType === 'gpt2') {
    return {
      activation_function: 'gelu_new', ...common, attn_pdrop: 0.1, embd_pdrop: 0.1, initializer_range: 0.02,
      layer_norm_epsilon: 1e-5, n_ctx: o.maxPositions, n_embd: o.hiddenSize, n_head: o.numHeads,
      n_inner: o.intermediateSize ?? null, n_layer: o.numLayers, n_positions: o.maxPositions,
      reorder_and_upcast_attn: false, resid_pdrop: 0.1, scale_attn_by_inverse_layer_idx: false,
      scale_attn_weights: true, summary_activation: null, summary_first_dropout: 0.1,
      summary_proj_to_labels: true, summary_type: 'cls_index', summary_use_proj: true, ...tail,
    };
  }
  const common2 = {
    ...common, hidden_size: o.hiddenSize, intermediate_size: o.intermediateSize ?? 64, initializer_range: 0.02,
    max_position_embeddings: o.maxPositions, num_attention_heads: o.numHeads, num_hidden_layers: o.numLayers,
    num_key_value_heads: o.numKvHeads, rope_scaling: null, rope_theta: 10000.0, tie_word_embeddings: o.tie,
  };
  if (o.modelType === 'phi') {
    return {
      ...common2, attention_dropout: 0.0, embd_pdrop: 0.0, hidden_act: 'gelu_new', layer_norm_eps: 1e-5,
      partial_rotary_factor: 0.5, qk_layernorm: o.qkLayernorm ?? false, resid_pdrop: 0.0, ...tail,
    };
  }
  if (o.modelType === 'phi3') {
    return {
      ...common2, attention_bias: false, attention_dropout: 0.0, embd_pdrop: 0.0, hidden_act: 'silu',
      original_max_position_embeddings: o.maxPositions, pad_token_id: eos, resid_pdrop: 0.0, rms_norm_eps: 1e-5,
      sliding_window: null, ...tail,
    };
  }
  if (o.modelType === 'gemma') {
    return {
      ...common2, attention_bias: false, attention_dropout: 0.0, head_dim: o.headDim ?? 16, hidden_act: 'gelu',
      hidden_activation: 'gelu_pytorch_tanh', pad_token_id: eos, rms_norm_eps: 1e-6, ...tail,
    };
  }
  const llama = {
    ...common, attention_dropout: 0.0, head_dim: o.hiddenSize / o.numHeads, hidden_act: 'silu',
    hidden_size: o.hiddenSize, initializer_range: 0.02, intermediate_size: o.intermediateSize ?? 64,
    max_position_embeddings: o.maxPositions, num_attention_heads: o.numHeads,
    num_hidden_layers: o.numLayers, num_key_value_heads: o.numKvHeads, rms_norm_eps: 1e-6,
    rope_theta: 10000.0, tie_word_embeddings: o.tie,
  };
  if (o.modelType === 'llama') return { ...llama, attention_bias: false, mlp_bias: false, pretraining_tp: 1, rope_scaling: null, ...tail };
  if (o.modelType === 'mistral') return { ...llama, sliding_window: 4096, ...tail };
  return { ...llama, max_window_layers: o.numLayers, rope_scaling: null, sliding_window: null, use_sliding_window: false, ...tail };
}

function resolve(opts: TinyModelOptions): Resolved {
  const o: Resolved = {
    hiddenSize: 32, numLayers: 2, numHeads: 4, numKvHeads: 2, tie: opts.modelType === 'gemma', dtype: 'F32', maxPositions: 64,
    // Options passed as undefined keep their defaults.
    ...(Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) as TinyModelOptions),
  };
  if (o.modelType === 'gpt2') o.numKvHeads = o.numHeads;
  return o;
}

/** config.json of a tiny model (vocabulary of the tiny tokenizer), as transformers writes it. */
export function tinyConfig(opts: TinyModelOptions): Record<string, unknown> {
  const o = resolve(opts);
  const vocab = (makeTinyTokenizerJson().model as { vocab: Record<string, number> }).vocab;
  const config = configFor(o, Object.keys(vocab).length, vocab['<|endoftext|>']);
  // GPT-2 is tied by default (GPT2Config); `tie: false` gives it its own lm_head.weight.
  if (o.modelType === 'gpt2' && opts.tie === false) config.tie_word_embeddings = false;
  return config;
}

/** Writes the model folder `dir` (replacing it) and returns what a loader should find there. */
export async function writeTinyModel(dir: string, opts: TinyModelOptions): Promise<TinyModel> {
  const o = resolve(opts);
  const tokJson = makeTinyTokenizerJson();
  const config = tinyConfig(opts);

  const normal = gaussian(mulberry32(o.seed));
  // Std 0.1 rather than the 0.02 of real initialisation, so that tiny models give logits that
  // are far from flat and numerical comparisons are meaningful.
  const draw = { weight: () => 0.1 * normal(), norm: () => 1 + 0.1 * normal(), bias: () => 0.05 * normal() };
  // The parameter list, names, stored shapes and order come from the architecture's spec.
  const specs = parameterSpecs(parseModelConfig(config, `<tiny ${o.modelType}>`));
  const tensors = new Map<string, HostTensor>();
  for (const { name, shape, kind } of specs) {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = draw[kind]();
    tensors.set(name, { shape, data: roundToDtype(data, o.dtype), storedDtype: o.dtype });
  }

  await saveCheckpoint(dir, { config, tensors, dtype: o.dtype, shardBytes: o.shardBytes });
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(tokJson));
  writeFileSync(join(dir, 'tokenizer_config.json'), `${JSON.stringify(makeTinyTokenizerConfig(), null, 2)}\n`);
  return { dir, config, tensors };
}
