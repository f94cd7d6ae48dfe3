import type { VocabTable } from '../../layers/vocab-chunks.js';
import * as tf from '@tensorflow/tfjs-core';
import '../../../util/tfjs-setup.js';
import type { ForwardInput, ForwardOutput, KvCache } from '../../causal-lm.js';
import { activation, gatedProduct } from '../../layers/activations.js';
import { buildAttentionMask, mergeHeads, scaledDotProductAttention, splitHeads } from '../../layers/attention.js';
import type { ForwardContext, Linear } from '../../layers/linear.js';
import { addRmsNormResidual, rmsNorm, rmsNormOffset, rmsNormResidual } from '../../layers/norms.js';
import { fusedSelfAttention } from '../../layers/fused-ops.js';
import { applyRope, ropeTables, type RopeTables } from '../../layers/rope.js';
import type { WeightReader } from '../../layers/weights.js';
import type { ModelConfig } from '../../types.js';
import type { BuildOptions, LinearSpec } from '../spec.js';
import { embed } from './embedding.js';
import { ParameterizedModel } from './parameters.js';

/** What distinguishes the pre-norm RoPE decoders that share this code. */
export interface RopeDecoderVariant {
  /** Gemma stores RMSNorm gains as offsets from 1: `x·(1 + w)`. */
  normOffset?: boolean;
  /** Gemma multiplies the embeddings by √hidden (rounded to the float32 the model runs in). */
  scaleEmbeddings?: boolean;
  /** Activation of the gated MLP (default: config.hiddenAct). */
  activation?: string;
}

interface Block {
  inputNorm: tf.Tensor1D;
  postNorm: tf.Tensor1D;
  linears: Record<string, Linear>;
}

/**
 * The Llama-style decoder (llama, mistral, qwen2; phi3 and gemma with their variants), following
 * HF LlamaForCausalLM: x = x + attn(norm(x)); x = x + mlp(norm(x)); mlp = down(act(gate(x)) · up(x)).
 * Attention projections are q_proj/k_proj/v_proj or one fused qkv_proj (phi3, split q|k|v);
 * the MLP's gate and up are gate_proj/up_proj or one fused gate_up_proj (phi3, split gate|up).
 */
export class RopeDecoder extends ParameterizedModel {
  private readonly embedTokens: VocabTable;
  private readonly blocks: Block[] = [];
  private readonly finalNorm: tf.Tensor1D;
  private readonly lmHead: Linear;
  private readonly act: (x: tf.Tensor) => tf.Tensor;
  private readonly norm: (x: tf.Tensor, w: tf.Tensor1D, eps: number) => tf.Tensor;
  private readonly normOffset: boolean;
  private readonly embedScale: number;

  constructor(
    readonly config: ModelConfig,
    reader: WeightReader,
    opts: BuildOptions,
    blockLinears: LinearSpec[],
    blockPrefix: (layer: number) => string,
    variant: RopeDecoderVariant = {},
  ) {
    super(reader, opts);
    const c = config;
    this.act = activation(variant.activation ?? c.hiddenAct);
    this.norm = variant.normOffset ? rmsNormOffset : rmsNorm;
    this.normOffset = variant.normOffset ?? false;
    this.embedScale = variant.scaleEmbeddings ? Math.fround(Math.sqrt(c.hiddenSize)) : 1;
    const C = c.hiddenSize;
    const embName = 'model.embed_tokens.weight';
    this.embedTokens = this.params.vocabTable(embName, [c.vocabSize, C]);
    for (let i = 0; i < c.numLayers; i++) {
      const p = blockPrefix(i);
      const inputNorm = this.params.tensor(`${p}.input_layernorm.weight`, [C]) as tf.Tensor1D;
      const linears = this.params.block(p, blockLinears);
      const postNorm = this.params.tensor(`${p}.post_attention_layernorm.weight`, [C]) as tf.Tensor1D;
      this.blocks.push({ inputNorm, postNorm, linears });
    }
    this.finalNorm = this.params.tensor('model.norm.weight', [C]) as tf.Tensor1D;
    this.lmHead = this.params.head(c, this.embedTokens, embName);
  }

  private qkv(l: Record<string, Linear>, h: tf.Tensor, ctx: ForwardContext): [tf.Tensor, tf.Tensor, tf.Tensor] {
    const c = this.config;
    const fused = l['self_attn.qkv_proj'];
    if (fused) {
      const kv = c.numKvHeads * c.headDim;
      return tf.split(fused.apply(h, ctx), [c.numHeads * c.headDim, kv, kv], -1) as [tf.Tensor, tf.Tensor, tf.Tensor];
    }
    return [l['self_attn.q_proj'].apply(h, ctx), l['self_attn.k_proj'].apply(h, ctx), l['self_attn.v_proj'].apply(h, ctx)];
  }

  private gateUp(l: Record<string, Linear>, h: tf.Tensor, ctx: ForwardContext): [tf.Tensor, tf.Tensor] {
    const fused = l['mlp.gate_up_proj'];
    if (fused) {
      const I = this.config.intermediateSize;
      return tf.split(fused.apply(h, ctx), [I, I], -1) as [tf.Tensor, tf.Tensor];
    }
    return [l['mlp.gate_proj'].apply(h, ctx), l['mlp.up_proj'].apply(h, ctx)];
  }

  /** Multi-head attention from the projections to the merged heads `[B, T, H·d]`, reading and extending the KV cache. */
  private attention(q0: tf.Tensor, k0: tf.Tensor, v0: tf.Tensor, rope: RopeTables, mask: tf.Tensor, cached: { k: tf.Tensor; v: tf.Tensor } | undefined, newCache: KvCache | undefined): tf.Tensor {
    const c = this.config;
    const q = applyRope(splitHeads(q0, c.numHeads, c.headDim), rope); // [B, H, T, d]
    let k = applyRope(splitHeads(k0, c.numKvHeads, c.headDim), rope); // [B, Hkv, T, d]
    let v = splitHeads(v0, c.numKvHeads, c.headDim); // [B, Hkv, T, d]
    if (cached) {
      k = tf.concat([cached.k, k], 2); // [B, Hkv, S, d]
      v = tf.concat([cached.v, v], 2);
    }
    if (newCache) newCache.layers.push({ k, v });
    return mergeHeads(scaledDotProductAttention(q, k, v, mask)); // [B, T, H·d]
  }

  forward(input: ForwardInput): ForwardOutput {
    const c = this.config;
    const [B, T] = input.inputIds.shape;
    const past = input.cache?.length ?? 0;
    const ctx: ForwardContext = { training: input.training ?? false, dropoutSeed: input.dropoutSeed };
    const rope = ropeTables(input.positionIds, { T, past }, c.rotaryDim ?? c.headDim, c.ropeTheta, this.constants);
    const mask = buildAttentionMask(input.attentionMask ?? null, B, T, past, c.slidingWindow, this.constants);
    const newCache: KvCache | undefined = input.useCache ? { layers: [], length: past + T } : undefined;

    let x: tf.Tensor = embed(this.embedTokens, input.inputIds, this.trainable); // [B, T, C]
    if (this.embedScale !== 1) x = tf.mul(x, this.embedScale);
    // The residual stream is x + delta (delta: the last sublayer's output, not yet added): each
    // residual add is done by the norm that reads its sum (norms.ts addRmsNormResidual: one fused
    // op where the backend has it), which returns the sum for the next residual add to read.
    let delta: tf.Tensor | null = null;
    const norm = (w: tf.Tensor1D): [tf.Tensor, tf.Tensor] =>
      delta ? addRmsNormResidual(x, delta, w, c.normEps, this.normOffset) : rmsNormResidual(x, w, c.normEps, this.normOffset);
    this.blocks.forEach((blk, i) => {
      const l = blk.linears;
      const [h, xa] = norm(blk.inputNorm);
      const [q0, k0, v0] = this.qkv(l, h, ctx);
      // Without a KV cache, one fused op where the backend has it (fused-ops.ts); else op by op.
      const fused = input.cache || newCache ? null : fusedSelfAttention(q0, k0, v0, rope, mask, c.numHeads, c.numKvHeads, c.headDim);
      [x, delta] = [xa, l['self_attn.o_proj'].apply(fused ?? this.attention(q0, k0, v0, rope, mask, input.cache?.layers[i], newCache), ctx)];
      const [h2, xm] = norm(blk.postNorm);
      const [gate, up] = this.gateUp(l, h2, ctx);
      [x, delta] = [xm, l['mlp.down_proj'].apply(gatedProduct(this.act, gate, up), ctx)];
    });
    if (delta) x = tf.add(x, delta);
    const logits = this.lmHead.apply(this.norm(x, this.finalNorm, c.normEps), ctx) as tf.Tensor3D; // [B, T, V]
    return { logits, cache: newCache };
  }
}
