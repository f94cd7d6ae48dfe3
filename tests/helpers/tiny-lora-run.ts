// One short LoRA training run on a tiny random model, for tests that compare two engine settings
// (stock vs native kernels) by their per-step losses, LoRA weight bits and tensor-count growth.
import * as tf from '@tensorflow/tfjs-core';
import { injectLora } from '../../src/lora/inject.js';
import { loraConfigSchema } from '../../src/lora/lora-config.js';
import { train, type TrainerConfig } from '../../src/training/trainer.js';
import { tinyLm } from './tiny-lm.js';

/** Every linear layer of each tiny architecture. */
export const ALL_LINEAR_TARGETS = {
  llama: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'],
  gpt2: ['c_attn', 'c_proj', 'c_fc'],
} as const;

/** An example whose first 3 tokens are prompt (label -100). */
export const promptMasked = (ids: number[]) => ({ input_ids: ids, labels: ids.map((t, i) => (i < 3 ? -100 : t)) });

export interface TinyLoraRun {
  modelType: 'llama' | 'gpt2';
  lora: { r: number; lora_alpha?: number };
  /** Trainer settings that differ from the small cosine-schedule defaults here. */
  config: Pick<TrainerConfig, 'maxSteps' | 'learningRate'> & Partial<TrainerConfig>;
  examples: Array<ReturnType<typeof promptMasked>>;
}

/** Trains LoRA on every linear layer (seed 3) and returns the losses, the LoRA weights' bits and how many tensors the run left. */
export async function tinyLoraRun(run: TinyLoraRun): Promise<{ losses: number[]; weights: number[][]; grew: number }> {
  const config: TrainerConfig = {
    microBatchSize: 2, gradientAccumulationSteps: 1, maxSeqLen: 32, warmupSteps: 1, scheduler: 'cosine',
    weightDecay: 0.01, maxGradNorm: 1, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, seed: 7, ...run.config,
  };
  const { model } = await tinyLm({ modelType: run.modelType });
  const lora = injectLora(model, loraConfigSchema.parse({ ...run.lora, target_modules: [...ALL_LINEAR_TARGETS[run.modelType]] }), { seed: 3 });
  const before = tf.memory().numTensors;
  const res = await train({ model, variables: lora.variables, examples: run.examples, config, padId: 0 });
  const grew = tf.memory().numTensors - before;
  const weights = lora.variables.map((v) => Array.from(new Uint32Array(Float32Array.from(v.dataSync()).buffer)));
  model.dispose();
  return { losses: res.steps.map((s) => s.loss), weights, grew };
}
