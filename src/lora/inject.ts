import * as tf from '@tensorflow/tfjs-core';
import type { CausalLM } from '../model/causal-lm.js';
import type { Linear } from '../model/layers/linear.js';
import type { HostTensor } from '../model/types.js';
import { LoraStudyError } from '../util/errors.js';
import { gaussianA, kaimingUniformA, zerosB } from './init.js';
import { loraScale, type LoraConfig } from './lora-config.js';
import { loraModuleParams, planLora } from './lora-plan.js';

export interface InjectedLora {
  modules: string[];
  /** The only trainable variables of a LoRA run. */
  variables: tf.Variable[];
  trainableParams: number;
  config: LoraConfig;
}

/**
 * Attaches LoRA weights to the linear layers selected by `target_modules` (mutates the model's
 * layers; base weights stay untouched and untrained). `initial` supplies A/B values (loading an
 * adapter) instead of the initialiser.
 */
export function injectLora(
  model: CausalLM,
  cfg: LoraConfig,
  opts: { seed: number; initial?: Map<string, { A: HostTensor; B: HostTensor }> },
): InjectedLora {
  const names = opts.initial
    ? [...opts.initial.keys()]
    : planLora([...model.linears.values()], cfg, model.config.modelType, model.outputHeadName).modules;
  const variables: tf.Variable[] = [];
  let trainableParams = 0;
  const scale = loraScale(cfg);
  for (const name of names) {
    const layer: Linear | undefined = model.linears.get(name);
    if (!layer) throw new LoraStudyError(`adapter names module "${name}", which this model does not have`);
    if (layer.lora) throw new LoraStudyError(`module ${name} already has a LoRA adapter`);
    const { r } = cfg;
    const init = opts.initial?.get(name);
    const aData = init?.A.data ?? (cfg.init_lora_weights === 'gaussian' ? gaussianA : kaimingUniformA)(r, layer.inFeatures, opts.seed, name);
    const bData = init?.B.data ?? zerosB(layer.outFeatures, r);
    const A = variableFrom(aData, [r, layer.inFeatures]);
    const B = variableFrom(bData, [layer.outFeatures, r]);
    layer.lora = { A, B, r, scale, dropout: cfg.lora_dropout };
    variables.push(A, B);
    trainableParams += loraModuleParams(layer, r);
  }
  return { modules: names, variables, trainableParams, config: cfg };
}

function variableFrom(data: Float32Array, shape: [number, number]): tf.Variable {
  const t = tf.tensor2d(data, shape);
  const v = tf.variable(t, true);
  t.dispose();
  return v;
}

/** Removes and disposes every adapter, leaving the base model as loaded. */
export function removeLora(model: CausalLM): void {
  for (const layer of model.linears.values()) {
    if (!layer.lora) continue;
    layer.lora.A.dispose();
    layer.lora.B.dispose();
    layer.lora = null;
  }
}
