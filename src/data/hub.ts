import { existsSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { downloadFile, HubApiError, listFiles } from '@huggingface/hub';
import type { Logger } from '../util/logger.js';
import { LoraStudyError } from '../util/errors.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { assertRelativePath } from '../util/path-segment.js';
import { DATA_FILE_EXTENSIONS } from './read-local.js';
import { isNetworkError } from '../util/network-error.js';

export const DEFAULT_HUB_URL = 'https://huggingface.co';

/** `$LORA_STUDY_CACHE/hub`, else `~/.cache/lora-study/hub`. */
export function defaultHubCacheDir(): string {
  return join(process.env.LORA_STUDY_CACHE ?? join(homedir(), '.cache', 'lora-study'), 'hub');
}

export class HubRepoNotFoundError extends LoraStudyError {
  constructor(readonly repo: string, readonly endpoint: string, readonly status: number) {
    super(`dataset repo "${repo}" does not exist on ${endpoint} (HTTP ${status})`, {
      hint: 'check the name (hf:<owner>/<name>); a private or gated dataset needs HF_TOKEN set to a token that can read it',
    });
  }
}

export class HubUnreachableError extends LoraStudyError {
  constructor(readonly endpoint: string, readonly repo: string, readonly split: string, readonly cacheDir: string, cause: unknown) {
    const code = (cause as { cause?: { code?: string } })?.cause?.code ?? (cause as Error)?.message;
    super(`could not reach the Hugging Face Hub at ${endpoint} (${code}), and no cached copy of ${repo} (split "${split}") was found in ${cacheDir}`, {
      hint: 'connect to the network (or set HF_ENDPOINT to a reachable mirror) once to fill the cache, or use builtin:<task> or a local file',
      cause,
    });
  }
}

export class HubRequestError extends LoraStudyError {
  constructor(readonly repo: string, readonly status: number, readonly url: string, detail: string) {
    super(`Hub request for ${repo} failed with HTTP ${status}: ${detail}`);
  }
}

export class HubSplitNotFoundError extends LoraStudyError {
  constructor(readonly repo: string, readonly split: string, readonly dataFiles: string[]) {
    super(`dataset repo "${repo}" has no data files for split "${split}"`, {
      hint: dataFiles.length ? `its data files: ${dataFiles.slice(0, 10).join(', ')}${dataFiles.length > 10 ? ', …' : ''}` : 'the repo has no .parquet/.jsonl/.json files',
    });
  }
}

const KNOWN_SPLITS = ['train', 'test', 'validation', 'valid', 'dev', 'eval'];

function splitPattern(split: string): RegExp {
  // The `datasets` library's convention: the split name as a word of the path, e.g.
  // data/train-00000-of-00001.parquet, train.jsonl, data/test/part-0.parquet.
  const esc = split.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(^|[-._ 0-9/])${esc}([-._ 0-9/]|$)`);
}

/**
 * The repo files that hold `split`: data files whose path names the split; when no file names
 * any split, all data files are `train`. Only the preferred format is kept (Parquet, then JSON
 * Lines, then JSON), since repos often carry the same rows in several formats.
 */
export function selectSplitFiles(paths: string[], split: string): string[] {
  const data = paths.filter((p) => !p.split('/').some((seg) => seg.startsWith('.')) && DATA_FILE_EXTENSIONS.some((e) => p.toLowerCase().endsWith(e)));
  const named = data.filter((p) => KNOWN_SPLITS.some((s) => splitPattern(s).test(p.toLowerCase())));
  const candidates = named.length === 0 ? (split === 'train' ? data : []) : data.filter((p) => splitPattern(split).test(p.toLowerCase()));
  for (const ext of DATA_FILE_EXTENSIONS) {
    const ofType = candidates.filter((p) => p.toLowerCase().endsWith(ext));
    if (ofType.length) return ofType.sort();
  }
  return [];
}

export interface HubDatasetParams {
  repo: string;
  split?: string;
  revision?: string;
  /** Defaults to HF_ENDPOINT, then https://huggingface.co. */
  hubUrl?: string;
  /** Defaults to HF_TOKEN. */
  accessToken?: string;
  cacheDir?: string;
  fetch?: typeof fetch;
}

export interface HubDataset {
  repo: string;
  split: string;
  revision: string;
  endpoint: string;
  /** Local paths of the split's files, in the cache. */
  files: string[];
  /** Their paths in the repo. */
  repoFiles: string[];
  fromCache: boolean;
}

interface Manifest {
  repo: string;
  split: string;
  revision: string;
  files: Array<{ path: string; size: number }>;
}

/** The cache's record of a downloaded split; a damaged one (an interrupted write, an edit) counts as no cache. */
function readManifest(path: string, logger: Logger): Manifest | null {
  try {
    const m = JSON.parse(readFileSync(path, 'utf8')) as Manifest;
    if (Array.isArray(m?.files) && m.files.every((f) => typeof f?.path === 'string' && typeof f?.size === 'number')) return m;
  } catch {
    // fall through
  }
  logger.warn({ manifest: path }, 'the cached download record is damaged; downloading the split again');
  return null;
}

/**
 * Finds a dataset split's data files on the Hub and downloads them into the cache; a split
 * already cached is used without any network access.
 */
export async function fetchHubDataset(params: HubDatasetParams, logger: Logger): Promise<HubDataset> {
  const split = params.split ?? 'train';
  const revision = params.revision ?? 'main';
  const endpoint = (params.hubUrl ?? process.env.HF_ENDPOINT ?? DEFAULT_HUB_URL).replace(/\/+$/, '');
  const accessToken = params.accessToken ?? (process.env.HF_TOKEN || undefined);
  const cacheDir = params.cacheDir ?? defaultHubCacheDir();
  const root = join(cacheDir, 'datasets', ...params.repo.split('/'), encodeURIComponent(revision));
  const manifestPath = join(root, `.lora-study-split-${encodeURIComponent(split)}.json`);
  const base = { repo: params.repo, split, revision, endpoint };

  const cached = existsSync(manifestPath) ? readManifest(manifestPath, logger) : null;
  if (cached) {
    for (const f of cached.files) assertRelativePath(f.path, `file listed in ${manifestPath}`);
    const files = cached.files.map((f) => join(root, f.path));
    if (cached.files.every((f, i) => existsSync(files[i]) && statSync(files[i]).size === f.size)) {
      logger.info({ repo: params.repo, split, cache: root }, 'using cached Hub dataset');
      return { ...base, files, repoFiles: cached.files.map((f) => f.path), fromCache: true };
    }
  }

  const repo = { type: 'dataset' as const, name: params.repo };
  const common = { repo, revision, hubUrl: endpoint, accessToken, fetch: params.fetch };
  const fail = (err: unknown): never => {
    if (isNetworkError(err)) throw new HubUnreachableError(endpoint, params.repo, split, cacheDir, err);
    if (err instanceof HubApiError) {
      if (err.statusCode === 404 || err.statusCode === 401) throw new HubRepoNotFoundError(params.repo, endpoint, err.statusCode);
      throw new HubRequestError(params.repo, err.statusCode, err.url, err.message);
    }
    throw err;
  };

  const sizes = new Map<string, number>();
  try {
    for await (const entry of listFiles({ ...common, recursive: true })) {
      if (entry.type === 'file') sizes.set(entry.path, entry.lfs?.size ?? entry.size);
    }
  } catch (err) {
    fail(err);
  }
  for (const path of sizes.keys()) assertRelativePath(path, `file listed by ${endpoint} for ${params.repo}`);
  const repoFiles = selectSplitFiles([...sizes.keys()], split);
  if (repoFiles.length === 0) {
    const dataFiles = [...sizes.keys()].filter((p) => DATA_FILE_EXTENSIONS.some((e) => p.toLowerCase().endsWith(e)));
    throw new HubSplitNotFoundError(params.repo, split, dataFiles);
  }

  const files: Manifest['files'] = [];
  for (const path of repoFiles) {
    logger.info({ repo: params.repo, file: path, bytes: sizes.get(path) }, 'downloading from the Hub');
    let bytes: Uint8Array;
    try {
      const blob = await downloadFile({ ...common, path });
      if (!blob) throw new HubSplitNotFoundError(params.repo, split, repoFiles);
      bytes = new Uint8Array(await blob.arrayBuffer());
    } catch (err) {
      fail(err);
    }
    await writeFileAtomic(join(root, path), bytes!);
    files.push({ path, size: bytes!.byteLength });
  }
  const manifest: Manifest = { repo: params.repo, split, revision, files };
  await writeFileAtomic(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
  return { ...base, files: files.map((f) => join(root, f.path)), repoFiles, fromCache: false };
}
