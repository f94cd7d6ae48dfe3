import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { describeFsError } from '../../util/fs-errors.js';
import { assert } from '../../util/errors.js';
import { hashConfig } from '../config-hash.js';
import { missingDatabaseError, openConfigured, refuseFolderAsDatabase, withDatabaseErrors } from './db-errors.js';
import { openReadOnlyDatabase } from './open-read-only.js';
import { metricInfo } from '../metric-names.js';
import { currentIdentity, type ProcessIdentity } from '../process-info.js';
import { getMetrics, getRun, getRunRecord, listRuns } from './read-runs.js';
import { finiteOrNull, RUN_SELECT, toRun, toSuite, type RunRow, type SuiteRow } from '../rows.js';
import { isOwnerGone, markStaleRunsInterrupted, type OwnerRow } from '../stale-runs.js';
import { migrate } from './schema.js';
import { SUPERSEDED_ERROR, supersededBy } from '../claim-rules.js';
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

export const DEFAULT_DB_PATH = 'results/experiments.db';

export interface OpenTrackerOptions {
  /** Fail with a LoraStudyError instead of creating a new database (for read-only commands). */
  mustExist?: boolean;
  /** How long a write waits for another process's lock before failing, in ms. Default 10 000. */
  busyTimeoutMs?: number;
  /**
   * Open for reading only (implies mustExist): no WAL switch, no migration written, no file
   * created, so a read-only database (or folder) serves `runs`, `generate-report` and
   * `evaluate-model --run`. Every write through this tracker fails.
   */
  readonly?: boolean;
}

const now = (): string => new Date().toISOString();

/**
 * Opens (creating and migrating as needed) the SQLite experiment tracker. Several processes may
 * hold the same database open and write at once: WAL lets readers run beside the one writer,
 * and every write transaction is IMMEDIATE, so a second writer waits up to busy_timeout for the
 * lock instead of failing on a read-to-write upgrade.
 */
export function openTracker(path: string = DEFAULT_DB_PATH, opts: OpenTrackerOptions = {}): Tracker {
  const busyTimeoutMs = opts.busyTimeoutMs ?? 10_000;
  refuseFolderAsDatabase(path);
  if (opts.readonly) {
    return withDatabaseErrors(new Tracker(openReadOnlyDatabase(path, busyTimeoutMs), path, currentIdentity()), path);
  }
  if (path !== ':memory:') {
    if (!existsSync(path)) {
      if (opts.mustExist) {
        throw missingDatabaseError(path);
      }
      try {
        mkdirSync(dirname(path), { recursive: true });
      } catch (err) {
        throw describeFsError(err, dirname(path), 'create the folder of the tracking database');
      }
    }
  }
  const db = openConfigured(path, path, (d) => {
    d.pragma(`busy_timeout = ${busyTimeoutMs}`);
    d.pragma('journal_mode = WAL');
    // WAL keeps committed transactions durable across a process crash at NORMAL; only an OS
    // crash can lose the last few, which a resumable study tolerates.
    d.pragma('synchronous = NORMAL');
    d.pragma('foreign_keys = ON');
    migrate(d, path);
  });
  return withDatabaseErrors(new Tracker(db, path, currentIdentity()), path);
}

/** The experiment tracker. Every method is synchronous and returns plain objects. */
export class Tracker {
  constructor(
    readonly db: Database.Database,
    readonly path: string,
    readonly identity: ProcessIdentity,
  ) {}

  close(): void {
    if (this.db.open) this.db.close();
  }

  // ── suites ────────────────────────────────────────────────────────────────────────────

  createSuite(params: CreateSuiteParams): number {
    const info = this.db
      .prepare(
        `INSERT INTO suites (name, config_json, config_hash, status, started_at, hostname, pid, invocation_id)
         VALUES (?, ?, ?, 'running', ?, ?, ?, ?)`,
      )
      .run(
        params.name,
        JSON.stringify(params.config ?? null),
        params.configHash ?? hashConfig(params.config),
        now(),
        this.identity.hostname,
        this.identity.pid,
        this.identity.invocationId,
      );
    return Number(info.lastInsertRowid);
  }

  finishSuite(suiteId: number, status: Exclude<SuiteStatus, 'running'>): void {
    const info = this.db
      .prepare(`UPDATE suites SET status = ?, finished_at = ? WHERE id = ?`)
      .run(status, now(), suiteId);
    assert(info.changes === 1, `finishSuite: no suite with id ${suiteId}`);
  }

  getSuite(suiteId: number): SuiteRecord | null {
    const row = this.db.prepare(`SELECT * FROM suites WHERE id = ?`).get(suiteId) as SuiteRow | undefined;
    return row ? toSuite(row) : null;
  }

  /** All suites, oldest first; `name` keeps only suites of that name. */
  listSuites(name?: string): SuiteRecord[] {
    const rows = (
      name === undefined
        ? this.db.prepare(`SELECT * FROM suites ORDER BY id`).all()
        : this.db.prepare(`SELECT * FROM suites WHERE name = ? ORDER BY id`).all(name)
    ) as SuiteRow[];
    return rows.map(toSuite);
  }

  // ── runs ──────────────────────────────────────────────────────────────────────────────

  /**
   * Claims a run for this process, atomically: in one IMMEDIATE transaction, looks for a run
   * with the same config hash that is `completed`, or `running` under a live owner, and only
   * when there is none records a new `running` run. N processes resuming one suite on one
   * database therefore split its runs instead of each running all of them.
   */
  claimRun(p: StartRunParams, opts: ClaimOptions = {}): ClaimResult {
    const hash = p.configHash ?? hashConfig(p.config);
    const tx = this.db.transaction((): ClaimResult => {
      const done = this.db
        .prepare(`${RUN_SELECT} WHERE runs.config_hash = ? AND runs.status = 'completed' ORDER BY runs.id DESC LIMIT 1`)
        .get(hash) as RunRow | undefined;
      if (done) return { claimed: false, reason: 'completed', run: toRun(done) };
      const running = this.db
        .prepare(`SELECT id, hostname, pid, invocation_id FROM runs WHERE config_hash = ? AND status = 'running' ORDER BY id DESC`)
        .all(hash) as OwnerRow[];
      if (opts.supersede) {
        const mark = this.db.prepare(`UPDATE runs SET status = 'interrupted', finished_at = ?, error = COALESCE(error, ?) WHERE id = ?`);
        for (const r of running) mark.run(now(), SUPERSEDED_ERROR, r.id);
      } else {
        const live = running.find((r) => !isOwnerGone(r, this.identity));
        if (live) return { claimed: false, reason: 'running', run: this.getRunRecord(live.id)! };
      }
      return { claimed: true, runId: this.startRun({ ...p, configHash: hash, status: 'running' }) };
    });
    return tx.immediate();
  }

  /** Records a new run (status `running` unless `queued` is asked for) and returns its id. */
  startRun(p: StartRunParams): number {
    const status = p.status ?? 'running';
    const t = now();
    const info = this.db
      .prepare(
        `INSERT INTO runs (suite_id, name, experiment_type, variant, varied_path, varied_value_json, rank,
           target_modules, quantization, model, dataset, config_json, config_hash, seed, status, created_at,
           started_at, backend, device, package_versions_json, git_commit, hostname, pid, invocation_id)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        p.suiteId ?? null,
        p.name,
        p.experimentType,
        p.variant ?? null,
        p.variedPath ?? null,
        p.variedPath ? JSON.stringify(p.variedValue ?? null) : null,
        p.rank ?? null,
        p.targetModules ? p.targetModules.join(',') : null,
        p.quantization ?? null,
        p.model ?? null,
        p.dataset ?? null,
        JSON.stringify(p.config ?? null),
        p.configHash ?? hashConfig(p.config),
        p.seed ?? null,
        status,
        t,
        status === 'running' ? t : null,
        p.backend ?? null,
        p.device ?? null,
        p.packageVersions ? JSON.stringify(p.packageVersions) : null,
        p.gitCommit ?? null,
        this.identity.hostname,
        this.identity.pid,
        this.identity.invocationId,
      );
    return Number(info.lastInsertRowid);
  }

  /**
   * Moves a queued run to `running` (stamping started_at, and this process as its owner) or
   * fills in environment facts learned after startRun (backend, device, versions, commit).
   */
  updateRun(runId: number, p: UpdateRunParams): void {
    const tx = this.db.transaction(() => {
      const info = this.db
        .prepare(
          `UPDATE runs SET backend = COALESCE(?, backend), device = COALESCE(?, device),
             package_versions_json = COALESCE(?, package_versions_json), git_commit = COALESCE(?, git_commit)
           WHERE id = ?`,
        )
        .run(
          p.backend ?? null,
          p.device ?? null,
          p.packageVersions ? JSON.stringify(p.packageVersions) : null,
          p.gitCommit ?? null,
          runId,
        );
      assert(info.changes === 1, `updateRun: no run with id ${runId}`);
      if (p.status === 'running') {
        const { hostname, pid, invocationId } = this.identity;
        this.db
          .prepare(
            `UPDATE runs SET status = 'running', started_at = ?, hostname = ?, pid = ?, invocation_id = ?
             WHERE id = ? AND status != 'running'`,
          )
          .run(now(), hostname, pid, invocationId, runId);
      }
    });
    tx.immediate();
  }

  /** Ends a run. `wallTimeS` defaults to the seconds since started_at. */
  finishRun(runId: number, p: FinishRunParams): RunStatus {
    const tx = this.db.transaction((): RunStatus => {
      const run = this.getRunRecord(runId);
      assert(run, `finishRun: no run with id ${runId}`);
      let status: RunStatus = p.status;
      let error = p.error ?? null;
      if (p.exclusive && status === 'completed') {
        const other = this.db
          .prepare(`SELECT id FROM runs WHERE config_hash = ? AND status = 'completed' AND id != ? LIMIT 1`)
          .get(run.configHash, runId) as { id: number } | undefined;
        if (run.status !== 'running' || other) {
          status = 'interrupted';
          error = supersededBy(other?.id, run.status);
        }
      }
      const end = new Date();
      const wall =
        p.wallTimeS ?? (run.startedAt ? (end.getTime() - new Date(run.startedAt).getTime()) / 1000 : null);
      this.db
        .prepare(`UPDATE runs SET status = ?, error = ?, wall_time_s = ?, finished_at = ? WHERE id = ?`)
        .run(status, error, finiteOrNull(wall), end.toISOString(), runId);
      return status;
    });
    return tx.immediate();
  }

  /** Appends (or, for a step logged again, replaces) step metrics, all in one transaction. */
  logSteps(runId: number, rows: readonly StepRow[]): void {
    if (rows.length === 0) return;
    const insert = this.db.prepare(
      `INSERT OR REPLACE INTO step_metrics (run_id, step, loss, lr, grad_norm, tokens_per_s, elapsed_s, eval_loss, extra_json)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.db
      .transaction(() => {
        for (const r of rows) {
          assert(Number.isInteger(r.step) && r.step >= 0, `logSteps: step must be a non-negative integer, got ${r.step}`);
          insert.run(
            runId,
            r.step,
            finiteOrNull(r.loss),
            finiteOrNull(r.lr),
            finiteOrNull(r.gradNorm),
            finiteOrNull(r.tokensPerS),
            finiteOrNull(r.elapsedS),
            finiteOrNull(r.evalLoss),
            r.extra ? JSON.stringify(r.extra) : null,
          );
        }
      })
      .immediate();
  }

  /**
   * Records summary metrics (upserting by name). Units come from `units`, else from the known
   * metric table (metric-names.ts). A non-finite value (NaN loss) is stored as NULL.
   */
  recordMetrics(runId: number, values: Record<string, number>, units: Record<string, string> = {}): void {
    const upsert = this.db.prepare(
      `INSERT INTO metrics (run_id, name, value, unit) VALUES (?, ?, ?, ?)
       ON CONFLICT (run_id, name) DO UPDATE SET value = excluded.value, unit = excluded.unit`,
    );
    this.db
      .transaction(() => {
        for (const [name, value] of Object.entries(values)) {
          upsert.run(runId, name, finiteOrNull(value), units[name] ?? metricInfo(name)?.unit ?? null);
        }
      })
      .immediate();
  }

  addArtifact(runId: number, kind: string, path: string, bytes?: number): number {
    const info = this.db
      .prepare(`INSERT INTO artifacts (run_id, kind, path, bytes, created_at, hostname) VALUES (?, ?, ?, ?, ?, ?)`)
      .run(runId, kind, path, bytes ?? null, now(), this.identity.hostname);
    return Number(info.lastInsertRowid);
  }

  /** The newest completed run with this config hash, or null (what `--resume` skips). */
  findCompletedRun(configHash: string): RunRecord | null {
    const row = this.db
      .prepare(`${RUN_SELECT} WHERE runs.config_hash = ? AND runs.status = 'completed' ORDER BY runs.id DESC LIMIT 1`)
      .get(configHash) as RunRow | undefined;
    return row ? toRun(row) : null;
  }

  /**
   * Marks as `interrupted` every run (and suite) left `running` or `queued` by a process that is
   * gone; see stale-runs.ts for the rule. Returns the ids of the runs it marked.
   */
  markStaleRunsInterrupted(opts: MarkStaleOptions = {}): number[] {
    return markStaleRunsInterrupted(this.db, this.identity, opts);
  }

  // ── reads ─────────────────────────────────────────────────────────────────────────────

  listRuns(filter: RunFilter = {}): RunRecord[] {
    return listRuns(this.db, filter);
  }

  /** One run with its metrics, steps and artifacts; null when there is no such run. */
  getRun(runId: number): RunDetail | null {
    return getRun(this.db, runId);
  }

  /** Summary metrics of a run by name; a NULL (non-finite) value reads back as NaN. */
  getMetrics(runId: number): Record<string, MetricValue> {
    return getMetrics(this.db, runId);
  }

  private getRunRecord(runId: number): RunRecord | null {
    return getRunRecord(this.db, runId);
  }

}
