import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModel, type LoadedModel } from '../../src/model/load-model.js';
import { writeTinyModel, type TinyModelOptions } from './tiny-models.js';

/** Writes a tiny HF model folder to a temp dir and loads it. */
export async function tinyLm(opts: Partial<TinyModelOptions> & Pick<TinyModelOptions, 'modelType'>, load: { trainableBase?: boolean } = {}): Promise<LoadedModel> {
  const dir = mkdtempSync(join(tmpdir(), `tiny-${opts.modelType}-`));
  await writeTinyModel(dir, { seed: 1, ...opts });
  return loadModel(dir, load);
}
