import * as tf from '@tensorflow/tfjs-core';
import '../../util/tfjs-setup.js';
import type { CausalLM, ForwardInput, ForwardOutput, KvCache } from '../causal-lm.js';
import { activation } from '../layers/activations.js';
import { buildAttentionMask, mergeHeads, scaledDotProductAttention, splitHeads } from '../layers/attention.js';
import { Linear, type ForwardContext } from '../layers/linear.js';
import { layerNorm } from '../layers/norms.js';
import { denseWeightToHost, toHost, WeightReader } from '../layers/weights.js';
import type { HostTensor, ModelConfig } from '../types.js';
import { defaultPositions, embed } from './embedding.js';

interface Gpt2Block {
  ln1: { w: tf.Tensor1D; b: tf.Tensor1D };
  ln2: { w: tf.Tensor1D; b: tf.Tensor1D };
  cAttn: Linear; // fused q,k,v: C → 3C
  attnProj: Linear;
  cFc: Linear;
  mlpProj: Linear;
}

/** Linear modules of GPT-2 are Conv1D layers whose weights are stored [in, out]. */
const CONV1D_SUFFIXES = ['attn.c_attn', 'attn.c_proj', 'mlp.c_fc', 'mlp.c_proj'];

export function isConv1dName(name: string): boolean {
  return CONV1D_SUFFIXES.some((s) => name.endsWith(s));
}

/**
 * GPT-2 following HF GPT2LMHeadModel: learned positions, pre-LayerNorm blocks,
 * x = x + attn(ln_1(x)); x = x + mlp(ln_2(x)); head tied to wte.
 */
export class Gpt2Model implements CausalLM {
  readonly linears = new Map<string, Linear>();
  readonly outputHeadName = 'lm_head';
  private readonly wte: tf.Tensor2D;
  private readonly wpe: tf.Tensor2D;
  private readonly blocks: Gpt2Block[] = [];
  private readonly lnF: { w: tf.Tensor1D; b: tf.Tensor1D };
  private readonly lmHead: Linear;
  private readonly act: (x: tf.Tensor) => tf.Tensor;
  private readonly trainable: boolean;

  constructor(readonly config: ModelConfig, reader: WeightReader, opts: { trainable: boolean }) {
    const c = config;
    const C = c.hiddenSize;
    this.trainable = opts.trainable;
    this.act = activation(c.hiddenAct);
    this.wte = reader.take('transformer.wte.weight', [c.vocabSize, C]) as tf.Tensor2D;
    this.wpe = reader.take('transformer.wpe.weight', [c.maxPositionEmbeddings, C]) as tf.Tensor2D;
    const norm = (name: string) => ({
      w: reader.take(`${name}.weight`, [C]) as tf.Tensor1D,
      b: reader.take(`${name}.bias`, [C]) as tf.Tensor1D,
    });
    let index = 0;
    const conv1d = (name: string, inF: number, outF: number): Linear => {
      const w = reader.takeTransposed(`${name}.weight`, [inF, outF]); // stored [in, out] → [out, in]
      const b = reader.take(`${name}.bias`, [outF]) as tf.Tensor1D;
      const l = new Linear(name, inF, outF, w, b, index++);
      this.linears.set(name, l);
      return l;
    };
    for (let i = 0; i < c.numLayers; i++) {
      const p = `transformer.h.${i}`;
      this.blocks.push({
        ln1: norm(`${p}.ln_1`),
        cAttn: conv1d(`${p}.attn.c_attn`, C, 3 * C),
        attnProj: conv1d(`${p}.attn.c_proj`, C, C),
        ln2: norm(`${p}.ln_2`),
        cFc: conv1d(`${p}.mlp.c_fc`, C, c.intermediateSize),
        mlpProj: conv1d(`${p}.mlp.c_proj`, c.intermediateSize, C),
      });
    }
    this.lnF = norm('transformer.ln_f');
    this.lmHead = new Linear('lm_head', C, c.vocabSize, this.wte, null, index++);
    if (reader.has('lm_head.weight')) reader.host('lm_head.weight', [c.vocabSize, C]);
    this.linears.set('lm_head', this.lmHead);
  }

  forward(input: ForwardInput): ForwardOutput {
    const c = this.config;
    const C = c.hiddenSize;
    const [B, T] = input.inputIds.shape;
    const past = input.cache?.length ?? 0;
    const ctx: ForwardContext = { training: input.training ?? false, dropoutSeed: input.dropoutSeed };
    const positions = input.positionIds ?? defaultPositions(B, T, past);
    const mask = buildAttentionMask(input.attentionMask ?? null, B, T, past);
    const newCache: KvCache | undefined = input.useCache ? { layers: [], length: past + T } : undefined;

    let x: tf.Tensor = tf.add(
      embed(this.wte, input.inputIds, this.trainable),
      embed(this.wpe, positions, this.trainable),
    ); // [B, T, C]
    this.blocks.forEach((blk, i) => {
      const h = layerNorm(x, blk.ln1.w, blk.ln1.b, c.normEps);
      const [q, k0, v0] = tf.split(blk.cAttn.apply(h, ctx), [C, C, C], -1); // each [B, T, C]
      let k = splitHeads(k0, c.numHeads, c.headDim); // [B, H, T, d]
      let v = splitHeads(v0, c.numHeads, c.headDim);
      const cached = input.cache?.layers[i];
      if (cached) {
        k = tf.concat([cached.k, k], 2); // [B, H, S, d]
        v = tf.concat([cached.v, v], 2);
      }
      if (newCache) newCache.layers.push({ k, v });
      const attn = scaledDotProductAttention(splitHeads(q, c.numHeads, c.headDim), k, v, mask);
      x = tf.add(x, blk.attnProj.apply(mergeHeads(attn), ctx));
      const h2 = layerNorm(x, blk.ln2.w, blk.ln2.b, c.normEps);
      x = tf.add(x, blk.mlpProj.apply(this.act(blk.cFc.apply(h2, ctx)), ctx));
    });
    const logits = this.lmHead.apply(layerNorm(x, this.lnF.w, this.lnF.b, c.normEps), ctx) as tf.Tensor3D;
    return { logits, cache: newCache };
  }

  exportTensors(): Map<string, HostTensor> {
    const out = new Map<string, HostTensor>();
    out.set('transformer.wte.weight', toHost(this.wte));
    out.set('transformer.wpe.weight', toHost(this.wpe));
    this.blocks.forEach((blk, i) => {
      for (const [n, ln] of [['ln_1', blk.ln1], ['ln_2', blk.ln2]] as const) {
        out.set(`transformer.h.${i}.${n}.weight`, toHost(ln.w));
        out.set(`transformer.h.${i}.${n}.bias`, toHost(ln.b));
      }
    });
    for (const [name, l] of this.linears) {
      if (name === 'lm_head') continue;
      out.set(`${name}.weight`, denseWeightToHost(l.weight, true)); // back to [in, out]
      if (l.bias) out.set(`${name}.bias`, toHost(l.bias));
    }
    out.set('transformer.ln_f.weight', toHost(this.lnF.w));
    out.set('transformer.ln_f.bias', toHost(this.lnF.b));
    return out;
  }

  baseVariables(): tf.Variable[] {
    if (!this.trainable) return [];
    const all: tf.Tensor[] = [this.wte, this.wpe, this.lnF.w, this.lnF.b];
    for (const blk of this.blocks) all.push(blk.ln1.w, blk.ln1.b, blk.ln2.w, blk.ln2.b);
    for (const [name, l] of this.linears) {
      if (name === 'lm_head') continue;
      all.push(l.weight as tf.Tensor);
      if (l.bias) all.push(l.bias);
    }
    return all as tf.Variable[];
  }

  dispose(): void {
    for (const [name, l] of this.linears) {
      if (name === 'lm_head') {
        l.lora?.A.dispose();
        l.lora?.B.dispose();
        continue;
      }
      l.dispose();
    }
    for (const t of [this.wte, this.wpe, this.lnF.w, this.lnF.b]) t.dispose();
    for (const blk of this.blocks) for (const t of [blk.ln1.w, blk.ln1.b, blk.ln2.w, blk.ln2.b]) t.dispose();
  }
}
