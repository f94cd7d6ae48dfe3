import type { Logger } from 'pino';
import { silentLogger } from '../util/logger.js';
import { buildModel } from './build-model.js';
import type { CausalLM } from './causal-lm.js';
import { loadCheckpoint } from './checkpoint.js';
import { loadTokenizer, type TextTokenizer } from './tokenizer.js';

export interface LoadedModel {
  dir: string;
  model: CausalLM;
  tokenizer: TextTokenizer;
  /** config.json as on disk, for export. */
  rawConfig: Record<string, unknown>;
}

/** Loads a Hugging Face model folder (config, weights, tokenizer) into a tfjs model. */
export async function loadModel(dir: string, opts: { trainableBase?: boolean; logger?: Logger } = {}): Promise<LoadedModel> {
  const logger = opts.logger ?? silentLogger;
  const ckpt = await loadCheckpoint(dir);
  const tokenizer = loadTokenizer(dir);
  const model = buildModel({ config: ckpt.config, tensors: ckpt.tensors, trainableBase: opts.trainableBase, logger });
  logger.debug({ dir, modelType: ckpt.config.modelType, layers: ckpt.config.numLayers }, 'model loaded');
  return { dir, model, tokenizer, rawConfig: ckpt.config.raw };
}
