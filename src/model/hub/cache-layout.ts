import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { getHFHubCachePath, getRepoFolderName } from '@huggingface/hub';
import { COMMIT_SHA } from './model-id.js';

/**
 * The Hugging Face cache, laid out exactly as Python's huggingface_hub does, so that either
 * side reuses what the other downloaded:
 *   <cache>/models--<org>--<name>/blobs/<etag>            file contents (sha256 for LFS files, git sha1 otherwise)
 *   <cache>/models--<org>--<name>/refs/<revision>         the commit sha a branch/tag resolved to
 *   <cache>/models--<org>--<name>/snapshots/<sha>/<file>  relative symlink ../../blobs/<etag>
 *   <cache>/models--<org>--<name>/.no_exist/<sha>/<file>  empty: the file is absent at that commit
 * The cache folder: HF_HUB_CACHE, else HUGGINGFACE_HUB_CACHE, else $HF_HOME/hub, else
 * $XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub (@huggingface/hub's rule, the same as Python's).
 */
export function hubCacheDir(): string {
  return getHFHubCachePath();
}

export function repoCacheDir(cacheDir: string, repo: string): string {
  return join(cacheDir, getRepoFolderName({ type: 'model', name: repo }));
}

export function refPath(repoDir: string, revision: string): string {
  return join(repoDir, 'refs', ...revision.split('/'));
}

/** The commit `revision` resolved to when it was last downloaded, or null (a sha resolves to itself). */
export function readRef(repoDir: string, revision: string): string | null {
  if (COMMIT_SHA.test(revision)) return revision;
  const p = refPath(repoDir, revision);
  if (!existsSync(p)) return null;
  const sha = readFileSync(p, 'utf8').trim();
  return COMMIT_SHA.test(sha) ? sha : null;
}

export function snapshotDir(repoDir: string, sha: string): string {
  return join(repoDir, 'snapshots', sha);
}

export function noExistPath(repoDir: string, sha: string, file: string): string {
  return join(repoDir, '.no_exist', sha, ...file.split('/'));
}

/** True when `path` is a readable file (a snapshot symlink must point at an existing blob). */
export function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * The files a model folder needs that `dir` lacks: config.json, tokenizer.json, and the
 * safetensors weights (one file, or the index and every shard it lists).
 */
export function missingModelFiles(dir: string): string[] {
  const missing = ['config.json', 'tokenizer.json'].filter((f) => !isFile(join(dir, f)));
  if (isFile(join(dir, 'model.safetensors'))) return missing;
  const index = join(dir, 'model.safetensors.index.json');
  if (!isFile(index)) return [...missing, 'model.safetensors'];
  try {
    const shards = new Set(Object.values((JSON.parse(readFileSync(index, 'utf8')) as { weight_map: Record<string, string> }).weight_map));
    return [...missing, ...[...shards].filter((s) => !isFile(join(dir, s)))];
  } catch {
    return [...missing, 'model.safetensors.index.json'];
  }
}
