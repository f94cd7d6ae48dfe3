import type {
  ArtifactRecord,
  ClaimOptions,
  ClaimResult,
  CreateSuiteParams,
  FinishRunParams,
  MarkStaleOptions,
  MetricValue,
  RunDetail,
  RunFilter,
  RunRecord,
  RunStatus,
  StartRunParams,
  StepRow,
  SuiteRecord,
  SuiteStatus,
  UpdateRunParams,
} from './types.js';

/**
 * Where runs are recorded: one interface, one implementation per database (sqlite/, postgres/),
 * picked by `openRunStore` from `--db`. Both keep the same schema with the same meaning
 * (docs/tracking-schema.md); every method is async so a networked database fits behind it.
 */
export interface RunStore {
  /** `sqlite` or `postgres`. */
  readonly kind: 'sqlite' | 'postgres';
  /** The database for messages: a file path, or a postgres URL without its password. */
  readonly location: string;
  close(): Promise<void>;

  createSuite(p: CreateSuiteParams): Promise<number>;
  finishSuite(suiteId: number, status: Exclude<SuiteStatus, 'running'>): Promise<void>;
  getSuite(suiteId: number): Promise<SuiteRecord | null>;
  /** All suites, oldest first; `name` keeps only suites of that name. */
  listSuites(name?: string): Promise<SuiteRecord[]>;

  /** Records a new run (status `running` unless `queued` is asked for) and returns its id. */
  startRun(p: StartRunParams): Promise<number>;
  /**
   * Atomically: when no run with this config hash is `completed` or `running` under a live
   * owner, records a new `running` run for this process; otherwise says which row stands for it.
   */
  claimRun(p: StartRunParams, opts?: ClaimOptions): Promise<ClaimResult>;
  updateRun(runId: number, p: UpdateRunParams): Promise<void>;
  /** Ends a run; returns the status recorded (an `exclusive` completion may become `interrupted`). */
  finishRun(runId: number, p: FinishRunParams): Promise<RunStatus>;
  logSteps(runId: number, rows: readonly StepRow[]): Promise<void>;
  recordMetrics(runId: number, values: Record<string, number>, units?: Record<string, string>): Promise<void>;
  /** Records a file a run produced, with the host that wrote it (paths are only meaningful there). */
  addArtifact(runId: number, kind: string, path: string, bytes?: number): Promise<number>;
  /** The newest completed run with this config hash, or null (what `--resume` skips). */
  findCompletedRun(configHash: string): Promise<RunRecord | null>;
  /** Marks runs and suites left `running` by processes that are gone `interrupted`; returns the run ids. */
  markStaleRunsInterrupted(opts?: MarkStaleOptions): Promise<number[]>;

  listRuns(filter?: RunFilter): Promise<RunRecord[]>;
  /** One run with its metrics, steps and artifacts; null when there is no such run. */
  getRun(runId: number): Promise<RunDetail | null>;
  getMetrics(runId: number): Promise<Record<string, MetricValue>>;
}

/** What a run's lifecycle writes: the experiment records through this and knows nothing else. */
export type RunSink = Pick<RunStore, 'startRun' | 'updateRun' | 'finishRun' | 'logSteps' | 'recordMetrics' | 'addArtifact'>;

export type { ArtifactRecord };
