import type { ModelConfig } from '../model/types.js';
import type { LoraShape } from './param-count-lora.js';
import { blockLinearModules, resolveTargetModules } from './param-count-modules.js';

/**
 * Model FLOPs per token, from the config alone, for throughput and MFU figures.
 *
 * Conventions (one multiply-add = 2 FLOPs):
 * - a linear layer `in → out` costs 2·in·out per token (biases, norms, activations, softmax,
 *   RoPE and residual adds are element-wise, O(C) per token, and left out, as Kaplan et al. 2020
 *   do; Chinchilla's appendix F counts them and finds them ≪ 1%);
 * - attention scores Q·Kᵀ cost 2·d per (query, key) pair per head, and the weighted sum of V the
 *   same, so a query attending to n keys costs 2·2·n·A per layer with A = numHeads·headDim (query
 *   heads: grouped-query attention shares K/V heads but every query head still does its own
 *   dot products). Chinchilla (Hoffmann et al. 2022, app. F) counts n = T for every position; with
 *   a causal mask position t sees t keys, so the mean over t = 1..T is n = (T + 1)/2 (`causal`,
 *   the default, what the kernels here compute); `full` gives the Chinchilla / PaLM figure;
 * - the LM head costs 2·C·V per token whether or not it is tied; embedding lookups cost nothing.
 * So forward ≈ 2N + 2·L·A·(T + 1) + 2·C·V, Kaplan's C_forward = 2N + 2·n_layer·n_ctx·d_attn with
 * the causal average made explicit.
 *
 * Training (backward ≈ 2 × forward: one matmul for the gradient w.r.t. the activations, one for
 * the gradient w.r.t. the weights, each the size of the forward one):
 * - full fine-tuning: 3 × forward, hence Kaplan's 6N;
 * - LoRA (Hu et al. 2021): the forward runs the frozen base plus the adapters (x·Aᵀ·Bᵀ: 2·r·(in + out)
 *   per token per adapted module). The backward must still propagate activation gradients through
 *   every base layer down to the lowest adapter (≈ 1 × base forward) but computes no base weight
 *   gradients; the adapters get both (2 × LoRA forward). Total ≈ 2·F_base + 3·F_lora, i.e. about
 *   2/3 of full fine-tuning, which is where the LoRA paper's training speed-up comes from.
 *   (Activation gradients below the lowest adapted layer are not needed either; counting them
 *   anyway keeps the figure a slight over-estimate only when the first blocks carry no adapter.)
 * - DoRA (Liu et al. 2024) adds, per adapted module and per forward pass, the merged weight
 *   W + s·B·A (a `[out, r]·[r, in]` product, 2·r·in·out) whose row norms scale the output. The norm
 *   is detached (PEFT, paper §4.3), so it has no backward; it is shared by every token of the pass,
 *   so per token it is Σ 2·r·in·out / tokens per forward. It is model FLOPs: DoRA's output needs it.
 *
 * These are *model* FLOPs (PaLM, Chowdhery et al. 2022, app. B): recomputation under activation
 * checkpointing and dequantising quantized base weights are work the hardware does but the model
 * does not need, and they are excluded, so MFU stays comparable across those settings.
 */

export interface FlopsOptions {
  /** Tokens per sequence the model is run on (context length T). */
  seqLen: number;
  /** `causal` (default): mean over positions of a causal mask; `full`: every query sees T keys. */
  attention?: 'causal' | 'full';
}

export interface ForwardFlops {
  /** 2·in·out summed over every linear layer of every block. */
  linear: number;
  /** Attention scores and weighted values, all layers. */
  attention: number;
  /** 2·hiddenSize·vocabSize. */
  lmHead: number;
  total: number;
}

function checkSeqLen(seqLen: number): void {
  if (!Number.isInteger(seqLen) || seqLen < 1) throw new RangeError(`seqLen must be an integer ≥ 1, got ${seqLen}`);
}

/** Forward FLOPs per token of the base model (no adapters). */
export function forwardFlopsPerToken(config: ModelConfig, opts: FlopsOptions): ForwardFlops {
  checkSeqLen(opts.seqLen);
  const perBlock = blockLinearModules(config).reduce((sum, m) => sum + 2 * m.inFeatures * m.outFeatures, 0);
  const linear = perBlock * config.numLayers;
  const keysPerQuery = (opts.attention ?? 'causal') === 'causal' ? (opts.seqLen + 1) / 2 : opts.seqLen;
  const attentionWidth = config.numHeads * config.headDim;
  const attention = config.numLayers * 2 * 2 * keysPerQuery * attentionWidth;
  const lmHead = 2 * config.hiddenSize * config.vocabSize;
  return { linear, attention, lmHead, total: linear + attention + lmHead };
}

/** Forward FLOPs per token added by the adapters: Σ 2·r·(in + out) over the targeted modules (r per module with rank_pattern). */
export function loraForwardFlopsPerToken(config: ModelConfig, lora: LoraShape): number {
  return resolveTargetModules(config, lora.targetModules).reduce(
    (sum, m) => sum + 2 * (lora.ranks?.get(m.name) ?? lora.r) * (m.inFeatures + m.outFeatures),
    0,
  );
}

/**
 * DoRA's weight-norm FLOPs per token: Σ 2·r·in·out over the targeted modules (the `B·A` product of
 * each forward pass), divided by the tokens of one pass; 0 without DoRA.
 */
export function doraNormFlopsPerToken(config: ModelConfig, lora: LoraShape): number {
  if (!lora.dora) return 0;
  const tokens = lora.dora.tokensPerForward;
  if (!(tokens > 0) || !Number.isFinite(tokens)) throw new RangeError(`DoRA tokens per forward pass must be finite and > 0, got ${tokens}`);
  const perPass = resolveTargetModules(config, lora.targetModules).reduce(
    (sum, m) => sum + 2 * (lora.ranks?.get(m.name) ?? lora.r) * m.inFeatures * m.outFeatures,
    0,
  );
  return perPass / tokens;
}

export type TrainingMethod = { kind: 'full' } | ({ kind: 'lora' } & LoraShape);

export interface TrainingFlops {
  /** Forward FLOPs of the base model. */
  baseForward: number;
  /** Forward FLOPs of the adapters (0 for full fine-tuning). */
  loraForward: number;
  /** DoRA's detached weight norm, per token (forward only; 0 without DoRA). */
  doraNorm: number;
  /** Forward pass as trained: base + adapters. */
  forward: number;
  backward: number;
  /** forward + backward, per token. */
  total: number;
}

/** Training FLOPs per token (one forward and one backward; the optimizer step is O(params), not per token). */
export function trainingFlopsPerToken(config: ModelConfig, opts: FlopsOptions & { method: TrainingMethod }): TrainingFlops {
  const baseForward = forwardFlopsPerToken(config, opts).total;
  if (opts.method.kind === 'full') {
    return { baseForward, loraForward: 0, doraNorm: 0, forward: baseForward, backward: 2 * baseForward, total: 3 * baseForward };
  }
  const loraForward = loraForwardFlopsPerToken(config, opts.method);
  const doraNorm = doraNormFlopsPerToken(config, opts.method);
  const forward = baseForward + loraForward + doraNorm;
  const backward = baseForward + 2 * loraForward;
  return { baseForward, loraForward, doraNorm, forward, backward, total: forward + backward };
}

/** FLOP/s achieved by a run: model FLOPs per token × tokens per second. */
export function achievedFlopsPerSecond(flopsPerToken: number, tokensPerSecond: number): number {
  return flopsPerToken * tokensPerSecond;
}

/**
 * Model FLOPs utilisation (PaLM): achieved model FLOP/s over the peak FLOP/s of the device, a
 * fraction in [0, 1] for a sound peak. The peak here is the backend's measured matmul peak, not
 * a datasheet figure, so MFU > 1 is possible on a noisy measurement and is returned as is.
 */
export function mfu(achievedFlopsPerS: number, peakFlopsPerS: number): number {
  if (!(peakFlopsPerS > 0) || !Number.isFinite(peakFlopsPerS)) {
    throw new RangeError(`mfu: peak FLOP/s must be finite and > 0, got ${peakFlopsPerS}`);
  }
  if (!(achievedFlopsPerS >= 0)) throw new RangeError(`mfu: achieved FLOP/s must be ≥ 0, got ${achievedFlopsPerS}`);
  return achievedFlopsPerS / peakFlopsPerS;
}
