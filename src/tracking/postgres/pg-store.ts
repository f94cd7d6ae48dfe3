import pg from 'pg';
import { assert, LoraStudyError } from '../../util/errors.js';
import { SUPERSEDED_ERROR, supersededBy } from '../claim-rules.js';
import { hashConfig } from '../config-hash.js';
import { metricInfo } from '../metric-names.js';
import { currentIdentity, type ProcessIdentity } from '../process-info.js';
import { listRunsQuery } from '../run-queries.js';
import type { RunStore } from '../run-store.js';
import { finiteOrNull, RUN_SELECT, toArtifact, toRun, toStep, toSuite, type ArtifactRow, type RunRow, type StepDbRow, type SuiteRow } from '../rows.js';
import { isOwnerGone, type OwnerRow } from '../stale-runs.js';
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
import { migratePg } from './schema.js';

type Arg = string | number | null;
/** Anything that runs a query: the pool, or one client inside a transaction. */
type Queryable = Pick<pg.Pool, 'query'> | pg.PoolClient;

const now = (): string => new Date().toISOString();

/** Runs `fn` in one transaction on one pooled client: committed when it resolves, else rolled back. */
export async function inTransaction<T>(pool: pg.Pool, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
  const c = await pool.connect();
  try {
    await c.query('BEGIN');
    const out = await fn(c);
    await c.query('COMMIT');
    return out;
  } catch (err) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    c.release();
  }
}

/** The stores share their SQL text, written with `?` placeholders; Postgres numbers them. */
export function numberPlaceholders(sql: string): string {
  let i = 0;
  return sql.replace(/\?/g, () => `$${++i}`);
}

/** A postgres URL with its password masked, for messages and `location`. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://…';
  }
}

/** BIGINT (byte counts, COUNT(*)) as a JS number, as SQLite returns it. */
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === pg.types.builtins.INT8 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

/**
 * The shared store: PostgreSQL through `pg`, same schema and meaning as the SQLite tracker.
 * Writes that must be atomic across machines (claiming a run, an exclusive completion) take a
 * transaction-scoped advisory lock on the run's config hash.
 */
export class PostgresRunStore implements RunStore {
  readonly kind = 'postgres' as const;
  readonly location: string;

  private constructor(
    readonly pool: pg.Pool,
    readonly url: string,
    readonly identity: ProcessIdentity,
  ) {
    this.location = redactUrl(url);
  }

  static async open(url: string, opts: { poolSize?: number } = {}): Promise<PostgresRunStore> {
    const pool = new pg.Pool({ connectionString: url, max: opts.poolSize ?? 4, types, application_name: 'lora-study' });
    // An idle client losing its server (a restart) must not crash the process.
    pool.on('error', () => undefined);
    const store = new PostgresRunStore(pool, url, currentIdentity());
    try {
      const client = await pool.connect();
      try {
        await migratePg(client, store.location);
      } finally {
        client.release();
      }
    } catch (err) {
      await pool.end().catch(() => undefined);
      if (err instanceof LoraStudyError) throw err;
      throw new LoraStudyError(`cannot open tracking database ${store.location}: ${(err as Error).message}`, {
        cause: err,
        hint: 'check that PostgreSQL is running and the URL (host, port, user, database) is right',
      });
    }
    return store;
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  private async rows<T>(sql: string, args: Arg[] = [], on: Queryable = this.pool): Promise<T[]> {
    return (await on.query(numberPlaceholders(sql), args)).rows as T[];
  }

  private async tx<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    return inTransaction(this.pool, fn);
  }

  /** Serialises, across every process, transactions about one config hash. */
  private async lockHash(c: pg.PoolClient, hash: string): Promise<void> {
    await c.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [hash]);
  }

  // ── suites ────────────────────────────────────────────────────────────────────────────

  async createSuite(p: CreateSuiteParams): Promise<number> {
    const [row] = await this.rows<{ id: number }>(
      `INSERT INTO suites (name, config_json, config_hash, status, started_at, hostname, pid, invocation_id)
       VALUES (?, ?, ?, 'running', ?, ?, ?, ?) RETURNING id`,
      [p.name, JSON.stringify(p.config ?? null), p.configHash ?? hashConfig(p.config), now(), this.identity.hostname, this.identity.pid, this.identity.invocationId],
    );
    return row.id;
  }

  async finishSuite(suiteId: number, status: Exclude<SuiteStatus, 'running'>): Promise<void> {
    const r = await this.pool.query(numberPlaceholders(`UPDATE suites SET status = ?, finished_at = ? WHERE id = ?`), [status, now(), suiteId]);
    assert(r.rowCount === 1, `finishSuite: no suite with id ${suiteId}`);
  }

  async getSuite(suiteId: number): Promise<SuiteRecord | null> {
    const [row] = await this.rows<SuiteRow>(`SELECT * FROM suites WHERE id = ?`, [suiteId]);
    return row ? toSuite(row) : null;
  }

  async listSuites(name?: string): Promise<SuiteRecord[]> {
    const rows =
      name === undefined
        ? await this.rows<SuiteRow>(`SELECT * FROM suites ORDER BY id`)
        : await this.rows<SuiteRow>(`SELECT * FROM suites WHERE name = ? ORDER BY id`, [name]);
    return rows.map(toSuite);
  }

  // ── runs ──────────────────────────────────────────────────────────────────────────────

  async startRun(p: StartRunParams, on: Queryable = this.pool): Promise<number> {
    const status = p.status ?? 'running';
    const t = now();
    const [row] = await this.rows<{ id: number }>(
      `INSERT INTO runs (suite_id, name, experiment_type, variant, varied_path, varied_value_json, rank,
         target_modules, quantization, model, dataset, config_json, config_hash, seed, status, created_at, started_at,
         backend, device, package_versions_json, git_commit, hostname, pid, invocation_id)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
      [
        p.suiteId ?? null, p.name, p.experimentType, p.variant ?? null, p.variedPath ?? null,
        p.variedPath ? JSON.stringify(p.variedValue ?? null) : null, p.rank ?? null,
        p.targetModules ? p.targetModules.join(',') : null, p.quantization ?? null, p.model ?? null, p.dataset ?? null,
        JSON.stringify(p.config ?? null), p.configHash ?? hashConfig(p.config), p.seed ?? null, status, t,
        status === 'running' ? t : null, p.backend ?? null, p.device ?? null,
        p.packageVersions ? JSON.stringify(p.packageVersions) : null, p.gitCommit ?? null,
        this.identity.hostname, this.identity.pid, this.identity.invocationId,
      ],
      on,
    );
    return row.id;
  }

  async claimRun(p: StartRunParams, opts: ClaimOptions = {}): Promise<ClaimResult> {
    const hash = p.configHash ?? hashConfig(p.config);
    return this.tx(async (c) => {
      await this.lockHash(c, hash);
      const [done] = await this.rows<RunRow>(
        `${RUN_SELECT} WHERE runs.config_hash = ? AND runs.status = 'completed' ORDER BY runs.id DESC LIMIT 1`, [hash], c,
      );
      if (done) return { claimed: false, reason: 'completed', run: toRun(done) } as const;
      const running = await this.rows<OwnerRow>(
        `SELECT id, hostname, pid, invocation_id FROM runs WHERE config_hash = ? AND status = 'running' ORDER BY id DESC`, [hash], c,
      );
      if (opts.supersede) {
        for (const r of running) {
          await this.rows(`UPDATE runs SET status = 'interrupted', finished_at = ?, error = COALESCE(error, ?) WHERE id = ?`, [now(), SUPERSEDED_ERROR, r.id], c);
        }
      } else {
        const live = running.find((r) => !isOwnerGone(r, this.identity));
        if (live) {
          const [row] = await this.rows<RunRow>(`${RUN_SELECT} WHERE runs.id = ?`, [live.id], c);
          return { claimed: false, reason: 'running', run: toRun(row) } as const;
        }
      }
      return { claimed: true, runId: await this.startRun({ ...p, configHash: hash, status: 'running' }, c) } as const;
    });
  }

  async updateRun(runId: number, p: UpdateRunParams): Promise<void> {
    await this.tx(async (c) => {
      const r = await c.query(
        numberPlaceholders(`UPDATE runs SET backend = COALESCE(?, backend), device = COALESCE(?, device),
           package_versions_json = COALESCE(?, package_versions_json), git_commit = COALESCE(?, git_commit) WHERE id = ?`),
        [p.backend ?? null, p.device ?? null, p.packageVersions ? JSON.stringify(p.packageVersions) : null, p.gitCommit ?? null, runId],
      );
      assert(r.rowCount === 1, `updateRun: no run with id ${runId}`);
      if (p.status === 'running') {
        const { hostname, pid, invocationId } = this.identity;
        await this.rows(
          `UPDATE runs SET status = 'running', started_at = ?, hostname = ?, pid = ?, invocation_id = ? WHERE id = ? AND status != 'running'`,
          [now(), hostname, pid, invocationId, runId], c,
        );
      }
    });
  }

  async finishRun(runId: number, p: FinishRunParams): Promise<RunStatus> {
    return this.tx(async (c) => {
      const [hashRow] = await this.rows<{ config_hash: string }>(`SELECT config_hash FROM runs WHERE id = ?`, [runId], c);
      assert(hashRow, `finishRun: no run with id ${runId}`);
      await this.lockHash(c, hashRow.config_hash);
      const [row] = await this.rows<RunRow>(`${RUN_SELECT} WHERE runs.id = ?`, [runId], c);
      const run = toRun(row);
      let status: RunStatus = p.status;
      let error = p.error ?? null;
      if (p.exclusive && status === 'completed') {
        const [other] = await this.rows<{ id: number }>(
          `SELECT id FROM runs WHERE config_hash = ? AND status = 'completed' AND id != ? LIMIT 1`, [run.configHash, runId], c,
        );
        if (run.status !== 'running' || other) {
          status = 'interrupted';
          error = supersededBy(other?.id, run.status);
        }
      }
      const end = new Date();
      const wall = p.wallTimeS ?? (run.startedAt ? (end.getTime() - new Date(run.startedAt).getTime()) / 1000 : null);
      await this.rows(`UPDATE runs SET status = ?, error = ?, wall_time_s = ?, finished_at = ? WHERE id = ?`, [status, error, finiteOrNull(wall), end.toISOString(), runId], c);
      return status;
    });
  }

  async logSteps(runId: number, rows: readonly StepRow[]): Promise<void> {
    if (rows.length === 0) return;
    for (const r of rows) assert(Number.isInteger(r.step) && r.step >= 0, `logSteps: step must be a non-negative integer, got ${r.step}`);
    // One statement for all rows (unnest of parallel arrays): a run's steps cost one round trip.
    await this.pool.query(
      `INSERT INTO step_metrics (run_id, step, loss, lr, grad_norm, tokens_per_s, elapsed_s, eval_loss, extra_json)
       SELECT $1, * FROM unnest($2::int[], $3::float8[], $4::float8[], $5::float8[], $6::float8[], $7::float8[], $8::float8[], $9::text[])
       ON CONFLICT (run_id, step) DO UPDATE SET loss = excluded.loss, lr = excluded.lr, grad_norm = excluded.grad_norm,
         tokens_per_s = excluded.tokens_per_s, elapsed_s = excluded.elapsed_s, eval_loss = excluded.eval_loss, extra_json = excluded.extra_json`,
      [
        runId,
        rows.map((r) => r.step),
        rows.map((r) => finiteOrNull(r.loss)),
        rows.map((r) => finiteOrNull(r.lr)),
        rows.map((r) => finiteOrNull(r.gradNorm)),
        rows.map((r) => finiteOrNull(r.tokensPerS)),
        rows.map((r) => finiteOrNull(r.elapsedS)),
        rows.map((r) => finiteOrNull(r.evalLoss)),
        rows.map((r) => (r.extra ? JSON.stringify(r.extra) : null)),
      ],
    );
  }

  async recordMetrics(runId: number, values: Record<string, number>, units: Record<string, string> = {}): Promise<void> {
    const names = Object.keys(values);
    if (names.length === 0) return;
    await this.pool.query(
      `INSERT INTO metrics (run_id, name, value, unit) SELECT $1, * FROM unnest($2::text[], $3::float8[], $4::text[])
       ON CONFLICT (run_id, name) DO UPDATE SET value = excluded.value, unit = excluded.unit`,
      [runId, names, names.map((n) => finiteOrNull(values[n])), names.map((n) => units[n] ?? metricInfo(n)?.unit ?? null)],
    );
  }

  async addArtifact(runId: number, kind: string, path: string, bytes?: number): Promise<number> {
    const [row] = await this.rows<{ id: number }>(
      `INSERT INTO artifacts (run_id, kind, path, bytes, created_at, hostname) VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
      [runId, kind, path, bytes ?? null, now(), this.identity.hostname],
    );
    return row.id;
  }

  async findCompletedRun(configHash: string): Promise<RunRecord | null> {
    const [row] = await this.rows<RunRow>(
      `${RUN_SELECT} WHERE runs.config_hash = ? AND runs.status = 'completed' ORDER BY runs.id DESC LIMIT 1`, [configHash],
    );
    return row ? toRun(row) : null;
  }

  /** Same rule as the SQLite store (stale-runs.ts): only this host's dead owners, unless told. */
  async markStaleRunsInterrupted(opts: MarkStaleOptions = {}): Promise<number[]> {
    const bySuite = opts.suiteId === undefined ? '' : 'AND suite_id = ?';
    const suiteArgs = opts.suiteId === undefined ? [] : [opts.suiteId];
    const stale = (r: OwnerRow) => isOwnerGone(r, this.identity, Boolean(opts.includeOtherHosts));
    return this.tx(async (c) => {
      const t = now();
      const runs = await this.rows<OwnerRow>(`SELECT id, hostname, pid, invocation_id FROM runs WHERE status IN ('running', 'queued') ${bySuite} FOR UPDATE`, suiteArgs, c);
      const marked = runs.filter(stale).map((r) => r.id);
      if (marked.length) {
        await c.query(
          `UPDATE runs SET status = 'interrupted', finished_at = $1, error = COALESCE(error, 'the process running it ended before it finished') WHERE id = ANY($2::int[])`,
          [t, marked],
        );
      }
      const suites = await this.rows<OwnerRow>(
        `SELECT id, hostname, pid, invocation_id FROM suites WHERE status = 'running' ${opts.suiteId === undefined ? '' : 'AND id = ?'} FOR UPDATE`, suiteArgs, c,
      );
      const staleSuites = suites.filter(stale).map((s) => s.id);
      if (staleSuites.length) await c.query(`UPDATE suites SET status = 'interrupted', finished_at = $1 WHERE id = ANY($2::int[])`, [t, staleSuites]);
      return marked;
    });
  }

  // ── reads ─────────────────────────────────────────────────────────────────────────────

  async listRuns(filter: RunFilter = {}): Promise<RunRecord[]> {
    const { sql, args } = listRunsQuery(filter);
    return (await this.rows<RunRow>(sql, args)).map(toRun);
  }

  async getMetrics(runId: number): Promise<Record<string, MetricValue>> {
    const rows = await this.rows<{ name: string; value: number | null; unit: string | null }>(
      `SELECT name, value, unit FROM metrics WHERE run_id = ? ORDER BY name`, [runId],
    );
    const out: Record<string, MetricValue> = {};
    for (const r of rows) out[r.name] = { value: r.value ?? Number.NaN, unit: r.unit };
    return out;
  }

  async getRun(runId: number): Promise<RunDetail | null> {
    const [row] = await this.rows<RunRow>(`${RUN_SELECT} WHERE runs.id = ?`, [runId]);
    if (!row) return null;
    const steps = await this.rows<StepDbRow>(
      `SELECT step, loss, lr, grad_norm, tokens_per_s, elapsed_s, eval_loss, extra_json FROM step_metrics WHERE run_id = ? ORDER BY step`, [runId],
    );
    const artifacts = await this.rows<ArtifactRow>(`SELECT * FROM artifacts WHERE run_id = ? ORDER BY id`, [runId]);
    return { ...toRun(row), metrics: await this.getMetrics(runId), steps: steps.map(toStep), artifacts: artifacts.map(toArtifact) };
  }
}
