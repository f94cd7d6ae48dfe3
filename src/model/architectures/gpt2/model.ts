import type { VocabTable } from '../../layers/vocab-chunks.js';
import * as tf from '@tensorflow/tfjs-core';
import '../../../util/tfjs-setup.js';
import type { ForwardInput, ForwardOutput, KvCache } from '../../causal-lm.js';
import { activation } from '../../layers/activations.js';
import { buildAttentionMask, mergeHeads, scaledDotProductAttention, splitHeads } from '../../layers/attention.js';
import type { ForwardContext, Linear } from '../../layers/linear.js';
import { addLayerNormResidual, layerNorm, layerNormResidual } from '../../layers/norms.js';
import { fusedPackedSelfAttention } from '../../layers/fused-ops.js';
import type { WeightReader } from '../../layers/weights.js';
import type { ModelConfig } from '../../types.js';
import { defaultPositions } from '../../layers/positions.js';
import { embed } from '../shared/embedding.js';
import { ParameterizedModel, type Norm } from '../shared/parameters.js';
import type { BuildOptions, LinearSpec } from '../spec.js';

interface Gpt2Block {
  ln1: Norm;
  ln2: Norm;
  linears: Record<string, Linear>;
}

/**
 * GPT-2 following HF GPT2LMHeadModel: learned positions, pre-LayerNorm blocks,
 * x = x + attn(ln_1(x)); x = x + mlp(ln_2(x)); head tied to wte unless tie_word_embeddings is false.
 */
export class Gpt2Model extends ParameterizedModel {
  private readonly wte: VocabTable;
  private readonly wpe: tf.Tensor2D;
  private readonly blocks: Gpt2Block[] = [];
  private readonly lnF: Norm;
  private readonly lmHead: Linear;
  private readonly act: (x: tf.Tensor) => tf.Tensor;

  constructor(readonly config: ModelConfig, reader: WeightReader, opts: BuildOptions, blockLinears: LinearSpec[], blockPrefix: (i: number) => string) {
    super(reader, opts);
    const c = config;
    const C = c.hiddenSize;
    this.act = activation(c.hiddenAct);
    this.wte = this.params.vocabTable('transformer.wte.weight', [c.vocabSize, C]);
    this.wpe = this.params.tensor('transformer.wpe.weight', [c.maxPositionEmbeddings, C]) as tf.Tensor2D;
    const norm = (name: string): Norm => this.params.layerNorm(name, C);
    for (let i = 0; i < c.numLayers; i++) {
      const p = blockPrefix(i);
      const ln1 = norm(`${p}.ln_1`);
      const linears = this.params.block(p, blockLinears);
      this.blocks.push({ ln1, ln2: norm(`${p}.ln_2`), linears });
    }
    this.lnF = norm('transformer.ln_f');
    this.lmHead = this.params.head(c, this.wte, 'transformer.wte.weight');
  }

  forward(input: ForwardInput): ForwardOutput {
    const c = this.config;
    const C = c.hiddenSize;
    const [B, T] = input.inputIds.shape;
    const past = input.cache?.length ?? 0;
    const ctx: ForwardContext = { training: input.training ?? false, dropoutSeed: input.dropoutSeed };
    const positions = input.positionIds ?? defaultPositions(B, T, past);
    const mask = buildAttentionMask(input.attentionMask ?? null, B, T, past, null, this.constants);
    const newCache: KvCache | undefined = input.useCache ? { layers: [], length: past + T } : undefined;

    let x: tf.Tensor = tf.add(
      embed(this.wte, input.inputIds, this.trainable),
      embed(this.wpe, positions, this.trainable),
    ); // [B, T, C]
    // The residual stream is x + delta (delta: the last sublayer's output, not yet added): each
    // residual add is done by the LayerNorm that reads its sum (norms.ts addLayerNormResidual: one
    // fused op where the backend has it), which returns the sum for the next residual add to read.
    let delta: tf.Tensor | null = null;
    const norm = (n: Norm): [tf.Tensor, tf.Tensor] => (delta ? addLayerNormResidual(x, delta, n.w, n.b, c.normEps) : layerNormResidual(x, n.w, n.b, c.normEps));
    this.blocks.forEach((blk, i) => {
      const l = blk.linears;
      const [h, xa] = norm(blk.ln1);
      const qkv = l['attn.c_attn'].apply(h, ctx); // [B, T, 3C]: q | k | v
      // Without a KV cache, one fused op where the backend has it (fused-ops.ts); else op by op.
      const fused = input.cache || newCache ? null : fusedPackedSelfAttention(qkv, null, mask, c.numHeads, c.numHeads, c.headDim);
      [x, delta] = [xa, l['attn.c_proj'].apply(fused ?? this.attention(qkv, mask, input.cache?.layers[i], newCache), ctx)];
      const [h2, xm] = norm(blk.ln2);
      [x, delta] = [xm, l['mlp.c_proj'].apply(this.act(l['mlp.c_fc'].apply(h2, ctx)), ctx)];
    });
    if (delta) x = tf.add(x, delta);
    const logits = this.lmHead.apply(layerNorm(x, this.lnF.w, this.lnF.b, c.normEps), ctx) as tf.Tensor3D;
    return { logits, cache: newCache };
  }

  /** Multi-head attention from c_attn's output q | k | v to the merged heads `[B, T, C]`, reading and extending the KV cache. */
  private attention(qkv: tf.Tensor, mask: tf.Tensor, cached: { k: tf.Tensor; v: tf.Tensor } | undefined, newCache: KvCache | undefined): tf.Tensor {
    const c = this.config;
    const C = c.hiddenSize;
    const [q, k0, v0] = tf.split(qkv, [C, C, C], -1); // each [B, T, C]
    let k = splitHeads(k0, c.numHeads, c.headDim); // [B, H, T, d]
    let v = splitHeads(v0, c.numHeads, c.headDim);
    if (cached) {
      k = tf.concat([cached.k, k], 2); // [B, H, S, d]
      v = tf.concat([cached.v, v], 2);
    }
    if (newCache) newCache.layers.push({ k, v });
    return mergeHeads(scaledDotProductAttention(splitHeads(q, c.numHeads, c.headDim), k, v, mask));
  }
}
