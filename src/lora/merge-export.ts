import type { StoredDtype } from '../model/types.js';
import { saveCheckpoint } from '../model/checkpoint.js';
import { loadModel } from '../model/load-model.js';
import type { Logger } from '../util/logger.js';
import { silentLogger } from '../util/logger.js';
import { mergedTensors } from './merge.js';
import { loadAdapter } from './peft-adapter.js';

export interface MergeExportParams {
  modelDir: string;
  adapterDir: string;
  outDir: string;
  dtype?: StoredDtype;
  logger?: Logger;
}

/**
 * Loads base + PEFT adapter, folds W + scale·B·A into every adapted weight, and writes a plain
 * Hugging Face model folder (config, safetensors, tokenizer) that needs no adapter to load.
 */
export async function mergeAndExport(p: MergeExportParams): Promise<{ outDir: string; modules: number; tensors: number }> {
  const logger = p.logger ?? silentLogger;
  const loaded = await loadModel(p.modelDir, { logger });
  try {
    const lora = await loadAdapter(p.adapterDir, loaded.model);
    const tensors = mergedTensors(loaded.model);
    await saveCheckpoint(p.outDir, { config: loaded.rawConfig, tensors, tokenizerDir: p.modelDir, dtype: p.dtype });
    logger.info({ out: p.outDir, modules: lora.modules.length }, 'merged model written');
    return { outDir: p.outDir, modules: lora.modules.length, tensors: tensors.size };
  } finally {
    loaded.model.dispose();
  }
}
