/**
 * Plain-object records the tracker reads and writes. Every field maps to one column documented
 * in docs/tracking-schema.md; camelCase here, snake_case in SQLite.
 */

export const RUN_STATUSES = ['queued', 'running', 'completed', 'failed', 'interrupted'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

export const SUITE_STATUSES = ['running', 'completed', 'failed', 'interrupted'] as const;
export type SuiteStatus = (typeof SUITE_STATUSES)[number];

/** Where a run executed; recorded so results can be compared only where they are comparable. */
export interface RunEnvironment {
  /** tfjs backend actually used: `tensorflow`, `wasm`, `cpu`. */
  backend?: string | null;
  /** Device in words, e.g. `NVIDIA H100 80GB` or `cpu x16 (wasm simd+threads)`. */
  device?: string | null;
  /** Package name → version, e.g. `{ "@tensorflow/tfjs-core": "4.22.0" }`. */
  packageVersions?: Record<string, string> | null;
  gitCommit?: string | null;
}

export interface CreateSuiteParams {
  name: string;
  /** The suite config as loaded (before sweep expansion). */
  config: unknown;
  /** Defaults to `hashConfig(config)`. */
  configHash?: string;
}

export interface StartRunParams extends RunEnvironment {
  suiteId?: number | null;
  /** Human name, unique within a suite by convention, e.g. `rank_sweep/r8/seed1`. */
  name: string;
  /** `rank`, `module`, `quantization`, `single`, or any type a later experiment adds. */
  experimentType: string;
  /** The fully resolved config; stored as JSON. */
  config: unknown;
  /** Defaults to `hashConfig(config)`; what `findCompletedRun` matches for `--resume`. */
  configHash?: string;
  seed?: number | null;
  /** Short label of the swept setting, e.g. `r=8`, `q_proj+v_proj`, `nf4`; seeds share it. */
  variant?: string | null;
  /** The config path the study varies, e.g. `lora.r`, `lora.use_dora` (null for run-single). */
  variedPath?: string | null;
  /** The value at `variedPath` for this run (any JSON value); stored as JSON. */
  variedValue?: unknown;
  /** LoRA rank r. */
  rank?: number | null;
  /** Target module names; stored comma-joined in the order given. */
  targetModules?: readonly string[] | null;
  /** Base-weight precision: `fp32`, `int8`, `nf4`, `nf4-dq`, `fp4`. */
  quantization?: string | null;
  /** Base model name or path. */
  model?: string | null;
  /** Dataset name. */
  dataset?: string | null;
  /** `running` (default) sets `started_at` now; `queued` leaves it for `setRunStatus`. */
  status?: 'queued' | 'running';
}

export interface FinishRunParams {
  status: 'completed' | 'failed' | 'interrupted';
  error?: string | null;
  /** Wall-clock seconds of the run; computed from `started_at` when omitted. */
  wallTimeS?: number | null;
  /**
   * Complete only if this row is still `running` and no other run with its config hash has
   * completed; otherwise the row is recorded `interrupted` (superseded). Queue workers use it,
   * so a run retried after its worker was presumed dead is never completed twice.
   */
  exclusive?: boolean;
}

/** One optimizer step. Undefined fields are stored as NULL. */
export interface StepRow {
  step: number;
  loss?: number | null;
  lr?: number | null;
  gradNorm?: number | null;
  tokensPerS?: number | null;
  /** Seconds since the run started, at the end of this step. */
  elapsedS?: number | null;
  /** Eval loss when an evaluation ran at this step. */
  evalLoss?: number | null;
  /** Anything else measured per step (kept as JSON). */
  extra?: Record<string, number> | null;
}

/** A step as read back: every field present, NULL columns as `null`. */
export interface StepRecord {
  step: number;
  loss: number | null;
  lr: number | null;
  gradNorm: number | null;
  tokensPerS: number | null;
  elapsedS: number | null;
  evalLoss: number | null;
  extra: Record<string, number> | null;
}

export interface SuiteRecord {
  id: number;
  name: string;
  config: unknown;
  configHash: string;
  status: SuiteStatus;
  startedAt: string;
  finishedAt: string | null;
  hostname: string | null;
  pid: number | null;
}

export interface RunRecord {
  id: number;
  suiteId: number | null;
  suiteName: string | null;
  name: string;
  experimentType: string;
  variant: string | null;
  variedPath: string | null;
  /** JSON-decoded; null when the run records no varied path. */
  variedValue: unknown;
  rank: number | null;
  targetModules: string[] | null;
  quantization: string | null;
  model: string | null;
  dataset: string | null;
  config: unknown;
  configHash: string;
  seed: number | null;
  status: RunStatus;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  wallTimeS: number | null;
  error: string | null;
  backend: string | null;
  device: string | null;
  packageVersions: Record<string, string> | null;
  gitCommit: string | null;
  hostname: string | null;
  pid: number | null;
}

export interface MetricValue {
  value: number;
  unit: string | null;
}

export interface ArtifactRecord {
  id: number;
  runId: number;
  kind: string;
  path: string;
  bytes: number | null;
  createdAt: string;
  /** The host whose filesystem `path` is on (schema 3; NULL for older rows). */
  hostname: string | null;
}

export interface RunDetail extends RunRecord {
  /** Summary metrics by name. */
  metrics: Record<string, MetricValue>;
  /** Step metrics in step order. */
  steps: StepRecord[];
  artifacts: ArtifactRecord[];
}

export interface RunFilter {
  /** Suite name (all suites of that name) or suite id. */
  suite?: string | number;
  status?: RunStatus | readonly RunStatus[];
  experimentType?: string;
  /** Newest first when set; otherwise oldest first (id order). */
  limit?: number;
}

export interface MarkStaleOptions {
  /** Only runs of this suite. */
  suiteId?: number;
  /**
   * Runs recorded on another host cannot have their pid checked; they are left alone unless
   * this is true (use it when you know no other machine writes to this database).
   */
  includeOtherHosts?: boolean;
}

/** Facts learned after `startRun`; omitted fields keep their value. */
export interface UpdateRunParams extends RunEnvironment {
  /** `running` moves a queued run to running, stamping started_at and this process as owner. */
  status?: 'running';
}

/**
 * What `claimRun` found: the run is ours to execute (`runId`), or another row already stands
 * for it — a completed run, or one running in a process that is still alive.
 */
export interface ClaimOptions {
  /**
   * The caller holds the queue's lease on this run: a row left `running` for the same config
   * hash belongs to an earlier attempt whose worker stopped, and is marked `interrupted`.
   */
  supersede?: boolean;
}

export type ClaimResult =
  | { claimed: true; runId: number }
  | { claimed: false; reason: 'completed' | 'running'; run: RunRecord };
