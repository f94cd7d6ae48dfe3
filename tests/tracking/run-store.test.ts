/**
 * The RunStore contract, run against both implementations: SQLite (a temp file) and PostgreSQL
 * (a throwaway cluster, tests/helpers/postgres.ts). Whatever one store records, the other must
 * record with the same meaning and read back identically.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hashConfig, openSqliteStore, parseDbSpec, type RunStore, SqliteRunStore } from '../../src/tracking/index.js';
import { numberPlaceholders, PostgresRunStore } from '../../src/tracking/postgres/pg-store.js';
import { PG_SCHEMA_VERSION } from '../../src/tracking/postgres/schema.js';
import { SCHEMA_VERSION } from '../../src/tracking/sqlite/schema.js';
import { describePostgres, PG_SKIP_REASON, usePostgres } from '../helpers/use-postgres.js';

const dir = mkdtempSync(join(tmpdir(), 'run-store-'));
const pgServer = usePostgres();
let n = 0;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Harness {
  open(): Promise<RunStore>;
  /** Raw SQL on the store's own database (to fake other owners). */
  exec(store: RunStore, sql: string, args: (string | number)[]): Promise<void>;
}

const harnesses: [string, Harness, string | null][] = [
  [
    'sqlite',
    {
      open: async () => openSqliteStore(join(dir, `s${n++}.db`)),
      exec: async (store, sql, args) => void (store as SqliteRunStore).tracker.db.prepare(sql).run(...args),
    },
    null,
  ],
  [
    'postgres',
    {
      open: async () => PostgresRunStore.open(await pgServer().createDatabase(`t${n++}`)),
      exec: async (store, sql, args) => void (await (store as PostgresRunStore).pool.query(numberPlaceholders(sql), args)),
    },
    PG_SKIP_REASON,
  ],
];

describe('parseDbSpec', () => {
  it('postgres URLs pick Postgres; sqlite: prefixes and paths pick SQLite; LORA_STUDY_DB is the fallback', () => {
    expect(parseDbSpec('postgres://u@h/db')).toEqual({ kind: 'postgres', url: 'postgres://u@h/db' });
    expect(parseDbSpec('postgresql://u@h:5433/db', {})).toMatchObject({ kind: 'postgres' });
    expect(parseDbSpec('sqlite:x/y.db', {})).toEqual({ kind: 'sqlite', path: 'x/y.db' });
    expect(parseDbSpec('results/e.db', {})).toEqual({ kind: 'sqlite', path: 'results/e.db' });
    expect(parseDbSpec(undefined, { LORA_STUDY_DB: 'postgres://x/y' })).toMatchObject({ kind: 'postgres' });
    expect(parseDbSpec(undefined, {})).toEqual({ kind: 'sqlite', path: 'results/experiments.db' });
    expect(() => parseDbSpec('sqlite:', {})).toThrow(/names no file/);
  });
});

describe.each(harnesses)('RunStore on %s', (kind, h, skip) => {
  const test = it.skipIf(Boolean(skip));

  test('records a run end to end and reads it back as plain objects', async () => {
    const t = await h.open();
    expect(t.kind).toBe(kind);
    const suiteId = await t.createSuite({ name: 'rank_sweep', config: { sweep: { rank: [4, 8] } } });
    const config = { lora: { rank: 8, alpha: 16 }, seed: 1 };
    const runId = await t.startRun({
      suiteId, name: 'rank_sweep-r8-s1', experimentType: 'rank', config, seed: 1, variant: 'r=8',
      variedPath: 'lora.r', variedValue: 8, rank: 8, targetModules: ['q_proj', 'v_proj'], quantization: 'fp32',
      backend: 'wasm', device: 'cpu', packageVersions: { '@tensorflow/tfjs-core': '4.22.0' }, gitCommit: 'abc123',
    });
    await t.logSteps(runId, [
      { step: 0, loss: 3.2, lr: 1e-4, gradNorm: 1.5, tokensPerS: 900 },
      { step: 1, loss: 2.9, lr: 2e-4, extra: { ms_data: 3 } },
    ]);
    await t.logSteps(runId, [{ step: 1, loss: 2.8, lr: 2e-4 }]); // logged again: replaces
    await t.recordMetrics(runId, { eval_loss: 2.5, exact_match: 0.4, custom_thing: 7 }, { custom_thing: 'widgets' });
    await t.recordMetrics(runId, { eval_loss: 2.4 });
    await t.addArtifact(runId, 'adapter', 'results/adapters/r8', 5_000_000_000);
    expect(await t.finishRun(runId, { status: 'completed', wallTimeS: 12.5 })).toBe('completed');
    await t.finishSuite(suiteId, 'completed');

    const run = (await t.getRun(runId))!;
    expect(run).toMatchObject({
      id: runId, suiteName: 'rank_sweep', status: 'completed', variedPath: 'lora.r', variedValue: 8, rank: 8,
      targetModules: ['q_proj', 'v_proj'], config, configHash: hashConfig(config), wallTimeS: 12.5,
      packageVersions: { '@tensorflow/tfjs-core': '4.22.0' }, pid: process.pid, seed: 1,
    });
    expect(run.metrics).toEqual({
      custom_thing: { value: 7, unit: 'widgets' },
      eval_loss: { value: 2.4, unit: 'nats' },
      exact_match: { value: 0.4, unit: 'fraction' },
    });
    expect(run.steps.map((s) => [s.step, s.loss, s.gradNorm])).toEqual([[0, 3.2, 1.5], [1, 2.8, null]]);
    // Byte counts past 2^32 come back as numbers, with the host that wrote them.
    expect(run.artifacts).toMatchObject([{ kind: 'adapter', path: 'results/adapters/r8', bytes: 5_000_000_000, hostname: hostname() }]);
    expect(await t.listSuites('rank_sweep')).toMatchObject([{ status: 'completed', id: suiteId }]);
    expect(await t.getSuite(suiteId)).toMatchObject({ name: 'rank_sweep', config: { sweep: { rank: [4, 8] } } });
    expect(await t.getRun(9999)).toBeNull();
    await t.close();
  });

  test('stores NaN as NULL; queued runs start on updateRun; listRuns filters and limits', async () => {
    const t = await h.open();
    const a = await t.createSuite({ name: 'a', config: {} });
    const nan = await t.startRun({ suiteId: a, name: 'nan', experimentType: 'single', config: { x: 1 } });
    await t.logSteps(nan, [{ step: 0, loss: Number.NaN }]);
    await t.recordMetrics(nan, { eval_loss: Number.POSITIVE_INFINITY });
    await t.finishRun(nan, { status: 'failed', error: 'loss became NaN at step 0' });
    const r = (await t.getRun(nan))!;
    expect(r.steps[0].loss).toBeNull();
    expect(Number.isNaN(r.metrics.eval_loss.value)).toBe(true);
    expect(r).toMatchObject({ status: 'failed', error: 'loss became NaN at step 0' });

    const q = await t.startRun({ name: 'q', experimentType: 'rank', config: { x: 2 }, status: 'queued' });
    expect(await t.getRun(q)).toMatchObject({ status: 'queued', startedAt: null });
    await t.updateRun(q, { status: 'running', backend: 'cpu' });
    expect(await t.getRun(q)).toMatchObject({ status: 'running', backend: 'cpu' });

    expect((await t.listRuns({ suite: 'a' })).map((x) => x.name)).toEqual(['nan']);
    expect((await t.listRuns({ suite: a })).map((x) => x.name)).toEqual(['nan']);
    expect((await t.listRuns({ status: ['running'] })).map((x) => x.name)).toEqual(['q']);
    expect(await t.listRuns({ status: [] })).toEqual([]);
    expect((await t.listRuns({ experimentType: 'rank' })).map((x) => x.name)).toEqual(['q']);
    expect((await t.listRuns({ limit: 1 })).map((x) => x.name)).toEqual(['q']);
    await t.close();
  });

  test('claimRun: completed or live running rows block; dead owners and supersede do not', async () => {
    const t = await h.open();
    const p = { name: 'r', experimentType: 'rank', config: { c: 1 } };
    const first = await t.claimRun(p);
    expect(first.claimed).toBe(true);
    const id = (first as { runId: number }).runId;
    expect(await t.claimRun(p)).toMatchObject({ claimed: false, reason: 'running', run: { id } });
    await h.exec(t, `UPDATE runs SET pid = ?, invocation_id = 'other' WHERE id = ?`, [process.ppid, id]);
    expect(await t.claimRun(p)).toMatchObject({ claimed: false, reason: 'running' });
    await h.exec(t, `UPDATE runs SET hostname = 'elsewhere' WHERE id = ?`, [id]);
    expect((await t.claimRun(p)).claimed).toBe(false); // another host's row cannot be checked: live

    // The queue's lease says the other attempt is dead: its row becomes interrupted.
    const taken = await t.claimRun(p, { supersede: true });
    expect(taken.claimed).toBe(true);
    expect(await t.getRun(id)).toMatchObject({ status: 'interrupted', error: expect.stringMatching(/another worker/) });
    const second = (taken as { runId: number }).runId;
    expect(await t.finishRun(second, { status: 'completed', exclusive: true })).toBe('completed');
    expect(await t.claimRun(p)).toMatchObject({ claimed: false, reason: 'completed', run: { id: second } });
    expect((await t.findCompletedRun(hashConfig({ c: 1 })))?.id).toBe(second);
    expect(await t.findCompletedRun(hashConfig({ c: 2 }))).toBeNull();
    await t.close();
  });

  test('an exclusive completion never completes a config twice', async () => {
    const t = await h.open();
    const p = { name: 'r', experimentType: 'rank', config: { c: 9 } };
    const a = await t.startRun(p);
    const b = await t.startRun(p);
    expect(await t.finishRun(b, { status: 'completed', exclusive: true })).toBe('completed');
    expect(await t.finishRun(a, { status: 'completed', exclusive: true })).toBe('interrupted');
    expect(await t.getRun(a)).toMatchObject({ status: 'interrupted', error: expect.stringMatching(`run ${b} had already completed`) });
    expect((await t.listRuns({ status: 'completed' })).map((r) => r.id)).toEqual([b]);
    await t.close();
  });

  test('marks runs of dead processes interrupted, not live or other hosts’ ones', async () => {
    const t = await h.open();
    const s = await t.createSuite({ name: 'killed', config: {} });
    const dead = await t.startRun({ suiteId: s, name: 'dead', experimentType: 'rank', config: { d: 1 } });
    const live = await t.startRun({ name: 'live', experimentType: 'rank', config: { l: 1 } });
    const foreign = await t.startRun({ name: 'foreign', experimentType: 'rank', config: { f: 1 } });
    const mine = await t.startRun({ name: 'mine', experimentType: 'rank', config: { m: 1 } });
    await h.exec(t, `UPDATE runs SET pid = 2147483646, invocation_id = 'gone' WHERE id = ?`, [dead]);
    await h.exec(t, `UPDATE suites SET pid = 2147483646, invocation_id = 'gone' WHERE id = ?`, [s]);
    await h.exec(t, `UPDATE runs SET pid = ?, invocation_id = 'other' WHERE id = ?`, [process.ppid, live]);
    await h.exec(t, `UPDATE runs SET hostname = 'elsewhere', invocation_id = 'other' WHERE id = ?`, [foreign]);
    expect(await t.markStaleRunsInterrupted()).toEqual([dead]);
    const status = Object.fromEntries((await t.listRuns()).map((r) => [r.name, r.status]));
    expect(status).toEqual({ dead: 'interrupted', live: 'running', foreign: 'running', mine: 'running' });
    expect((await t.getSuite(s))!.status).toBe('interrupted');
    expect(await t.markStaleRunsInterrupted({ includeOtherHosts: true })).toEqual([foreign]);
    expect((await t.getRun(mine))!.status).toBe('running');
    await t.close();
  });
});

describePostgres('Postgres schema', () => {
  it('is at the same version as SQLite, migrates once under concurrent opens, and refuses a newer one', async () => {
    expect(PG_SCHEMA_VERSION).toBe(SCHEMA_VERSION);
    const url = await pgServer().createDatabase('mig');
    const stores = await Promise.all([1, 2, 3, 4].map(() => PostgresRunStore.open(url)));
    const { rows } = await stores[0].pool.query('SELECT version FROM schema_version');
    expect(rows).toEqual([{ version: PG_SCHEMA_VERSION }]);
    await stores[0].pool.query('UPDATE schema_version SET version = version + 1');
    await Promise.all(stores.map((s) => s.close()));
    await expect(PostgresRunStore.open(url)).rejects.toThrow(/newer than this lora-study/);
  });

  it('an unreachable server is a located error with a hint', async () => {
    await expect(PostgresRunStore.open('postgres://nobody:secret@127.0.0.1:1/none')).rejects.toThrow(/cannot open tracking database postgres:\/\/nobody:\*\*\*@127\.0\.0\.1:1\/none/);
  });
});
