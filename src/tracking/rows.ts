import type { ArtifactRecord, RunRecord, RunStatus, StepRecord, SuiteRecord, SuiteStatus } from './types.js';

/** Row shapes as SQLite and Postgres return them (snake_case), and their mapping to the plain records. */

export interface SuiteRow {
  id: number;
  name: string;
  config_json: string;
  config_hash: string;
  status: string;
  started_at: string;
  finished_at: string | null;
  hostname: string | null;
  pid: number | null;
}

export interface RunRow {
  id: number;
  suite_id: number | null;
  suite_name: string | null;
  name: string;
  experiment_type: string;
  variant: string | null;
  varied_path: string | null;
  varied_value_json: string | null;
  rank: number | null;
  target_modules: string | null;
  quantization: string | null;
  model: string | null;
  dataset: string | null;
  config_json: string;
  config_hash: string;
  seed: number | null;
  status: string;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  wall_time_s: number | null;
  error: string | null;
  backend: string | null;
  device: string | null;
  package_versions_json: string | null;
  git_commit: string | null;
  hostname: string | null;
  pid: number | null;
}

export interface StepDbRow {
  step: number;
  loss: number | null;
  lr: number | null;
  grad_norm: number | null;
  tokens_per_s: number | null;
  elapsed_s: number | null;
  eval_loss: number | null;
  extra_json: string | null;
}

export interface ArtifactRow {
  id: number;
  run_id: number;
  kind: string;
  path: string;
  bytes: number | null;
  created_at: string;
  hostname: string | null;
}

function parseJson<T>(text: string | null): T | null {
  return text === null ? null : (JSON.parse(text) as T);
}

export function toSuite(r: SuiteRow): SuiteRecord {
  return {
    id: r.id,
    name: r.name,
    config: parseJson(r.config_json),
    configHash: r.config_hash,
    status: r.status as SuiteStatus,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    hostname: r.hostname,
    pid: r.pid,
  };
}

export function toRun(r: RunRow): RunRecord {
  return {
    id: r.id,
    suiteId: r.suite_id,
    suiteName: r.suite_name,
    name: r.name,
    experimentType: r.experiment_type,
    variant: r.variant,
    variedPath: r.varied_path,
    variedValue: parseJson(r.varied_value_json),
    rank: r.rank,
    targetModules: r.target_modules === null ? null : r.target_modules.split(',').filter(Boolean),
    quantization: r.quantization,
    model: r.model,
    dataset: r.dataset,
    config: parseJson(r.config_json),
    configHash: r.config_hash,
    seed: r.seed,
    status: r.status as RunStatus,
    createdAt: r.created_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    wallTimeS: r.wall_time_s,
    error: r.error,
    backend: r.backend,
    device: r.device,
    packageVersions: parseJson(r.package_versions_json),
    gitCommit: r.git_commit,
    hostname: r.hostname,
    pid: r.pid,
  };
}

export function toStep(r: StepDbRow): StepRecord {
  return {
    step: r.step,
    loss: r.loss,
    lr: r.lr,
    gradNorm: r.grad_norm,
    tokensPerS: r.tokens_per_s,
    elapsedS: r.elapsed_s,
    evalLoss: r.eval_loss,
    extra: parseJson(r.extra_json),
  };
}

export function toArtifact(r: ArtifactRow): ArtifactRecord {
  return { id: r.id, runId: r.run_id, kind: r.kind, path: r.path, bytes: r.bytes, createdAt: r.created_at, hostname: r.hostname ?? null };
}

/** SQLite stores NaN as NULL; Infinity survives but JSON cannot carry it, so store both as NULL. */
export function finiteOrNull(x: number | null | undefined): number | null {
  return typeof x === 'number' && Number.isFinite(x) ? x : null;
}

export const RUN_SELECT = `
  SELECT runs.id, runs.suite_id, suites.name AS suite_name, runs.name, runs.experiment_type,
         runs.variant, runs.varied_path, runs.varied_value_json, runs.rank, runs.target_modules, runs.quantization, runs.model, runs.dataset,
         runs.config_json, runs.config_hash, runs.seed, runs.status, runs.created_at,
         runs.started_at, runs.finished_at, runs.wall_time_s, runs.error, runs.backend,
         runs.device, runs.package_versions_json, runs.git_commit, runs.hostname, runs.pid
  FROM runs LEFT JOIN suites ON suites.id = runs.suite_id`;
