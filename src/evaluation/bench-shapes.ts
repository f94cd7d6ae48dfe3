import { buildModel } from '../model/build-model.js';
import type { CausalLM } from '../model/causal-lm.js';
import { parseModelConfig } from '../model/config.js';
import { initWeights } from '../model/init-weights.js';
import type { QuantFormat } from '../lora/quantize/types.js';

/** One benchmark case: a model shape, its LoRA, and the batch it trains and generates on. */
export interface BenchShape {
  name: string;
  /** config.json as Hugging Face writes it; weights are random (speed does not depend on them). */
  config: Record<string, unknown>;
  lora: { r: number; alpha: number; targetModules: string[] };
  /** Sequences per training step. */
  batchSize: number;
  /** Tokens per training sequence (every position has a label). */
  seqLen: number;
  /** Training steps; the first two are warm-up (kernel set-up, the trainer's profiled steps) and not timed. */
  steps: number;
  /** Greedy generation with the KV cache: prompts, prompt tokens, new tokens. */
  generation: { batchSize: number; promptLen: number; newTokens: number };
  /** Base-weight precision (QLoRA-style); default fp32. */
  quantization?: QuantFormat;
  /** Issue 12's goals for this shape, printed met or not beside the PyTorch peer's figures. */
  goals?: { peerRatio?: number; ofBlasPeak?: number };
}

/** The optimiser every shape trains with (AdamW, constant rate, global-norm clipping); the PyTorch peer reads it too. */
export const BENCH_TRAIN = { learningRate: 1e-4, weightDecay: 0, maxGradNorm: 1, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 } as const;

/** GPT-2 small (Radford et al. 2019; HF `gpt2`): 124M parameters, tied head, vocab 50257. */
export const GPT2_SMALL = {
  architectures: ['GPT2LMHeadModel'], model_type: 'gpt2', activation_function: 'gelu_new',
  n_ctx: 1024, n_positions: 1024, n_embd: 768, n_head: 12, n_layer: 12, n_inner: null,
  vocab_size: 50257, layer_norm_epsilon: 1e-5, bos_token_id: 50256, eos_token_id: 50256,
};

const TINY_LLAMA = {
  architectures: ['LlamaForCausalLM'], model_type: 'llama', hidden_size: 64, intermediate_size: 128,
  num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 256,
  vocab_size: 512, rms_norm_eps: 1e-6, rope_theta: 10000, tie_word_embeddings: false, bos_token_id: 1, eos_token_id: 2,
};

/** The fixed shapes `lora-study bench` runs, so that figures compare across machines. */
export const BENCH_SHAPES: readonly BenchShape[] = [
  {
    name: 'tiny-llama',
    config: TINY_LLAMA,
    lora: { r: 8, alpha: 16, targetModules: ['q_proj', 'v_proj'] },
    // Its steps take milliseconds on both sides, so 98 timed steps: a GC pause or a context switch
    // then moves the mean little, and per-size choices made by measuring (the native matmul's
    // threads, the split Exp) have settled, as they have in a real run of hundreds of steps (here
    // 30 steps gave 7.9 ms/step against 6.5 over 200).
    batchSize: 4, seqLen: 64, steps: 100,
    generation: { batchSize: 4, promptLen: 16, newTokens: 16 },
    goals: { peerRatio: 1.0 },
  },
  {
    name: 'gpt2-124m',
    config: GPT2_SMALL,
    lora: { r: 8, alpha: 16, targetModules: ['c_attn'] },
    // One sequence a step keeps the bench to about a minute on 2 wasm threads (a 4×128 step took minutes here).
    batchSize: 1, seqLen: 128, steps: 4,
    generation: { batchSize: 1, promptLen: 32, newTokens: 16 },
    goals: { peerRatio: 1.5, ofBlasPeak: 0.25 },
  },
];

/**
 * The one description of the bench workload outside this process: what `bench --print-shapes`
 * prints and what scripts/bench-torch-peer.py builds its PyTorch peer from, so the two cannot drift.
 */
export function benchShapesDocument(shapes: readonly BenchShape[] = BENCH_SHAPES): { train: typeof BENCH_TRAIN; shapes: readonly BenchShape[] } {
  return { train: BENCH_TRAIN, shapes };
}

/** A model of the shape's architecture with random weights, built in memory (no files). */
export function buildRandomModel(shape: BenchShape, seed = 0): CausalLM {
  const config = parseModelConfig(shape.config, `<bench shape ${shape.name}>`);
  return buildModel({ config, tensors: initWeights(config, { seed }) });
}
