import PgBoss from 'pg-boss';
import type pg from 'pg';
import { LoraStudyError } from '../../util/errors.js';
import { SUPERSEDED_ERROR } from '../claim-rules.js';
import type { ClaimedJob, EnqueueResult, Lease, QueueOptions, RunJobData, RunQueue } from '../run-queue.js';
import { LeaseKeeper } from './lease-keeper.js';
import { inTransaction, type PostgresRunStore } from './pg-store.js';

/** The pg-boss queue every worker of a tracking database drains. */
export const QUEUE_NAME = 'lora-study-runs';
const SCHEMA = 'pgboss';
/** Moves an active job's expiry to now + lease ($3 seconds); no row when the job is no longer ours. */
const HEARTBEAT_SQL = `UPDATE ${SCHEMA}.job SET expire_in = (now() - started_on) + make_interval(secs => $3)
  WHERE name = $1 AND id = $2 AND state = 'active'`;

/**
 * The run queue on pg-boss 10 (the last line that supports Node 20): `fetch` claims with
 * `FOR UPDATE SKIP LOCKED`, maintenance moves jobs whose lease expired to `retry` (or `failed`
 * past the retry limit). pg-boss 10 has no heartbeat API (12 added `heartbeatSeconds`), so a
 * heartbeat here moves the job's expiry forward: `started_on + expire_in` becomes now + lease.
 * A killed worker stops heartbeating and its job expires one lease later.
 */
export class PgRunQueue implements RunQueue {
  private leases: LeaseKeeper | null = null;

  private constructor(
    private readonly boss: PgBoss,
    private readonly store: PostgresRunStore,
    readonly options: QueueOptions,
    private readonly onError: (err: string) => void,
  ) {}

  static async open(store: PostgresRunStore, options: QueueOptions, onError: (err: Error) => void = () => undefined): Promise<PgRunQueue> {
    if (!(Number.isInteger(options.retryLimit) && options.retryLimit >= 0)) {
      throw new LoraStudyError(`--retry-limit must be an integer ≥ 0; got ${options.retryLimit}`);
    }
    if (!(Number.isInteger(options.leaseSeconds) && options.leaseSeconds >= 2)) {
      throw new LoraStudyError(`--lease must be an integer number of seconds ≥ 2; got ${options.leaseSeconds}`);
    }
    const boss = new PgBoss({
      connectionString: store.url,
      schema: SCHEMA,
      max: 2,
      application_name: 'lora-study-queue',
      schedule: false,
      supervise: true,
      // Expired leases are noticed at maintenance: a few times per lease.
      maintenanceIntervalSeconds: Math.max(1, Math.min(60, Math.floor(options.leaseSeconds / 3))),
    });
    boss.on('error', onError);
    try {
      await boss.start();
      await createQueueOnce(boss, options);
    } catch (err) {
      await boss.stop({ graceful: false, wait: true }).catch(() => undefined);
      throw new LoraStudyError(`cannot start the run queue on ${store.location}: ${(err as Error).message}`, { cause: err });
    }
    return new PgRunQueue(boss, store, options, (message) => onError(new Error(`heartbeat failed: ${message}`)));
  }

  async enqueue(data: RunJobData): Promise<EnqueueResult> {
    return inTransaction(this.store.pool, async (c): Promise<EnqueueResult> => {
      // The same lock the store takes to claim and to complete this identity.
      await c.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [data.identity]);
      const done = await c.query(`SELECT id FROM runs WHERE config_hash = $1 AND status = 'completed' ORDER BY id DESC LIMIT 1`, [data.identity]);
      if (done.rows.length) return { enqueued: false, reason: `completed as run ${done.rows[0].id}` };
      const live = await c.query(
        `SELECT state FROM ${SCHEMA}.job WHERE name = $1 AND singleton_key = $2 AND state < 'completed' LIMIT 1`,
        [QUEUE_NAME, data.identity],
      );
      if (live.rows.length) return { enqueued: false, reason: live.rows[0].state === 'active' ? 'running' : 'already queued' };
      const jobId = await this.boss.send(QUEUE_NAME, data as unknown as object, {
        singletonKey: data.identity,
        retryLimit: this.options.retryLimit,
        expireInSeconds: this.options.leaseSeconds,
        db: txDb(c),
      });
      if (!jobId) throw new Error(`pg-boss refused job ${data.name}`);
      return { enqueued: true, jobId };
    });
  }

  async claim(): Promise<ClaimedJob | null> {
    const [job] = await this.boss.fetch<RunJobData>(QUEUE_NAME, { batchSize: 1, includeMetadata: true });
    return job ? { id: job.id, data: job.data, retryCount: job.retryCount } : null;
  }

  async heartbeat(jobId: string): Promise<boolean> {
    const r = await this.store.pool.query(HEARTBEAT_SQL, [QUEUE_NAME, jobId, this.options.leaseSeconds]);
    return r.rowCount === 1;
  }

  keepLease(jobId: string): Lease {
    this.leases ??= new LeaseKeeper({ url: this.store.url, sql: HEARTBEAT_SQL, queue: QUEUE_NAME, leaseSeconds: this.options.leaseSeconds, onError: this.onError });
    return this.leases.keep(jobId);
  }

  async complete(jobId: string, output: Record<string, unknown>): Promise<void> {
    await this.boss.complete(QUEUE_NAME, jobId, output);
  }

  async requeue(job: ClaimedJob): Promise<void> {
    await inTransaction(this.store.pool, async (c) => {
      await this.boss.complete(QUEUE_NAME, job.id, { requeued: true }, { db: txDb(c) });
      await this.boss.send(QUEUE_NAME, job.data as unknown as object, {
        singletonKey: job.data.identity,
        retryLimit: this.options.retryLimit,
        expireInSeconds: this.options.leaseSeconds,
        db: txDb(c),
      });
    });
  }

  async pending(suiteId?: number): Promise<number> {
    const bySuite = suiteId === undefined ? '' : `AND data->>'suiteId' = $2`;
    const r = await this.store.pool.query(
      `SELECT COUNT(*)::int AS n FROM ${SCHEMA}.job WHERE name = $1 AND state < 'completed' ${bySuite}`,
      suiteId === undefined ? [QUEUE_NAME] : [QUEUE_NAME, String(suiteId)],
    );
    return r.rows[0].n as number;
  }

  async settleSuite(suiteId: number): Promise<void> {
    if ((await this.pending(suiteId)) > 0) return;
    await inTransaction(this.store.pool, async (c) => {
      await c.query(
        `UPDATE runs SET status = 'interrupted', finished_at = $2, error = COALESCE(error, $3)
         WHERE suite_id = $1 AND status = 'running'`,
        [suiteId, new Date().toISOString(), `${SUPERSEDED_ERROR}, and the retry limit was reached`],
      );
      await c.query(
        `UPDATE suites SET finished_at = $2,
           status = CASE WHEN EXISTS (SELECT 1 FROM runs WHERE suite_id = $1 AND status = 'failed') THEN 'failed'
                         WHEN EXISTS (SELECT 1 FROM runs r WHERE r.suite_id = $1 AND r.status = 'interrupted'
                                      AND NOT EXISTS (SELECT 1 FROM runs d WHERE d.config_hash = r.config_hash AND d.status = 'completed')) THEN 'interrupted'
                         ELSE 'completed' END
         WHERE id = $1 AND status = 'running'`,
        [suiteId, new Date().toISOString()],
      );
    });
  }

  async dropEmptySuite(suiteId: number): Promise<void> {
    await this.store.pool.query(`DELETE FROM suites WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM runs WHERE suite_id = $1)`, [suiteId]);
  }

  async close(): Promise<void> {
    await this.leases?.close();
    await this.boss.stop({ graceful: false, wait: true, timeout: 1000 });
  }
}

/** pg-boss runs its statements on our transaction's client when given `db`. */
function txDb(c: pg.PoolClient): PgBoss.Db {
  return { executeSql: async (text: string, values: unknown[]) => c.query(text, values) };
}

/** createQueue is idempotent, but two workers creating its partition at once may race: retry once. */
async function createQueueOnce(boss: PgBoss, options: QueueOptions): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      if (await boss.getQueue(QUEUE_NAME)) return;
      await boss.createQueue(QUEUE_NAME, { name: QUEUE_NAME, policy: 'standard', retryLimit: options.retryLimit, expireInSeconds: options.leaseSeconds });
      return;
    } catch (err) {
      if (attempt >= 3) throw err;
      await new Promise((r) => setTimeout(r, 100 * (attempt + 1)));
    }
  }
}
