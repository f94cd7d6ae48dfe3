import type { RunStore } from '../run-store.js';
import type {
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
} from '../types.js';
import { openTracker, type OpenTrackerOptions, type Tracker } from './tracker.js';

/**
 * The embedded store: the synchronous SQLite `Tracker` behind the async RunStore interface.
 * better-sqlite3 is synchronous by design (a local file answers in microseconds), so each method
 * simply resolves with the tracker's result.
 */
export class SqliteRunStore implements RunStore {
  readonly kind = 'sqlite' as const;
  readonly location: string;

  constructor(readonly tracker: Tracker) {
    this.location = tracker.path;
  }

  async close(): Promise<void> {
    this.tracker.close();
  }
  async createSuite(p: CreateSuiteParams): Promise<number> {
    return this.tracker.createSuite(p);
  }
  async finishSuite(suiteId: number, status: Exclude<SuiteStatus, 'running'>): Promise<void> {
    this.tracker.finishSuite(suiteId, status);
  }
  async getSuite(suiteId: number): Promise<SuiteRecord | null> {
    return this.tracker.getSuite(suiteId);
  }
  async listSuites(name?: string): Promise<SuiteRecord[]> {
    return this.tracker.listSuites(name);
  }
  async startRun(p: StartRunParams): Promise<number> {
    return this.tracker.startRun(p);
  }
  async claimRun(p: StartRunParams, opts?: ClaimOptions): Promise<ClaimResult> {
    return this.tracker.claimRun(p, opts);
  }
  async updateRun(runId: number, p: UpdateRunParams): Promise<void> {
    this.tracker.updateRun(runId, p);
  }
  async finishRun(runId: number, p: FinishRunParams): Promise<RunStatus> {
    return this.tracker.finishRun(runId, p);
  }
  async logSteps(runId: number, rows: readonly StepRow[]): Promise<void> {
    this.tracker.logSteps(runId, rows);
  }
  async recordMetrics(runId: number, values: Record<string, number>, units?: Record<string, string>): Promise<void> {
    this.tracker.recordMetrics(runId, values, units);
  }
  async addArtifact(runId: number, kind: string, path: string, bytes?: number): Promise<number> {
    return this.tracker.addArtifact(runId, kind, path, bytes);
  }
  async findCompletedRun(configHash: string): Promise<RunRecord | null> {
    return this.tracker.findCompletedRun(configHash);
  }
  async markStaleRunsInterrupted(opts?: MarkStaleOptions): Promise<number[]> {
    return this.tracker.markStaleRunsInterrupted(opts);
  }
  async listRuns(filter?: RunFilter): Promise<RunRecord[]> {
    return this.tracker.listRuns(filter);
  }
  async getRun(runId: number): Promise<RunDetail | null> {
    return this.tracker.getRun(runId);
  }
  async getMetrics(runId: number): Promise<Record<string, MetricValue>> {
    return this.tracker.getMetrics(runId);
  }
}

export function openSqliteStore(path: string, opts: OpenTrackerOptions = {}): SqliteRunStore {
  return new SqliteRunStore(openTracker(path, opts));
}
