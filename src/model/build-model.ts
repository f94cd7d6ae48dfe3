import type { Logger } from 'pino';
import { silentLogger } from '../util/logger.js';
import { Gpt2Model } from './architectures/gpt2.js';
import { LlamaModel } from './architectures/llama.js';
import type { CausalLM } from './causal-lm.js';
import { WeightReader } from './layers/weights.js';
import type { HostTensor, ModelConfig } from './types.js';

export interface BuildModelParams {
  config: ModelConfig;
  tensors: Map<string, HostTensor>;
  /** Make every base weight a trainable variable (full fine-tuning / pretraining). */
  trainableBase?: boolean;
  logger?: Logger;
}

/** Builds the architecture named by the config from checkpoint tensors, checking every name and shape. */
export function buildModel(params: BuildModelParams): CausalLM {
  const { config, tensors } = params;
  const logger = params.logger ?? silentLogger;
  const reader = new WeightReader(tensors, config.modelType, params.trainableBase ?? false);
  const opts = { trainable: params.trainableBase ?? false };
  const model = config.family === 'gpt2' ? new Gpt2Model(config, reader, opts) : new LlamaModel(config, reader, opts);
  const unused = reader.unused();
  if (unused.length > 0) {
    logger.warn({ count: unused.length, first: unused.slice(0, 5) }, 'checkpoint tensors not used by the model');
  }
  return model;
}
