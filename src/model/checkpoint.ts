/**
 * Hugging Face model folders: config.json plus model.safetensors, or shards listed by
 * model.safetensors.index.json (`weight_map`: tensor name → shard file). Tensors stay in the
 * on-disk layout and names; the architectures transpose GPT-2's Conv1D weights themselves.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeDirAtomic } from '../util/atomic-write.js';
import type { DirOwnership } from '../util/owned-dir.js';
import { LoraStudyError } from '../util/errors.js';
import { specOf } from './architectures/registry.js';
import { parseModelConfig } from './config.js';
import { encodeSafetensors, readSafetensors, storedBytes, tensorEntries, type TensorSet } from './safetensors.js';
import type { HostTensor, ModelConfig, StoredDtype } from './types.js';

export const CONFIG_FILE = 'config.json';
export const WEIGHTS_FILE = 'model.safetensors';
export const WEIGHTS_INDEX_FILE = 'model.safetensors.index.json';
const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json'];

const FOLDER_NEEDS =
  'a model folder needs config.json, model.safetensors (or model.safetensors.index.json and its shards) and ' +
  'tokenizer.json; in Python: model.save_pretrained(dir, safe_serialization=True); tokenizer.save_pretrained(dir)';

/** The folder is missing, incomplete or inconsistent; `reason` says which. */
export class CheckpointError extends LoraStudyError {
  constructor(readonly dir: string, message: string, hint: string = FOLDER_NEEDS) {
    super(`model folder ${dir}: ${message}`, { hint });
  }
}

export class CheckpointNotFoundError extends CheckpointError {
  constructor(dir: string) {
    super(dir, 'does not exist or is not a folder', 'check the model path; it must be a local Hugging Face model folder');
  }
}

export class MissingConfigError extends CheckpointError {
  constructor(dir: string) {
    super(dir, 'has no config.json');
  }
}

export class NoWeightsError extends CheckpointError {
  constructor(dir: string, readonly present: string[]) {
    const legacy = present.some((f) => f.endsWith('.bin') || f.endsWith('.pt') || f.endsWith('.pth'));
    super(
      dir,
      `has neither ${WEIGHTS_FILE} nor ${WEIGHTS_INDEX_FILE} (files: ${present.join(', ') || 'none'})`,
      legacy
        ? 'only safetensors weights are read; convert with model.save_pretrained(dir, safe_serialization=True) in Python'
        : FOLDER_NEEDS,
    );
  }
}

export class MissingShardError extends CheckpointError {
  constructor(dir: string, readonly shard: string, readonly tensorCount: number) {
    super(dir, `${WEIGHTS_INDEX_FILE} lists shard ${shard} (${tensorCount} tensors) but the file is missing`, 'download every shard listed in the index');
  }
}

export class DuplicateTensorError extends CheckpointError {
  constructor(dir: string, readonly tensor: string, readonly files: string[]) {
    super(dir, `tensor "${tensor}" appears more than once (in ${files.join(' and ')})`, 'the shards are inconsistent: download the model again');
  }
}

/** The index names a tensor that its shard does not hold, or is not valid JSON. */
export class CheckpointIndexError extends CheckpointError {
  constructor(dir: string, readonly reason: string) {
    super(dir, `${WEIGHTS_INDEX_FILE}: ${reason}`, 'the index and shards are inconsistent: download the model again');
  }
}

export interface LoadedCheckpoint {
  dir: string;
  config: ModelConfig;
  /** Parameters by HF name, float32, in the on-disk layout. */
  tensors: Map<string, HostTensor>;
  /** Weight files read, relative to `dir`. */
  files: string[];
}

/**
 * A checkpoint of the bare base model (GPT2Model, LlamaModel; e.g. the `gpt2` repo on the Hub)
 * names tensors without the `transformer.` / `model.` prefix; transformers adds it on load
 * (base_model_prefix), and so do we, so the architectures see one naming.
 */
function addBasePrefix(config: ModelConfig, tensors: Map<string, HostTensor>): Map<string, HostTensor> {
  const spec = specOf(config);
  if (!tensors.has(spec.bareProbe)) return tensors;
  const out = new Map<string, HostTensor>();
  for (const [name, t] of tensors) out.set(name.startsWith('lm_head.') ? name : spec.basePrefix + name, t);
  return out;
}

async function readJson(path: string, onError: (reason: string) => Error): Promise<unknown> {
  try {
    return JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw onError(`not valid JSON (${(err as Error).message})`);
  }
}

async function loadSharded(dir: string, tensors: Map<string, HostTensor>, isBuffer: (name: string) => boolean): Promise<string[]> {
  const index = (await readJson(join(dir, WEIGHTS_INDEX_FILE), (r) => new CheckpointIndexError(dir, r))) as {
    weight_map?: unknown;
  };
  const map = index?.weight_map;
  if (map === null || typeof map !== 'object' || Array.isArray(map)) throw new CheckpointIndexError(dir, 'has no weight_map object');
  const byShard = new Map<string, string[]>();
  for (const [name, shard] of Object.entries(map as Record<string, unknown>)) {
    if (typeof shard !== 'string') throw new CheckpointIndexError(dir, `weight_map["${name}"] is not a file name`);
    byShard.set(shard, [...(byShard.get(shard) ?? []), name]);
  }
  const shards = [...byShard.keys()].sort();
  for (const shard of shards) {
    if (!existsSync(join(dir, shard))) throw new MissingShardError(dir, shard, byShard.get(shard)!.length);
  }
  const origin = new Map<string, string>();
  for (const shard of shards) {
    const part = await readSafetensors(join(dir, shard), { skip: isBuffer });
    for (const [name, t] of part) {
      const seen = origin.get(name);
      if (seen !== undefined) throw new DuplicateTensorError(dir, name, [seen, shard]);
      origin.set(name, shard);
      tensors.set(name, t);
    }
    for (const name of byShard.get(shard)!) {
      if (!part.has(name) && !isBuffer(name)) throw new CheckpointIndexError(dir, `lists "${name}" in ${shard}, which does not hold it`);
    }
  }
  return shards;
}

/** Loads a Hugging Face model folder: its config and every parameter as float32. */
export async function loadCheckpoint(dir: string): Promise<LoadedCheckpoint> {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new CheckpointNotFoundError(dir);
  const configPath = join(dir, CONFIG_FILE);
  if (!existsSync(configPath)) throw new MissingConfigError(dir);
  const config = parseModelConfig(
    await readJson(configPath, (r) => new CheckpointError(dir, `config.json is ${r}`, 'save config.json again with model.config.save_pretrained(dir)')),
    configPath,
  );
  // Buffers that some checkpoints store but that are not parameters (GPT-2's causal-mask
  // attn.bias, old checkpoints' rotary_emb.inv_freq) are not read at all.
  const buffers = specOf(config).knownBuffers;
  const isBuffer = (name: string): boolean => buffers.test(name);
  let tensors = new Map<string, HostTensor>();
  let files: string[];
  if (existsSync(join(dir, WEIGHTS_INDEX_FILE))) {
    files = await loadSharded(dir, tensors, isBuffer);
  } else if (existsSync(join(dir, WEIGHTS_FILE))) {
    tensors = await readSafetensors(join(dir, WEIGHTS_FILE), { skip: isBuffer });
    files = [WEIGHTS_FILE];
  } else {
    throw new NoWeightsError(dir, readdirSync(dir).sort());
  }
  return { dir, config, tensors: addBasePrefix(config, tensors), files };
}

export interface SaveCheckpointParams {
  /** config.json content as transformers writes it (e.g. `loaded.config.raw`). */
  config: Record<string, unknown>;
  tensors: TensorSet;
  /** Folder whose tokenizer.json / tokenizer_config.json are copied along (tokenizer.json required). */
  tokenizerDir?: string;
  /** Stored dtype of every tensor (default F32); config.json's torch_dtype is set to match. */
  dtype?: StoredDtype;
  /** Largest shard in bytes; when given and the weights exceed it, writes shards plus an index. */
  shardBytes?: number;
  /** Extra small files written into the folder (e.g. the merge marker), name → content. */
  extraFiles?: Record<string, string>;
  /** When given, an existing non-empty folder at `dir` is replaced only if it is ours (see owned-dir.ts). */
  ownership?: DirOwnership;
}

const TORCH_DTYPE: Record<StoredDtype, string> = { F32: 'float32', F16: 'float16', BF16: 'bfloat16' };

/** Groups sorted tensors greedily into shards of at most `maxBytes` (one oversized tensor gets its own). */
function planShards(tensors: TensorSet, dtype: StoredDtype, maxBytes: number): Array<Record<string, HostTensor>> {
  const shards: Array<Record<string, HostTensor>> = [];
  let current: Record<string, HostTensor> = {};
  let size = 0;
  for (const [name, t] of tensorEntries(tensors)) {
    const bytes = storedBytes(t, dtype);
    if (size > 0 && size + bytes > maxBytes) {
      shards.push(current);
      current = {};
      size = 0;
    }
    current[name] = t;
    size += bytes;
  }
  if (size > 0 || shards.length === 0) shards.push(current);
  return shards;
}

/**
 * Writes a complete Hugging Face model folder, atomically (built aside, then renamed into place;
 * an existing folder at `dir` is replaced). Shard names and the index follow
 * transformers' save_pretrained, including its choice of a plain model.safetensors when
 * everything fits into one shard.
 */
export async function saveCheckpoint(dir: string, params: SaveCheckpointParams): Promise<void> {
  const dtype = params.dtype ?? 'F32';
  const tokenizerFiles = params.tokenizerDir === undefined ? [] : TOKENIZER_FILES.filter((f) => existsSync(join(params.tokenizerDir!, f)));
  if (params.tokenizerDir !== undefined && !tokenizerFiles.includes('tokenizer.json')) {
    throw new CheckpointError(params.tokenizerDir, 'has no tokenizer.json to copy');
  }
  await writeDirAtomic(dir, async (tmp) => {
    const config = { ...params.config, torch_dtype: TORCH_DTYPE[dtype] };
    await writeFile(join(tmp, CONFIG_FILE), `${JSON.stringify(config, null, 2)}\n`);
    const shards = params.shardBytes === undefined ? [params.tensors] : planShards(params.tensors, dtype, params.shardBytes);
    if (shards.length === 1) {
      await writeFile(join(tmp, WEIGHTS_FILE), encodeSafetensors(shards[0], { dtype }));
    } else {
      const weightMap: Record<string, string> = {};
      let totalSize = 0;
      for (const [i, shard] of shards.entries()) {
        const file = `model-${String(i + 1).padStart(5, '0')}-of-${String(shards.length).padStart(5, '0')}.safetensors`;
        await writeFile(join(tmp, file), encodeSafetensors(shard, { dtype }));
        for (const [name, t] of tensorEntries(shard)) {
          weightMap[name] = file;
          totalSize += storedBytes(t, dtype);
        }
      }
      const index = { metadata: { total_size: totalSize }, weight_map: weightMap };
      await writeFile(join(tmp, WEIGHTS_INDEX_FILE), `${JSON.stringify(index, null, 2)}\n`);
    }
    for (const f of tokenizerFiles) await copyFile(join(params.tokenizerDir!, f), join(tmp, f));
    for (const [name, content] of Object.entries(params.extraFiles ?? {})) await writeFile(join(tmp, name), content);
  }, params.ownership);
}
