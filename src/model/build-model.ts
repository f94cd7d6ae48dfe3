import type { Logger } from 'pino';
import { LoraStudyError } from '../util/errors.js';
import { silentLogger } from '../util/logger.js';
import { specOf } from './architectures/registry.js';
import type { CausalLM } from './causal-lm.js';
import { WeightReader } from './layers/weights.js';
import type { HostTensor, ModelConfig } from './types.js';

/** The checkpoint holds tensors the architecture does not use: the weights and config.json disagree. */
export class UnconsumedTensorError extends LoraStudyError {
  constructor(readonly tensors: string[], readonly modelType: string) {
    const shown = tensors.slice(0, 5).map((t) => `"${t}"`).join(', ');
    super(`checkpoint tensor${tensors.length > 1 ? 's' : ''} ${shown}${tensors.length > 5 ? ` and ${tensors.length - 5} more` : ''} not used by model_type ${modelType}`, {
      hint:
        'a tensor the model ignores means config.json does not describe these weights (tie_word_embeddings, num_hidden_layers, ' +
        'qk_layernorm, attention_bias, a different architecture); fix config.json or use the matching checkpoint',
    });
  }
}

export interface BuildModelParams {
  config: ModelConfig;
  tensors: Map<string, HostTensor>;
  /** Make every base weight a trainable variable (full fine-tuning / pretraining). */
  trainableBase?: boolean;
  logger?: Logger;
}

/**
 * Builds the architecture named by the config from checkpoint tensors, checking every name and
 * shape. A tensor the model does not consume is an error (known buffers were dropped on load).
 */
export function buildModel(params: BuildModelParams): CausalLM {
  const { config, tensors } = params;
  const logger = params.logger ?? silentLogger;
  const spec = specOf(config);
  const reader = new WeightReader(tensors, config.modelType, params.trainableBase ?? false);
  const model = spec.build(config, reader, { trainable: params.trainableBase ?? false });
  const unused = reader.unused().filter((name) => !spec.knownBuffers.test(name));
  if (unused.length > 0) {
    model.dispose();
    throw new UnconsumedTensorError(unused, config.modelType);
  }
  logger.debug({ architecture: spec.name, linears: model.linears.size }, 'model built');
  return model;
}
