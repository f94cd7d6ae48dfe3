import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseModelConfig } from '../model/config.js';
import type { Logger } from '../util/logger.js';
import { readJsonFile } from '../util/text-file.js';

/**
 * A sequence-length setting longer than the model's positions is clipped to them, with one
 * warning (as transformers' run_clm does with block_size): the model has no position embedding
 * past max_position_embeddings / n_positions, so no longer sequence can train or evaluate.
 */
export function clipToPositions(requested: number, maxPositions: number | null, what: string, logger: Logger): number {
  if (maxPositions === null || requested <= maxPositions) return requested;
  logger.warn(
    { [what]: requested, max_positions: maxPositions },
    `${what} ${requested} is longer than the model's ${maxPositions} positions (max_position_embeddings / n_positions in config.json): using ${maxPositions}`,
  );
  return maxPositions;
}

/** The positions of the model in `modelDir` from its config.json, or null when the folder has none (a tokenizer-only folder). */
export function modelMaxPositions(modelDir: string): number | null {
  const file = join(modelDir, 'config.json');
  if (!existsSync(file)) return null;
  return parseModelConfig(readJsonFile(file), file).maxPositionEmbeddings;
}
