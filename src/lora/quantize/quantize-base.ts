import * as tf from '@tensorflow/tfjs-core';
import type { CausalLM } from '../../model/causal-lm.js';
import { quantizeWeight } from './quantize-weight.js';
import type { QuantFormat } from './types.js';

/**
 * Replaces the frozen weight of every linear layer but the output head by its quantized form,
 * as QLoRA does (the head and embeddings stay float32). Must run before LoRA is attached and
 * only on a model whose base is not trained.
 */
export function quantizeBase(model: CausalLM, format: QuantFormat): number {
  if (format === 'fp32') return 0;
  let count = 0;
  for (const [name, layer] of model.linears) {
    if (name === model.outputHeadName || layer.quantized) continue;
    const dense = layer.weight as tf.Tensor2D;
    layer.weight = quantizeWeight(dense, format);
    dense.dispose();
    count++;
  }
  return count;
}

/** Bytes the base model's linear weights occupy on the backend at their current precision. */
export function baseLinearBytes(model: CausalLM): { actual: number; fp32: number } {
  let actual = 0;
  let fp32 = 0;
  for (const layer of model.linears.values()) {
    if (layer.tied) continue;
    const w = layer.weight;
    fp32 += layer.inFeatures * layer.outFeatures * 4;
    actual += w instanceof tf.Tensor ? w.size * 4 : w.residentBytes();
  }
  return { actual, fp32 };
}
