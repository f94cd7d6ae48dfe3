import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LoraStudyError } from '../util/errors.js';
import { specOf } from './architectures/registry.js';
import { WEIGHTS_FILE, WEIGHTS_INDEX_FILE } from './checkpoint.js';
import { readSafetensorsHeaderSync, type SafetensorsHeaderEntry } from './safetensors.js';
import type { ModelConfig } from './types.js';

/** config.json describes tensors the weight files do not hold (or hold with other shapes). */
export class CheckpointShapeError extends LoraStudyError {}

const BYTES: Record<string, number> = { F32: 4, F16: 2, BF16: 2 };

export interface CheckpointShapes {
  /** Every tensor of the weight files (buffers left out), under the causal-LM names. */
  tensors: Map<string, SafetensorsHeaderEntry>;
  /** Bytes of the parameters on disk, at their stored dtypes. */
  storedBytes: number;
}

/** The weight files of a model folder: model.safetensors, or every shard its index lists (sorted). */
export function localWeightFiles(dir: string): string[] {
  if (!existsSync(join(dir, WEIGHTS_INDEX_FILE))) return [WEIGHTS_FILE];
  const index = JSON.parse(readFileSync(join(dir, WEIGHTS_INDEX_FILE), 'utf8')) as { weight_map?: Record<string, string> };
  return [...new Set(Object.values(index.weight_map ?? {}))].sort();
}

/**
 * Reads the tensor shapes of a model folder from its safetensors headers only (a few KB, even
 * for a 2 TB checkpoint) and checks that every parameter config.json implies is there with that
 * shape: the plan then rests on what the weights are, not on what config.json says they are.
 */
export function readCheckpointShapes(dir: string, config: ModelConfig): CheckpointShapes {
  return checkCheckpointShapes(`model ${dir}`, config, localWeightFiles(dir), (f, skip) => readSafetensorsHeaderSync(join(dir, f), { skip }));
}

/** Parses one weight file's header; buffers (`skip`) are listed without their dtype checked. */
export type ReadWeightHeader = (file: string, skip: (name: string) => boolean) => SafetensorsHeaderEntry[];

/**
 * The check readCheckpointShapes makes, on headers from anywhere (a folder's files, or the
 * Hub's headers fetched with Range requests): `files` are the weight files, `label` names the
 * model in the error, which names each wrong or missing tensor and the file it is (or is not) in.
 */
export function checkCheckpointShapes(label: string, config: ModelConfig, files: string[], readHeader: ReadWeightHeader): CheckpointShapes {
  const spec = specOf(config);
  const skip = (name: string): boolean => spec.knownBuffers.test(name);
  const raw = new Map<string, SafetensorsHeaderEntry>();
  const fileOf = new Map<string, string>();
  for (const f of [...files].sort()) {
    for (const e of readHeader(f, skip)) {
      raw.set(e.name, e);
      fileOf.set(e.name, f);
    }
  }
  // A bare-model checkpoint (GPT2Model, LlamaModel) names tensors without the causal-LM prefix.
  const bare = raw.has(spec.bareProbe);
  const tensors = new Map<string, SafetensorsHeaderEntry>();
  const fileOfFull = new Map<string, string>();
  for (const [name, e] of raw) {
    const full = bare && !name.startsWith('lm_head.') ? spec.basePrefix + name : name;
    tensors.set(full, { ...e, name: full });
    fileOfFull.set(full, fileOf.get(name)!);
  }
  const where = files.length === 1 ? files[0] : `any of the ${files.length} shards`;
  const problems: string[] = [];
  for (const p of spec.parameters(config)) {
    const got = tensors.get(p.name);
    if (!got) problems.push(`${p.name} ${JSON.stringify(p.shape)} is not in ${where}`);
    else if (got.shape.join(',') !== p.shape.join(',')) problems.push(`${p.name} is ${JSON.stringify(p.shape)} by config.json but ${JSON.stringify(got.shape)} in ${fileOfFull.get(p.name)}`);
  }
  if (problems.length) {
    const shown = problems.slice(0, 3).join('; ');
    throw new CheckpointShapeError(
      `${label}: config.json does not describe its weights: ${shown}${problems.length > 3 ? `; and ${problems.length - 3} more` : ''}`,
      { hint: 'config.json and the safetensors files must come from the same checkpoint; download or save them together' },
    );
  }
  let storedBytes = 0;
  for (const e of tensors.values()) storedBytes += e.shape.reduce((a, b) => a * b, 1) * BYTES[e.dtype];
  return { tensors, storedBytes };
}
