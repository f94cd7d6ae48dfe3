import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { RunConfig } from '../config/run-config.js';
import { hashConfig } from '../tracking/config-hash.js';
import { hubModelIdentity } from '../model/hub/resolve-model.js';

/**
 * What a model folder is, independent of where it lies: sha256 over `config.json` and the
 * header (tensor names, dtypes, shapes, offsets) of every `*.safetensors` file, in name order.
 * Headers, not weights: hashing gigabytes per run would cost more than the queue saves, and two
 * checkpoints with identical headers and configs but different weights are not a case a study
 * meets (a fine-tuned copy is saved as a new folder with its own config). `model:<path>` when
 * the folder has no config.json (the run then fails validation with a clear message).
 * A Hub id is `hf:<org>/<name>@<commit sha>` (the revision as the cache resolves it).
 */
export function modelContentId(dir: string): string {
  const hub = hubModelIdentity(dir);
  if (hub) return hub;
  const config = join(dir, 'config.json');
  if (!existsSync(config)) return `missing-model:${resolve(dir)}`;
  const h = createHash('sha256');
  h.update('config.json\0').update(readFileSync(config));
  const shards = readdirSync(dir).filter((f) => f.endsWith('.safetensors')).sort();
  for (const f of shards) h.update(`\0${f}\0`).update(safetensorsHeader(join(dir, f)));
  return `sha256:${h.digest('hex')}`;
}

/** The 8-byte length prefix and JSON header of a safetensors file (the format's first bytes). */
function safetensorsHeader(path: string): Buffer {
  const fd = openSync(path, 'r');
  try {
    const len = Buffer.alloc(8);
    if (readSync(fd, len, 0, 8, 0) < 8) return len;
    const n = Number(len.readBigUInt64LE(0));
    const size = Math.min(n, statSync(path).size - 8, 100 * 1024 * 1024);
    const header = Buffer.alloc(Math.max(0, size));
    readSync(fd, header, 0, header.length, 8);
    return Buffer.concat([len, header]);
  } finally {
    closeSync(fd);
  }
}

/** What a prepared dataset is: sha256 of its meta.json (source, template, tokenizer hash, counts). */
export function datasetContentId(dir: string): string {
  const meta = join(dir, 'meta.json');
  if (!existsSync(meta)) return `missing-dataset:${resolve(dir)}`;
  return `sha256:${createHash('sha256').update(readFileSync(meta)).digest('hex')}`;
}

/**
 * A run's identity for `--resume` and the queue: the hash of its resolved config with `model`
 * and `dataset` replaced by their content ids, so the same run on two machines (or under two
 * paths) is the same run. The paths stay recorded on the run as provenance.
 */
export function runIdentity(config: RunConfig): string {
  return hashConfig({ ...config, model: modelContentId(config.model), dataset: datasetContentId(config.dataset) });
}
