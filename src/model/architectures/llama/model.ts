import * as tf from '@tensorflow/tfjs-core';
import '../../util/tfjs-setup.js';
import type { CausalLM, ForwardInput, ForwardOutput, KvCache } from '../causal-lm.js';
import { activation } from '../layers/activations.js';
import { buildAttentionMask, mergeHeads, scaledDotProductAttention, splitHeads } from '../layers/attention.js';
import { Linear, type ForwardContext } from '../layers/linear.js';
import { rmsNorm } from '../layers/norms.js';
import { applyRope, ropeCosSin } from '../layers/rope.js';
import { denseWeightToHost, toHost, WeightReader } from '../layers/weights.js';
import type { HostTensor, ModelConfig } from '../types.js';
import { defaultPositions, embed } from './embedding.js';

interface LlamaBlock {
  inputNorm: tf.Tensor1D;
  postNorm: tf.Tensor1D;
  q: Linear;
  k: Linear;
  v: Linear;
  o: Linear;
  gate: Linear;
  up: Linear;
  down: Linear;
}

/**
 * Llama-family decoder (llama, mistral, qwen2), following HF LlamaForCausalLM:
 * x = x + attn(rmsnorm(x)); x = x + mlp(rmsnorm(x)); mlp = down(act(gate(x)) · up(x)).
 */
export class LlamaModel implements CausalLM {
  readonly linears = new Map<string, Linear>();
  readonly outputHeadName = 'lm_head';
  private readonly embedTokens: tf.Tensor2D;
  private readonly blocks: LlamaBlock[] = [];
  private readonly finalNorm: tf.Tensor1D;
  private readonly lmHead: Linear;
  private readonly act: (x: tf.Tensor) => tf.Tensor;
  private readonly trainable: boolean;

  constructor(readonly config: ModelConfig, reader: WeightReader, opts: { trainable: boolean }) {
    const c = config;
    this.trainable = opts.trainable;
    this.act = activation(c.hiddenAct);
    const C = c.hiddenSize;
    const qOut = c.numHeads * c.headDim;
    const kvOut = c.numKvHeads * c.headDim;
    this.embedTokens = reader.take('model.embed_tokens.weight', [c.vocabSize, C]) as tf.Tensor2D;
    let index = 0;
    const linear = (name: string, inF: number, outF: number, bias: boolean): Linear => {
      const w = reader.take(`${name}.weight`, [outF, inF]) as tf.Tensor2D;
      const b = bias ? (reader.take(`${name}.bias`, [outF]) as tf.Tensor1D) : null;
      const l = new Linear(name, inF, outF, w, b, index++);
      this.linears.set(name, l);
      return l;
    };
    for (let i = 0; i < c.numLayers; i++) {
      const p = `model.layers.${i}`;
      this.blocks.push({
        inputNorm: reader.take(`${p}.input_layernorm.weight`, [C]) as tf.Tensor1D,
        q: linear(`${p}.self_attn.q_proj`, C, qOut, c.attentionBias),
        k: linear(`${p}.self_attn.k_proj`, C, kvOut, c.attentionBias),
        v: linear(`${p}.self_attn.v_proj`, C, kvOut, c.attentionBias),
        o: linear(`${p}.self_attn.o_proj`, qOut, C, c.outputBias),
        postNorm: reader.take(`${p}.post_attention_layernorm.weight`, [C]) as tf.Tensor1D,
        gate: linear(`${p}.mlp.gate_proj`, C, c.intermediateSize, c.mlpBias),
        up: linear(`${p}.mlp.up_proj`, C, c.intermediateSize, c.mlpBias),
        down: linear(`${p}.mlp.down_proj`, c.intermediateSize, C, c.mlpBias),
      });
    }
    this.finalNorm = reader.take('model.norm.weight', [C]) as tf.Tensor1D;
    if (c.tieWordEmbeddings) {
      // Tied head: the same tensor as the embedding (not a copy), as in HF.
      this.lmHead = new Linear('lm_head', C, c.vocabSize, this.embedTokens, null, index++);
      if (reader.has('lm_head.weight')) reader.host('lm_head.weight', [c.vocabSize, C]);
    } else {
      this.lmHead = linear('lm_head', C, c.vocabSize, false);
    }
    this.linears.set('lm_head', this.lmHead);
  }

  forward(input: ForwardInput): ForwardOutput {
    const c = this.config;
    const [B, T] = input.inputIds.shape;
    const past = input.cache?.length ?? 0;
    const ctx: ForwardContext = { training: input.training ?? false, dropoutSeed: input.dropoutSeed };
    const positions = input.positionIds ?? defaultPositions(B, T, past);
    const { cos, sin } = ropeCosSin(positions, c.headDim, c.ropeTheta);
    const mask = buildAttentionMask(input.attentionMask ?? null, B, T, past);
    const newCache: KvCache | undefined = input.useCache ? { layers: [], length: past + T } : undefined;

    let x: tf.Tensor = embed(this.embedTokens, input.inputIds, this.trainable); // [B, T, C]
    this.blocks.forEach((blk, i) => {
      const h = rmsNorm(x, blk.inputNorm, c.normEps);
      const q = applyRope(splitHeads(blk.q.apply(h, ctx), c.numHeads, c.headDim), cos, sin); // [B, H, T, d]
      let k = applyRope(splitHeads(blk.k.apply(h, ctx), c.numKvHeads, c.headDim), cos, sin); // [B, Hkv, T, d]
      let v = splitHeads(blk.v.apply(h, ctx), c.numKvHeads, c.headDim); // [B, Hkv, T, d]
      const cached = input.cache?.layers[i];
      if (cached) {
        k = tf.concat([cached.k, k], 2); // [B, Hkv, S, d]
        v = tf.concat([cached.v, v], 2);
      }
      if (newCache) newCache.layers.push({ k, v });
      const attn = scaledDotProductAttention(q, k, v, mask); // [B, H, T, d]
      x = tf.add(x, blk.o.apply(mergeHeads(attn), ctx));
      const h2 = rmsNorm(x, blk.postNorm, c.normEps);
      const mlp = blk.down.apply(tf.mul(this.act(blk.gate.apply(h2, ctx)), blk.up.apply(h2, ctx)), ctx);
      x = tf.add(x, mlp);
    });
    const logits = this.lmHead.apply(rmsNorm(x, this.finalNorm, c.normEps), ctx) as tf.Tensor3D; // [B, T, V]
    return { logits, cache: newCache };
  }

  exportTensors(): Map<string, HostTensor> {
    const out = new Map<string, HostTensor>();
    out.set('model.embed_tokens.weight', toHost(this.embedTokens));
    this.blocks.forEach((blk, i) => {
      out.set(`model.layers.${i}.input_layernorm.weight`, toHost(blk.inputNorm));
      out.set(`model.layers.${i}.post_attention_layernorm.weight`, toHost(blk.postNorm));
    });
    for (const [name, l] of this.linears) {
      if (name === 'lm_head' && this.config.tieWordEmbeddings) continue;
      out.set(`${name}.weight`, denseWeightToHost(l.weight));
      if (l.bias) out.set(`${name}.bias`, toHost(l.bias));
    }
    out.set('model.norm.weight', toHost(this.finalNorm));
    return out;
  }

  baseVariables(): tf.Variable[] {
    if (!this.trainable) return [];
    const all: tf.Tensor[] = [this.embedTokens, this.finalNorm];
    for (const blk of this.blocks) all.push(blk.inputNorm, blk.postNorm);
    for (const [name, l] of this.linears) {
      if (name === 'lm_head' && this.config.tieWordEmbeddings) continue;
      all.push(l.weight as tf.Tensor);
      if (l.bias) all.push(l.bias);
    }
    return all as tf.Variable[];
  }

  dispose(): void {
    for (const [name, l] of this.linears) {
      if (name === 'lm_head' && this.config.tieWordEmbeddings) {
        l.lora?.A.dispose();
        l.lora?.B.dispose();
        continue;
      }
      l.dispose();
    }
    this.embedTokens.dispose();
    this.finalNorm.dispose();
    for (const blk of this.blocks) {
      blk.inputNorm.dispose();
      blk.postNorm.dispose();
    }
  }
}
