import * as tf from '@tensorflow/tfjs-core';
import type { CausalLM } from '../model/causal-lm.js';
import type { HostTensor } from '../model/types.js';
import { LoraStudyError } from '../util/errors.js';
import { doraMergedWeight } from '../model/layers/dora.js';

/**
 * Folds every attached adapter into its base weight: W' = W + scale·B·A, or with DoRA
 * W' = m/‖W + scale·B·A‖ ⊙ (W + scale·B·A) (W dequantized for a quantized base). Returns new host
 * tensors in the on-disk Hugging Face layout (GPT-2 Conv1D weights transposed back); the model
 * and its adapters are NOT changed, so the same model can still be evaluated unmerged.
 */
export async function mergedTensors(model: CausalLM): Promise<Map<string, HostTensor>> {
  const out = model.exportTensors();
  for (const [name, layer] of model.linears) {
    if (!layer.lora) continue;
    const key = `${name}.weight`;
    const base = out.get(key);
    if (!base) throw new Error(`internal: exported tensors lack ${key}`);
    const { A, B, scale, magnitude } = layer.lora;
    if (magnitude) {
      const w = tf.tidy(() => {
        const m = doraMergedWeight(layer.denseWeight(), A, B, magnitude, scale); // [out, in]
        return layer.layout === 'in_out' ? tf.transpose(m) : m; // stored [in, out] for Conv1D
      });
      out.set(key, { shape: base.shape, data: new Float32Array((await w.data()) as Float32Array) });
      w.dispose();
      continue;
    }
    const delta = tf.tidy(() => {
      const d = tf.mul(tf.matMul(B, A), scale); // [out, in]
      return layer.layout === 'in_out' ? tf.transpose(d) : d; // stored [in, out] for Conv1D
    });
    const dd = (await delta.data()) as Float32Array;
    const merged = new Float32Array(base.data.length);
    for (let i = 0; i < merged.length; i++) merged[i] = base.data[i] + dd[i];
    delta.dispose();
    out.set(key, { shape: base.shape, data: merged });
  }
  return out;
}

/**
 * Refuses tensors holding NaN or ±Infinity (a diverged adapter, a damaged checkpoint): a merged
 * model with them would load and produce garbage. Names the first bad tensor and element.
 */
export function assertFiniteTensors(tensors: ReadonlyMap<string, HostTensor>, context: string): void {
  for (const [name, t] of tensors) {
    const d = t.data;
    for (let i = 0; i < d.length; i++) {
      if (Number.isFinite(d[i])) continue;
      let bad = 0;
      for (let j = i; j < d.length; j++) if (!Number.isFinite(d[j])) bad++;
      throw new LoraStudyError(
        `${context}: tensor ${name} has ${bad} non-finite value(s) (first: ${d[i]} at flat index ${i} of ${d.length}, shape [${t.shape.join(', ')}])`,
        { hint: 'the adapter (or the base weight) holds NaN/Inf, e.g. from a run whose loss diverged; retrain with a lower learning rate, or merge another adapter' },
      );
    }
  }
}
