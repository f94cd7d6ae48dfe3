/**
 * The parameters of one model as its architecture takes them from a checkpoint: plain tensors
 * (embeddings, norms) and linear layers built from the spec's LinearSpecs. Export, trainable
 * variables and disposal are the same for every architecture and live here.
 */
import * as tf from '@tensorflow/tfjs-core';
import '../../../util/tfjs-setup.js';
import { LoraStudyError } from '../../../util/errors.js';
import { ConstantCache } from '../../layers/constant-cache.js';
import { Linear } from '../../layers/linear.js';
import { VocabChunks, vocabChunkRows, type VocabTable } from '../../layers/vocab-chunks.js';
import { denseWeightToHost, toHost, type WeightReader } from '../../layers/weights.js';
import type { HostTensor, ModelConfig } from '../../types.js';
import type { CausalLM, ForwardInput, ForwardOutput } from '../../causal-lm.js';
import { HEAD_NAME, type BuildOptions, type LinearSpec } from '../spec.js';

/** config.json says the head is tied, but the checkpoint's lm_head.weight is not the embedding. */
export class TiedHeadMismatchError extends LoraStudyError {
  constructor(readonly tensorName: string, readonly embeddingName: string) {
    super(`config.json has tie_word_embeddings true, but the checkpoint's "${tensorName}" differs from "${embeddingName}"`, {
      hint: 'set "tie_word_embeddings": false in config.json if the model was trained with its own head',
    });
  }
}

/** A LayerNorm's gain and bias. */
export interface Norm {
  w: tf.Tensor1D;
  b: tf.Tensor1D;
}

export class ModelParameters {
  readonly linears = new Map<string, Linear>();
  private readonly plain = new Map<string, tf.Tensor>();
  /** Vocabulary tables split because one tensor would exceed the backend's binding limit. */
  private readonly chunked = new Map<string, VocabChunks>();
  private index = 0;

  constructor(private readonly reader: WeightReader, private readonly trainable: boolean) {}

  /** A non-linear parameter (embedding, norm gain or bias), stored and held in the same layout. */
  tensor(name: string, shape: number[]): tf.Tensor {
    const t = this.reader.take(name, shape);
    this.plain.set(name, t);
    return t;
  }

  /**
   * A `[vocab, hidden]` table (token embedding): one tensor, or row chunks when one tensor is
   * larger than the backend can bind (src/model/layers/vocab-chunks.ts).
   */
  vocabTable(name: string, shape: [number, number]): VocabTable {
    const rows = vocabChunkRows(...shape);
    if (rows === null) return this.tensor(name, shape) as tf.Tensor2D;
    const t = VocabChunks.fromHost(this.reader.host(name, shape).data, shape, rows, this.trainable);
    this.chunked.set(name, t);
    return t;
  }

  /** A LayerNorm `name` (`.weight` and `.bias`, both `[size]`). */
  layerNorm(name: string, size: number): Norm {
    return { w: this.tensor(`${name}.weight`, [size]) as tf.Tensor1D, b: this.tensor(`${name}.bias`, [size]) as tf.Tensor1D };
  }

  /** A linear layer `name` (its `.weight` and, when `spec.bias`, `.bias`). */
  linear(name: string, spec: Omit<LinearSpec, 'path'>): Linear {
    const headRows = name === HEAD_NAME ? vocabChunkRows(spec.outFeatures, spec.inFeatures) : null;
    const w =
      headRows !== null
        ? VocabChunks.fromHost(this.reader.host(`${name}.weight`, [spec.outFeatures, spec.inFeatures]).data, [spec.outFeatures, spec.inFeatures], headRows, this.trainable)
        : spec.layout === 'in_out'
        ? this.reader.takeTransposed(`${name}.weight`, [spec.inFeatures, spec.outFeatures])
        : (this.reader.take(`${name}.weight`, [spec.outFeatures, spec.inFeatures]) as tf.Tensor2D);
    const b = spec.bias ? (this.reader.take(`${name}.bias`, [spec.outFeatures]) as tf.Tensor1D) : null;
    const l = new Linear(name, spec.inFeatures, spec.outFeatures, w, b, this.index++, { layout: spec.layout });
    this.linears.set(name, l);
    return l;
  }

  /** Every linear of one block as the spec lists them, keyed by their path inside the block. */
  block(prefix: string, specs: LinearSpec[]): Record<string, Linear> {
    const out: Record<string, Linear> = {};
    for (const s of specs) out[s.path] = this.linear(`${prefix}.${s.path}`, s);
    return out;
  }

  /**
   * The output head, by transformers' rule: tied to the embedding (the same tensor) when
   * tie_word_embeddings is true, else its own `lm_head.weight` (and `lm_head.bias` for phi).
   */
  head(config: ModelConfig, embedding: VocabTable, embeddingName: string): Linear {
    const [V, C] = [config.vocabSize, config.hiddenSize];
    if (!config.tieWordEmbeddings) {
      return this.linear(HEAD_NAME, { inFeatures: C, outFeatures: V, bias: config.lmHeadBias ?? false, layout: 'out_in' });
    }
    const stored = `${HEAD_NAME}.weight`;
    if (this.reader.has(stored)) {
      // Some tied checkpoints store the shared tensor twice; accept it only when it is the same.
      const head = this.reader.host(stored, [V, C]).data;
      const emb = this.reader.host(embeddingName, [V, C]).data;
      for (let i = 0; i < head.length; i++) if (head[i] !== emb[i]) throw new TiedHeadMismatchError(stored, embeddingName);
    }
    // A head bias (phi) stays a parameter of its own, held (exported, trained) with the plain ones.
    const bias = config.lmHeadBias ? (this.tensor(`${HEAD_NAME}.bias`, [V]) as tf.Tensor1D) : null;
    const l = new Linear(HEAD_NAME, C, V, embedding, bias, this.index++, { tied: true });
    this.linears.set(HEAD_NAME, l);
    return l;
  }

  /** Every parameter in the checkpoint's names and layouts (a tied head is the embedding, not exported). */
  exportTensors(): Map<string, HostTensor> {
    const out = new Map<string, HostTensor>();
    for (const [name, t] of this.plain) out.set(name, toHost(t));
    for (const [name, t] of this.chunked) out.set(name, t.toHost());
    for (const [name, l] of this.linears) {
      if (l.tied) continue;
      out.set(`${name}.weight`, denseWeightToHost(l.weight, l.layout === 'in_out'));
      if (l.bias) out.set(`${name}.bias`, toHost(l.bias));
    }
    return out;
  }

  /** Base tensors that are trainable variables (full fine-tuning only; empty for LoRA). */
  baseVariables(): tf.Variable[] {
    if (!this.trainable) return [];
    const all: tf.Tensor[] = [...this.plain.values(), ...[...this.chunked.values()].flatMap((t) => t.chunks)];
    for (const l of this.linears.values()) {
      if (l.tied) continue;
      if (l.weight instanceof VocabChunks) all.push(...l.weight.chunks);
      else all.push(l.weight as tf.Tensor);
      if (l.bias) all.push(l.bias);
    }
    return all as tf.Variable[];
  }

  dispose(): void {
    for (const l of this.linears.values()) l.dispose();
    for (const t of this.plain.values()) t.dispose();
    for (const t of this.chunked.values()) t.dispose();
  }
}

/**
 * What every architecture's model shares: its parameters (linears by HF name, export in the
 * checkpoint's layout, trainable variables, disposal) and the output head's name. Subclasses
 * take their tensors through `params` and implement the forward pass.
 */
export abstract class ParameterizedModel implements CausalLM {
  readonly outputHeadName = HEAD_NAME;
  protected readonly params: ModelParameters;
  protected readonly trainable: boolean;
  /** Position ids, rotary tables and causal masks the forward pass reuses across calls. */
  protected readonly constants = new ConstantCache();
  abstract readonly config: ModelConfig;

  constructor(reader: WeightReader, opts: BuildOptions) {
    this.trainable = opts.trainable;
    this.params = new ModelParameters(reader, opts.trainable);
  }

  get linears(): Map<string, Linear> {
    return this.params.linears;
  }

  abstract forward(input: ForwardInput): ForwardOutput;

  exportTensors(): Map<string, HostTensor> {
    return this.params.exportTensors();
  }

  baseVariables(): tf.Variable[] {
    return this.params.baseVariables();
  }

  dispose(): void {
    this.constants.dispose();
    this.params.dispose();
  }
}
