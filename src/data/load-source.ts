import type { Logger } from '../util/logger.js';
import { builtinExampleStream } from './builtin/registry.js';
import { exampleKey } from './example.js';
import { checkFieldMap, detectFieldMap, type FieldMap, parseFieldsOption, type RowResult, rowToExample } from './fields.js';
import { fetchHubDataset } from './hub.js';
import { Rng } from './prng.js';
import { listLocalDataFiles, readDataFiles, type SourceFileInfo } from './read-local.js';
import type { SourceSpec } from './source-spec.js';

/** A source row on its way in: where it came from and what it turned into. */
export interface Candidate {
  row: number;
  id: string;
  task?: string;
  result: RowResult;
}

/** A loaded source: its rows in the seeded reading order, plus facts for meta.json. */
export interface LoadedSource {
  /** Rows in reading order. Built-in sources are endless. */
  candidates: Iterable<Candidate>;
  /** How many rows the source has; null for an endless built-in stream. */
  available: number | null;
  fields: FieldMap | null;
  details: Record<string, unknown>;
}

export interface LoadSourceOptions {
  seed: number;
  fields?: string | FieldMap;
  cacheDir?: string;
  hubUrl?: string;
  accessToken?: string;
  fetch?: typeof fetch;
}

/** Generated rows; a repeat of an earlier one is marked `duplicate`. */
function* builtinCandidates(dataset: string, seed: number): Generator<Candidate> {
  const seen = new Set<string>();
  let row = 0;
  for (const ex of builtinExampleStream(dataset, seed)) {
    row++;
    const example = { instruction: ex.instruction, input: ex.input, response: ex.response };
    const key = exampleKey(example);
    const dup = seen.has(key);
    seen.add(key);
    yield { row, id: ex.id, task: ex.task, result: dup ? { drop: 'duplicate' } : { ok: example } };
  }
}

/**
 * File rows in a seeded random order, which makes --num-samples a random sample and the eval
 * split a random subset while the same seed reproduces both. Duplicates are found in file
 * order first, so the copy kept is always the earliest, whatever the seed.
 */
function* shuffledCandidates(rows: unknown[], map: FieldMap, seed: number): Generator<Candidate> {
  const seen = new Set<string>();
  const results = rows.map((r): RowResult => {
    const res = rowToExample(r, map);
    if ('drop' in res) return res;
    const key = exampleKey(res.ok);
    if (seen.has(key)) return { drop: 'duplicate' };
    seen.add(key);
    return res;
  });
  const order = new Rng(seed).shuffle(Array.from(rows, (_, i) => i));
  for (const i of order) yield { row: i + 1, id: `row-${i + 1}`, result: results[i] };
}

function fileFacts(files: SourceFileInfo[]): Array<Record<string, unknown>> {
  return files.map((f) => ({ path: f.path, format: f.format, rows: f.rows, bytes: f.bytes, sha256: f.sha256 }));
}

export async function loadSource(spec: SourceSpec, opts: LoadSourceOptions, logger: Logger): Promise<LoadedSource> {
  if (spec.kind === 'builtin') {
    return { candidates: builtinCandidates(spec.dataset, opts.seed), available: null, fields: null, details: { dataset: spec.dataset } };
  }
  let paths: string[];
  let details: Record<string, unknown>;
  if (spec.kind === 'hub') {
    const hub = await fetchHubDataset(
      { repo: spec.repo, split: spec.split, revision: spec.revision, cacheDir: opts.cacheDir, hubUrl: opts.hubUrl, accessToken: opts.accessToken, fetch: opts.fetch },
      logger,
    );
    paths = hub.files;
    details = { repo: hub.repo, split: hub.split, revision: hub.revision, endpoint: hub.endpoint, repo_files: hub.repoFiles, from_cache: hub.fromCache };
  } else {
    paths = listLocalDataFiles(spec.path);
    details = {};
  }
  const raw = await readDataFiles(paths);
  logger.info({ rows: raw.rows.length, files: paths.length }, 'read source rows');
  const fields = opts.fields === undefined
    ? detectFieldMap(raw.rows)
    : checkFieldMap(typeof opts.fields === 'string' ? parseFieldsOption(opts.fields) : opts.fields, raw.rows);
  return { candidates: shuffledCandidates(raw.rows, fields, opts.seed), available: raw.rows.length, fields, details: { ...details, files: fileFacts(raw.files) } };
}
