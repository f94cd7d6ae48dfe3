import type { VocabTable } from '../../layers/vocab-chunks.js';
import * as tf from '@tensorflow/tfjs-core';
import '../../../util/tfjs-setup.js';
import type { ForwardInput, ForwardOutput, KvCache } from '../../causal-lm.js';
import { activation } from '../../layers/activations.js';
import { buildAttentionMask, mergeHeads, scaledDotProductAttention, splitHeads } from '../../layers/attention.js';
import type { ForwardContext, Linear } from '../../layers/linear.js';
import { addLayerNormResidual, layerNorm, layerNormResidual } from '../../layers/norms.js';
import { applyRope, ropeTables, type RopeTables } from '../../layers/rope.js';
import { fusedSelfAttention } from '../../layers/fused-ops.js';
import type { WeightReader } from '../../layers/weights.js';
import type { ModelConfig } from '../../types.js';
import { embed } from '../shared/embedding.js';
import { ParameterizedModel, type Norm } from '../shared/parameters.js';
import type { BuildOptions, LinearSpec } from '../spec.js';

interface PhiBlock {
  inputNorm: Norm;
  qNorm: Norm | null;
  kNorm: Norm | null;
  linears: Record<string, Linear>;
}

/**
 * Phi (Phi-1, Phi-1.5, Phi-2) following transformers' modeling_phi.py: one input_layernorm feeds
 * attention and MLP in parallel, x = x + attn(h) + mlp(h) with h = LayerNorm(x); q/k/v/dense
 * with biases; optional per-head LayerNorm of queries and keys (qk_layernorm) before RoPE; RoPE
 * on the first rotaryDim dimensions of each head only; mlp = fc2(gelu_new(fc1(h)));
 * final_layernorm; lm_head with a bias.
 */
export class PhiModel extends ParameterizedModel {
  private readonly embedTokens: VocabTable;
  private readonly blocks: PhiBlock[] = [];
  private readonly finalNorm: Norm;
  private readonly lmHead: Linear;
  private readonly act: (x: tf.Tensor) => tf.Tensor;

  constructor(readonly config: ModelConfig, reader: WeightReader, opts: BuildOptions, blockLinears: LinearSpec[], blockPrefix: (i: number) => string) {
    super(reader, opts);
    const c = config;
    const C = c.hiddenSize;
    this.act = activation(c.hiddenAct);
    const embName = 'model.embed_tokens.weight';
    this.embedTokens = this.params.vocabTable(embName, [c.vocabSize, C]);
    const norm = (name: string, size: number): Norm => this.params.layerNorm(name, size);
    for (let i = 0; i < c.numLayers; i++) {
      const p = blockPrefix(i);
      const inputNorm = norm(`${p}.input_layernorm`, C);
      const linears = this.params.block(p, blockLinears);
      const qNorm = c.qkLayernorm ? norm(`${p}.self_attn.q_layernorm`, c.headDim) : null;
      const kNorm = c.qkLayernorm ? norm(`${p}.self_attn.k_layernorm`, c.headDim) : null;
      this.blocks.push({ inputNorm, qNorm, kNorm, linears });
    }
    this.finalNorm = norm('model.final_layernorm', C);
    this.lmHead = this.params.head(c, this.embedTokens, embName);
  }

  forward(input: ForwardInput): ForwardOutput {
    const c = this.config;
    const eps = c.normEps;
    const [B, T] = input.inputIds.shape;
    const past = input.cache?.length ?? 0;
    const ctx: ForwardContext = { training: input.training ?? false, dropoutSeed: input.dropoutSeed };
    const rope = ropeTables(input.positionIds, { T, past }, c.rotaryDim ?? c.headDim, c.ropeTheta, this.constants); // [B, 1, T, rotaryDim]
    const mask = buildAttentionMask(input.attentionMask ?? null, B, T, past, null, this.constants);
    const newCache: KvCache | undefined = input.useCache ? { layers: [], length: past + T } : undefined;

    let x: tf.Tensor = embed(this.embedTokens, input.inputIds, this.trainable); // [B, T, C]
    // The residual stream is delta + x (delta: the last block's attn + mlp, not yet added): the add is
    // done by the next LayerNorm (norms.ts addLayerNormResidual: one fused op where the backend has it).
    let delta: tf.Tensor | null = null;
    this.blocks.forEach((blk, i) => {
      const l = blk.linears;
      const [h, xr] = delta ? addLayerNormResidual(delta, x, blk.inputNorm.w, blk.inputNorm.b, eps) : layerNormResidual(x, blk.inputNorm.w, blk.inputNorm.b, eps);
      const [q0, k0, v0] = [l['self_attn.q_proj'].apply(h, ctx), l['self_attn.k_proj'].apply(h, ctx), l['self_attn.v_proj'].apply(h, ctx)];
      // Without a KV cache or qk_layernorm, one fused op where the backend has it (fused-ops.ts); else op by op.
      const fused = input.cache || newCache || blk.qNorm ? null : fusedSelfAttention(q0, k0, v0, rope, mask, c.numHeads, c.numKvHeads, c.headDim);
      const attn = l['self_attn.dense'].apply(fused ?? this.attention(blk, q0, k0, v0, rope, mask, input.cache?.layers[i], newCache), ctx);
      const mlp = l['mlp.fc2'].apply(this.act(l['mlp.fc1'].apply(h, ctx)), ctx);
      [x, delta] = [xr, tf.add(attn, mlp)]; // attn_outputs + feed_forward_hidden_states + residual
    });
    if (delta) x = tf.add(delta, x);
    const logits = this.lmHead.apply(layerNorm(x, this.finalNorm.w, this.finalNorm.b, eps), ctx) as tf.Tensor3D;
    return { logits, cache: newCache };
  }

  /** Multi-head attention from the projections to the merged heads `[B, T, H·d]`, reading and extending the KV cache. */
  private attention(blk: PhiBlock, q0: tf.Tensor, k0: tf.Tensor, v0: tf.Tensor, rope: RopeTables, mask: tf.Tensor, cached: { k: tf.Tensor; v: tf.Tensor } | undefined, newCache: KvCache | undefined): tf.Tensor {
    const c = this.config;
    const eps = c.normEps;
    let q = splitHeads(q0, c.numHeads, c.headDim); // [B, H, T, d]
    let k = splitHeads(k0, c.numKvHeads, c.headDim); // [B, Hkv, T, d]
    let v = splitHeads(v0, c.numKvHeads, c.headDim);
    if (blk.qNorm && blk.kNorm) {
      q = layerNorm(q, blk.qNorm.w, blk.qNorm.b, eps);
      k = layerNorm(k, blk.kNorm.w, blk.kNorm.b, eps);
    }
    q = applyRope(q, rope);
    k = applyRope(k, rope);
    if (cached) {
      k = tf.concat([cached.k, k], 2); // [B, Hkv, S, d]
      v = tf.concat([cached.v, v], 2);
    }
    if (newCache) newCache.layers.push({ k, v });
    return mergeHeads(scaledDotProductAttention(q, k, v, mask));
  }
}
