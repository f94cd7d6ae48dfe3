import { resolve } from 'node:path';
import { STORED_DTYPES, type StoredDtype } from '../model/types.js';
import { saveCheckpoint } from '../model/checkpoint.js';
import { loadModel } from '../model/load-model.js';
import { LoraStudyError } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import { silentLogger } from '../util/logger.js';
import { assertNotOverInputs, assertReplaceableDir, type DirOwnership } from '../util/owned-dir.js';
import { assertFiniteTensors, mergedTensors } from './merge.js';
import { loadAdapter } from './peft-adapter.js';
import { resolveModel } from '../model/hub/resolve-model.js';

/** The file that marks a folder as a merged model lora-study wrote (what `merge -o` may replace). */
export const MERGE_MARKER = 'lora-study-merge.json';

export interface MergeExportParams {
  modelDir: string;
  adapterDir: string;
  outDir: string;
  dtype?: string;
  /** Replace an existing non-empty outDir even when it is not a merged model lora-study wrote. */
  overwrite?: boolean;
  logger?: Logger;
}

function mergeOwnership(overwrite?: boolean): DirOwnership {
  return { marker: MERGE_MARKER, what: 'merged model', overwrite };
}

/** The refusals that need no model loaded; returns the dtype to write. */
export function checkMergeParams(p: MergeExportParams): StoredDtype {
  const dtype = p.dtype ?? 'F32';
  if (!(STORED_DTYPES as readonly string[]).includes(dtype)) {
    throw new LoraStudyError(`--dtype ${dtype} is not a dtype merge can write`, { hint: `use one of: ${STORED_DTYPES.join(', ')}` });
  }
  assertNotOverInputs(p.outDir, '-o/--out', [
    { flag: '--model', path: p.modelDir },
    { flag: '--adapter', path: p.adapterDir },
  ]);
  assertReplaceableDir(p.outDir, mergeOwnership(p.overwrite));
  return dtype as StoredDtype;
}

/**
 * Loads base + PEFT adapter, folds W + scale·B·A into every adapted weight, and writes a plain
 * Hugging Face model folder (config, safetensors, tokenizer) that needs no adapter to load, plus
 * lora-study-merge.json (what was merged, and the mark that lets a later merge replace it).
 * Refuses, before loading anything: an unknown dtype, an output folder that is (or holds) the
 * model or adapter, and an existing folder that is not a merged model (unless `overwrite`).
 * Refuses a merged weight that is NaN or infinite, naming the tensor.
 */
export async function mergeAndExport(p: MergeExportParams): Promise<{ outDir: string; modules: number; tensors: number }> {
  const logger = p.logger ?? silentLogger;
  const dtype = checkMergeParams(p);
  const model = await resolveModel(p.modelDir, { logger });
  const loaded = await loadModel(model.dir, { logger });
  try {
    const lora = await loadAdapter(p.adapterDir, loaded.model);
    const tensors = await mergedTensors(loaded.model);
    assertFiniteTensors(tensors, `merging ${p.adapterDir} into ${p.modelDir}`);
    const marker = {
      base_model: model.hub ? model.spec : resolve(p.modelDir),
      adapter: resolve(p.adapterDir),
      dtype,
      merged_modules: lora.modules.length,
      created_at: new Date().toISOString(),
    };
    await saveCheckpoint(p.outDir, {
      config: loaded.rawConfig,
      tensors,
      tokenizerDir: model.dir,
      dtype,
      extraFiles: { [MERGE_MARKER]: `${JSON.stringify(marker, null, 2)}\n` },
      ownership: mergeOwnership(p.overwrite),
    });
    logger.info({ out: p.outDir, modules: lora.modules.length }, 'merged model written');
    return { outDir: p.outDir, modules: lora.modules.length, tensors: tensors.size };
  } finally {
    loaded.model.dispose();
  }
}
