import * as tf from '@tensorflow/tfjs-core';
import type { CausalLM } from '../model/causal-lm.js';
import type { Linear } from '../model/layers/linear.js';
import type { HostTensor } from '../model/types.js';
import { LoraStudyError } from '../util/errors.js';
import { rowNorms } from '../model/layers/dora.js';
import { gaussianA, kaimingUniformA, kaimingUniformB, oloraInit, pissaInit, zerosB, type BaseMutatingInit } from './init.js';
import { moduleLoraShape, mutatesBase, pissaNiter, type LoraConfig } from './lora-config.js';
import { loraModuleParams, planLora } from './lora-plan.js';
import { quantizeWeight } from './quantize/index.js';
import type { QuantizedWeight } from './quantize/types.js';

/** PEFT's parameter names: LoRA+ puts lora_B and 1-D parameters (the DoRA magnitude) in its "B" group. */
export type LoraParamKind = 'lora_A' | 'lora_B' | 'lora_magnitude_vector';

export interface AdapterValues {
  A: HostTensor;
  B: HostTensor;
  /** DoRA magnitude `[out]`. */
  magnitude?: HostTensor;
}

export interface InjectedLora {
  modules: string[];
  /** The only trainable variables of a LoRA run. */
  variables: tf.Variable[];
  /** What each of `variables` is, in the same order. */
  kinds: LoraParamKind[];
  trainableParams: number;
  config: LoraConfig;
  /**
   * A₀/B₀ of a PiSSA/OLoRA init (the values subtracted from the base), kept on the host so that
   * a saved adapter can be converted to a plain LoRA against the original base; null otherwise.
   */
  initial: Map<string, { A: Float32Array; B: Float32Array }> | null;
}


/**
 * Attaches LoRA weights to the linear layers selected by `target_modules` (mutates the model's
 * layers). Base weights stay untrained; PiSSA/OLoRA inits replace them by their residual, as PEFT
 * does. `initial` supplies A/B (and DoRA magnitude) values, loading an adapter, instead of the
 * initialiser.
 */
export function injectLora(model: CausalLM, cfg: LoraConfig, opts: { seed: number; initial?: Map<string, AdapterValues> }): InjectedLora {
  const names = opts.initial ? [...opts.initial.keys()] : planLora([...model.linears.values()], cfg, model.config.modelType, model.outputHeadName).modules;
  const variables: tf.Variable[] = [];
  const kinds: LoraParamKind[] = [];
  let trainableParams = 0;
  // PiSSA/OLoRA replace the base by its residual, also when loading such an adapter unconverted
  // (PEFT's from_pretrained reruns the init, then loads A/B over it).
  const mutating = mutatesBase(cfg.init_lora_weights);
  const initial = mutating && !opts.initial ? new Map<string, { A: Float32Array; B: Float32Array }>() : null;
  for (const name of names) {
    const layer: Linear | undefined = model.linears.get(name);
    if (!layer) throw new LoraStudyError(`adapter names module "${name}", which this model does not have`);
    if (layer.lora) throw new LoraStudyError(`module ${name} already has a LoRA adapter`);
    const { r, scale } = moduleLoraShape(cfg, name);
    const loaded = opts.initial?.get(name);
    let aData!: Float32Array;
    let bData!: Float32Array;
    if (mutating) {
      const init = baseMutatingInit(layer, cfg, r, scale, opts.seed);
      aData = init.A;
      bData = init.B;
      replaceBase(layer, init.residual);
      initial?.set(name, { A: init.A, B: init.B });
    }
    if (loaded) {
      aData = loaded.A.data;
      bData = loaded.B.data;
    } else if (!mutating) {
      const w = cfg.init_lora_weights;
      aData = (w === 'gaussian' ? gaussianA : kaimingUniformA)(r, layer.inFeatures, opts.seed, name);
      bData = w === false ? kaimingUniformB(layer.outFeatures, r, opts.seed, name) : zerosB(layer.outFeatures, r);
    }
    const A = variableFrom(aData, [r, layer.inFeatures]);
    const B = variableFrom(bData, [layer.outFeatures, r]);
    let magnitude: tf.Variable | null = null;
    if (cfg.use_dora) {
      // PEFT's DoraLinearLayer.update_layer: m starts at ‖W + s·B·A‖ per output row (= ‖W‖ when B = 0,
      // and the original W's norms after a PiSSA/OLoRA init), unless the adapter supplies it.
      magnitude = loaded?.magnitude
        ? variableFrom(loaded.magnitude.data, [layer.outFeatures])
        : tf.tidy(() => tf.variable(rowNorms(tf.add(layer.denseWeight(), tf.mul(tf.matMul(B, A), scale)) as tf.Tensor2D), true));
    }
    layer.lora = { A, B, r, scale, dropout: cfg.lora_dropout, magnitude };
    variables.push(A, B);
    kinds.push('lora_A', 'lora_B');
    if (magnitude) {
      variables.push(magnitude);
      kinds.push('lora_magnitude_vector');
    }
    trainableParams += loraModuleParams(layer, r, magnitude !== null);
  }
  return { modules: names, variables, kinds, trainableParams, config: cfg, initial };
}

function baseMutatingInit(layer: Linear, cfg: LoraConfig, r: number, scale: number, seed: number): BaseMutatingInit {
  const what = `init_lora_weights "${String(cfg.init_lora_weights)}" on ${layer.name}`;
  if (r > Math.min(layer.inFeatures, layer.outFeatures)) {
    throw new LoraStudyError(`${what}: rank ${r} exceeds min(in=${layer.inFeatures}, out=${layer.outFeatures}), the most singular vectors the weight has`, {
      hint: 'lower r (or its rank_pattern entry) for this module',
    });
  }
  if (layer.tied) {
    throw new LoraStudyError(`${what}: the output head shares its weight with the token embeddings, which a residual base would change too`, {
      hint: 'leave the output head out of target_modules, or use init_lora_weights: true',
    });
  }
  // A float32 base is host-made, so this read is synchronous on every backend; a quantized base is
  // dequantized on the backend, which WebGPU cannot read back synchronously.
  if (layer.quantized && tf.getBackend() === 'webgpu') {
    throw new LoraStudyError(`${what}: decomposing a quantized base needs a synchronous read of its dequantized weight, which the webgpu backend cannot do`, {
      hint: 'use --backend wasm, cpu or tensorflow for PiSSA/OLoRA on a quantized base, or quantization: fp32',
    });
  }
  const W = tf.tidy(() => layer.denseWeight().dataSync() as Float32Array);
  const dense = new Float32Array(W);
  const niter = pissaNiter(cfg.init_lora_weights);
  return cfg.init_lora_weights === 'olora'
    ? oloraInit(dense, layer.outFeatures, layer.inFeatures, r, scale)
    : pissaInit(dense, layer.outFeatures, layer.inFeatures, r, scale, niter, seed, layer.name);
}

/**
 * Replaces the frozen base by the residual. A quantized base is dequantized for the
 * decomposition and the residual quantized again in the same format (PEFT's advice for QPiSSA:
 * decompose in float32, then re-quantize the residual).
 */
function replaceBase(layer: Linear, residual: Float32Array): void {
  const old = layer.weight;
  const host = { shape: [layer.outFeatures, layer.inFeatures], data: residual };
  layer.weight = old instanceof tf.Tensor ? tf.tensor2d(residual, [layer.outFeatures, layer.inFeatures]) : quantizeWeight(host, (old as QuantizedWeight).format);
  old.dispose();
}

function variableFrom(data: Float32Array, shape: number[]): tf.Variable {
  const t = tf.tensor(data, shape);
  const v = tf.variable(t, true);
  t.dispose();
  return v;
}

/** Removes and disposes every adapter, leaving the base model as loaded (a PiSSA/OLoRA residual base stays). */
export function removeLora(model: CausalLM): void {
  for (const layer of model.linears.values()) {
    if (!layer.lora) continue;
    layer.lora.A.dispose();
    layer.lora.B.dispose();
    layer.lora.magnitude?.dispose();
    layer.lora = null;
  }
}
