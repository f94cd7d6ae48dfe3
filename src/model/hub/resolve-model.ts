import { existsSync, readFileSync, symlinkSync, copyFileSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { basename, dirname, join, relative } from 'node:path';
import { HubApiError, modelInfo } from '@huggingface/hub';
import { writeFileAtomic } from '../../util/atomic-write.js';
import { assertRelativePath } from '../../util/path-segment.js';
import { downloadBlob } from './blob-download.js';
import { hubFileUrl, hubSettings, hubStatusHint, type HubAccessOptions } from './hub-access.js';
import { hubCacheDir, isFile, missingModelFiles, noExistPath, readRef, refPath, repoCacheDir, snapshotDir } from './cache-layout.js';
import { DownloadProgress } from './download-progress.js';
import { withDownloadLock } from './download-lock.js';
import { describeHubError, HubModelError, HubModelNotCachedError, HubModelNotFoundError, HubModelUnreachableError, HubPickleOnlyError } from './errors.js';
import { COMMIT_SHA, formatHubModelId, parseHubModelId, type HubModelRef } from './model-id.js';
import { isNetworkError } from '../../util/network-error.js';

export { DEFAULT_HUB_URL, hubOffline } from './hub-access.js';

/** Files a model folder may carry besides config, tokenizer and weights; fetched when the repo has them. */
export type HubModelParts = 'model' | 'tokenizer' | 'config';

export const OPTIONAL_MODEL_FILES = ['tokenizer_config.json', 'generation_config.json', 'special_tokens_map.json'];
const OPTIONAL_TOKENIZER_FILES = ['tokenizer_config.json', 'special_tokens_map.json'];

/** The files of `parts` that `dir` lacks. */
function missingParts(dir: string, parts: HubModelParts): string[] {
  if (parts === 'model') return missingModelFiles(dir);
  return (parts === 'config' ? ['config.json'] : ['config.json', 'tokenizer.json']).filter((f) => !isFile(join(dir, f)));
}
const PICKLE = /\.(bin|pt|pth|ckpt|pkl)$/;

export interface HubModelOptions extends HubAccessOptions {
  /** Show a progress bar (default: stderr is a terminal). */
  tty?: boolean;
  /**
   * What to fetch: the whole model folder (default); `tokenizer` (config.json and the tokenizer
   * files, what prepare-dataset reads); `config` (config.json alone, what a dry-run plan reads).
   * The repo's weights are checked (pickle-only refused) in every case; only `model` downloads them.
   */
  parts?: HubModelParts;
}

export interface ResolvedHubModel {
  repo: string;
  revision: string;
  /** The commit the revision resolved to: what the run records, so a rerun uses the same weights. */
  sha: string;
  /** snapshots/<sha>: a Hugging Face model folder. */
  dir: string;
  /** No request was made. */
  fromCache: boolean;
}

/** What the cache holds for `ref` without any request: the snapshot folder and the files it lacks. */
export function cachedHubModel(ref: HubModelRef, opts: Pick<HubModelOptions, 'cacheDir' | 'parts'> = {}): (ResolvedHubModel & { missing: string[] }) | null {
  const repoDir = repoCacheDir(opts.cacheDir ?? hubCacheDir(), ref.repo);
  const sha = readRef(repoDir, ref.revision);
  if (!sha) return null;
  const dir = snapshotDir(repoDir, sha);
  const missing = missingParts(dir, opts.parts ?? 'model');
  return { repo: ref.repo, revision: ref.revision, sha, dir, fromCache: true, missing };
}

const normalizeEtag = (e: string | null): string | null => (e ? e.replace(/^W\//, '').replace(/"/g, '') : null);

/**
 * Makes the model `ref` names a complete folder in the Hugging Face cache and returns it. A
 * snapshot the cache already holds completely (ours or Python's) is used with no request at
 * all; otherwise the revision is resolved to a commit, the repo's file list checked (pickle-only
 * weights are refused before any download), and the missing files fetched: resumed from a
 * partial `.incomplete` blob, verified against the Hub's etag, linked into snapshots/<sha>/.
 */
export async function ensureHubModel(ref: HubModelRef, opts: HubModelOptions = {}): Promise<ResolvedHubModel> {
  const s = hubSettings(opts);
  const parts = opts.parts ?? 'model';
  const cached = cachedHubModel(ref, { cacheDir: s.cacheDir, parts });
  if (cached && cached.missing.length === 0) {
    s.logger.info({ model: ref.repo, revision: ref.revision, sha: cached.sha, folder: cached.dir }, 'using the cached Hub model');
    const { missing: _m, ...hit } = cached;
    return hit;
  }
  if (s.offline) {
    const why = cached ? `snapshot ${cached.sha} lacks ${cached.missing.join(', ')}` : `no ${relative(s.cacheDir, refPath(repoCacheDir(s.cacheDir, ref.repo), ref.revision))} and no snapshot for it`;
    throw new HubModelNotCachedError(ref.repo, ref.revision, s.cacheDir, why, true);
  }
  const repoDir = repoCacheDir(s.cacheDir, ref.repo);
  const auth = s.auth;
  const fail = (err: unknown): never => {
    if (isNetworkError(err)) throw new HubModelUnreachableError(ref.repo, s.endpoint, s.cacheDir, err);
    if (err instanceof HubApiError && [401, 403, 404].includes(err.statusCode)) throw new HubModelNotFoundError(ref.repo, ref.revision, s.endpoint, err.statusCode, err.message);
    throw err;
  };

  let sha = '';
  let repoFiles: string[] = [];
  try {
    const info = await modelInfo({ name: ref.repo, revision: ref.revision, hubUrl: s.endpoint, accessToken: s.accessToken, fetch: s.fetch, additionalFields: ['sha', 'filePaths'] });
    sha = String(info.sha ?? '');
    repoFiles = info.filePaths ?? [];
  } catch (err) {
    fail(err);
  }
  if (!COMMIT_SHA.test(sha)) throw new HubModelError(`the Hub at ${s.endpoint} answered no commit sha for ${ref.repo}@${ref.revision}`);
  for (const f of repoFiles) assertRelativePath(f, `file listed by ${s.endpoint} for ${ref.repo}`);
  const has = new Set(repoFiles);
  const dir = snapshotDir(repoDir, sha);

  const wanted: string[] = ['config.json'];
  if (!has.has('config.json')) throw new HubModelError(`model ${ref.repo}@${sha} has no config.json`, { hint: 'lora-study needs a transformers model repo (config.json, model.safetensors, tokenizer.json)' });
  if (parts !== 'config') {
    if (!has.has('tokenizer.json')) {
      throw new HubModelError(`model ${ref.repo}@${sha} has no tokenizer.json (the fast-tokenizer file lora-study reads)`, {
        hint: `save one with transformers: AutoTokenizer.from_pretrained("${ref.repo}").save_pretrained("<folder>") and use a local folder`,
      });
    }
    wanted.push('tokenizer.json');
  }
  const weights = has.has('model.safetensors') ? ['model.safetensors'] : has.has('model.safetensors.index.json') ? ['model.safetensors.index.json'] : [];
  if (weights.length === 0) {
    const pickles = repoFiles.filter((f) => PICKLE.test(f));
    if (pickles.length) throw new HubPickleOnlyError(ref.repo, sha, pickles);
    throw new HubModelError(`model ${ref.repo}@${sha} has no model.safetensors or model.safetensors.index.json`, { hint: `its files: ${repoFiles.slice(0, 12).join(', ')}` });
  }

  const progressFiles: Array<{ file: string; url: string; etag: string; size: number; blob: string }> = [];
  const head = async (file: string) => {
    const url = hubFileUrl(s.endpoint, ref.repo, sha, file);
    let res: Response;
    try {
      res = await s.fetch(url, { method: 'HEAD', redirect: 'manual', headers: { ...auth, 'Accept-Encoding': 'identity' } });
    } catch (err) {
      return fail(err);
    }
    if (res.status >= 400) throw new HubModelError(`HEAD ${url} answered HTTP ${res.status}`, { hint: hubStatusHint(res.status) });
    const etag = normalizeEtag(res.headers.get('x-linked-etag') ?? res.headers.get('etag'));
    const size = Number(res.headers.get('x-linked-size') ?? res.headers.get('content-length'));
    if (!etag || !/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(etag) || !Number.isFinite(size)) {
      throw new HubModelError(`the Hub's answer for ${file} of ${ref.repo}@${sha} carries no usable etag/size (etag ${etag}, size ${size}); cannot verify the download`);
    }
    return { file, url, etag, size, blob: join(repoDir, 'blobs', etag) };
  };

  const fetchFiles = async (files: string[]) => {
    const todo = [];
    for (const f of files) if (!isFile(join(dir, f))) todo.push(await head(f));
    const pending = todo.filter((t) => !isFile(t.blob));
    const progress = pending.length ? new DownloadProgress(ref.repo, pending.reduce((n, t) => n + t.size, 0), s.logger, opts.tty) : null;
    for (const t of todo) {
      if (!isFile(t.blob)) {
        progress!.fileStart(t.file, t.size);
        try {
          // One downloader per blob among processes sharing the cache; a waiter finds it done.
          await withDownloadLock(join(s.cacheDir, '.locks', basename(repoDir), `${t.etag}.lora-study.lock`), `${ref.repo}/${t.file}`, s.logger, async () => {
            if (!isFile(t.blob)) await downloadBlob({ url: t.url, headers: auth, blobPath: t.blob, etag: t.etag, size: t.size, label: `${ref.repo}/${t.file}`, fetch: s.fetch, onBytes: (n) => progress!.add(n) });
          });
        } catch (err) {
          progress!.stop();
          if (isNetworkError(err)) fail(err);
          throw err;
        }
      }
      await linkIntoSnapshot(t.blob, join(dir, t.file));
    }
    progress?.stop();
  };

  await fetchFiles(parts === 'model' ? [...wanted, ...weights] : wanted);
  if (parts !== 'config') {
    if (parts === 'model' && weights[0] === 'model.safetensors.index.json') {
      const index = JSON.parse(readFileSync(join(dir, weights[0]), 'utf8')) as { weight_map?: Record<string, string> };
      const shards = [...new Set(Object.values(index.weight_map ?? {}))].sort();
      for (const f of shards) assertRelativePath(f, `shard listed in ${ref.repo}/model.safetensors.index.json`);
      await fetchFiles(shards);
    }
    const optionalFiles = parts === 'model' ? OPTIONAL_MODEL_FILES : OPTIONAL_TOKENIZER_FILES;
    await fetchFiles(optionalFiles.filter((f) => has.has(f)));
    // As huggingface_hub does: remember that a file is absent at this commit.
    for (const f of optionalFiles.filter((x) => !has.has(x))) {
      const p = noExistPath(repoDir, sha, f);
      if (!existsSync(p)) await writeFileAtomic(p, '');
    }
  }
  if (ref.revision !== sha) await writeFileAtomic(refPath(repoDir, ref.revision), sha);
  return { repo: ref.repo, revision: ref.revision, sha, dir, fromCache: false };
}

/** snapshots/<sha>/<file> → ../../blobs/<etag>, relative as huggingface_hub makes it (a copy where links are refused). */
async function linkIntoSnapshot(blob: string, target: string): Promise<void> {
  await mkdir(dirname(target), { recursive: true });
  await rm(target, { force: true });
  try {
    symlinkSync(relative(dirname(target), blob), target);
  } catch {
    copyFileSync(blob, target);
  }
}

/** A model spec resolved to a local folder; `spec` is what a run records (`repo@sha` for a Hub model). */
export interface ResolvedModel {
  dir: string;
  spec: string;
  hub?: ResolvedHubModel;
}

/**
 * The folder a model spec names, downloading a Hub model into the cache when needed: a local
 * folder is returned as is; a Hub id (`org/name[@revision]`) comes back pinned to its commit.
 */
export async function resolveModel(spec: string, opts: HubModelOptions = {}): Promise<ResolvedModel> {
  const ref = parseHubModelId(spec);
  if (!ref) return { dir: spec, spec };
  const hub = await ensureHubModel(ref, opts);
  return { dir: hub.dir, spec: formatHubModelId({ repo: hub.repo, revision: hub.sha }), hub };
}

/**
 * The folder a model spec names, from the cache only (no network; for the synchronous readers
 * after resolveModel ran): a local folder as is, a Hub id as its cached snapshot folder.
 */
export function localModelDir(spec: string, opts: Pick<HubModelOptions, 'cacheDir'> = {}): string {
  const ref = parseHubModelId(spec);
  if (!ref) return spec;
  const cacheDir = opts.cacheDir ?? hubCacheDir();
  const hit = cachedHubModel(ref, { cacheDir, parts: 'config' });
  if (!hit) throw new HubModelNotCachedError(ref.repo, ref.revision, cacheDir, 'it was never downloaded', false);
  return hit.dir;
}

/** `hf:<repo>@<sha>` for a Hub id the cache resolves (the revision when it does not), else null for a local folder. */
export function hubModelIdentity(spec: string): string | null {
  const ref = parseHubModelId(spec);
  if (!ref) return null;
  const hit = cachedHubModel(ref, { parts: 'config' });
  return `hf:${ref.repo}@${hit?.sha ?? ref.revision}`;
}

/**
 * What a dry-run plan needs of each Hub id, never the weights: config.json in the cache (from
 * the cache with no request, else fetched alone after the repo's file list was checked, which
 * refuses pickle-only repos). Returns the error of each id that could not be prepared, for its plan rows.
 */
export async function prefetchModelConfigs(specs: string[], opts: HubModelOptions = {}): Promise<Map<string, string>> {
  const errors = new Map<string, string>();
  for (const spec of new Set(specs)) {
    const ref = parseHubModelId(spec);
    if (!ref) continue;
    try {
      await ensureHubModel(ref, { ...opts, parts: 'config' });
    } catch (err) {
      errors.set(spec, describeHubError(err));
    }
  }
  return errors;
}
