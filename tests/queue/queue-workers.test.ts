/**
 * The run queue end to end, with real processes against a real PostgreSQL (a throwaway cluster):
 * enqueueing is idempotent, N workers drain a suite with no run done twice, and a worker killed
 * with SIGKILL has its run retried and completed exactly once by another.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { PostgresRunStore } from '../../src/tracking/postgres/pg-store.js';
import { describePostgres, PG_SKIP_REASON, usePostgres } from '../helpers/use-postgres.js';
import { writeTinyModel } from '../helpers/tiny-models.js';

const root = mkdtempSync(join(tmpdir(), 'queue-'));
const modelDir = join(root, 'model');
const dataset = join(root, 'data', 'rev');
const pgServer = usePostgres();
const children: ChildProcess[] = [];

beforeAll(async () => {
  if (PG_SKIP_REASON) return;
  await writeTinyModel(modelDir, { modelType: 'llama', seed: 7, maxPositions: 64 });
}, 120_000);
afterAll(() => {
  // Runs before usePostgres's afterAll (hooks unwind as a stack): no worker outlives the cluster.
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(root, { recursive: true, force: true });
});

function writeSuite(name: string, ranks: number[], steps: number): string {
  const file = join(root, `${name}.yaml`);
  writeFileSync(file, stringify({
    name, type: 'rank', seeds: [0], sweep: { rank: ranks },
    prepare: { source: 'builtin:reverse', template: 'plain', num_samples: 24, eval_samples: 2, max_seq_len: 48 },
    base: {
      model: modelDir, dataset,
      lora: { lora_alpha: 4, target_modules: ['q_proj', 'v_proj'] },
      training: { max_steps: steps, batch_size: 2, learning_rate: 1e-3, max_seq_len: 48 },
      eval: { max_samples: 2, batch_size: 2, generate: false },
    },
  }));
  return file;
}

function cli(args: string[]): { child: ChildProcess; done: Promise<{ code: number | null; signal: string | null; out: string; err: string }> } {
  const child = spawn(process.execPath, ['--import', 'tsx', resolve('src/cli/main.ts'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const done = new Promise<{ code: number | null; signal: string | null; out: string; err: string }>((ok) =>
    child.on('close', (code, signal) => ok({ code, signal, out, err })),
  );
  return { child, done };
}

// Leases are short so an expired one is retried within seconds; long enough that a loaded
// machine's scheduling stalls do not expire a live worker's lease.
const ENQ = ['--lease', '10', '--retry-limit', '1', '--json'];
const KILL_LEASE = '5';

describePostgres('run queue on PostgreSQL', () => {
  test('--enqueue twice enqueues nothing new; 3 workers drain 6 runs with 0 duplicates', async () => {
    const db = await pgServer().createDatabase('drain');
    const file = writeSuite('drain', [1, 2, 3, 4, 5, 6], 4);
    const first = await cli(['run-suite', file, '--db', db, '--enqueue', ...ENQ]).done;
    expect(first.code, first.err).toBe(0);
    expect(JSON.parse(first.out).enqueued).toHaveLength(6);
    const again = await cli(['run-suite', file, '--db', db, '--enqueue', ...ENQ]).done;
    expect(again.code, again.err).toBe(0);
    expect(JSON.parse(again.out)).toMatchObject({ enqueued: [], suiteId: null });
    expect(JSON.parse(again.out).skipped.map((s: { reason: string }) => s.reason)).toEqual(Array(6).fill('already queued'));

    const out = join(root, 'drain-results');
    const workers = [0, 1, 2].map(() => cli(['worker', '--db', db, '--until-empty', '--backend', 'cpu', '-o', out, '--lease', '10', '--json']).done);
    const results = await Promise.all(workers);
    for (const r of results) expect(r.code, r.err).toBe(0);
    const done = results.map((r) => JSON.parse(r.out) as { completed: number });
    expect(done.reduce((a, r) => a + r.completed, 0), results.map((r) => r.out + r.err).join('\n')).toBe(6);

    const store = await PostgresRunStore.open(db);
    const runs = await store.listRuns();
    expect(runs.map((r) => r.status), JSON.stringify(runs.map((r) => [r.name, r.status, r.error, r.pid, r.startedAt, r.finishedAt]))).toEqual(Array(6).fill('completed'));
    expect(new Set(runs.map((r) => r.configHash)).size).toBe(6);
    expect(new Set(runs.map((r) => r.name)).size).toBe(6);
    expect((await store.listSuites('drain')).map((s) => s.status)).toEqual(['completed']);
    // Enqueueing a third time, now that every run completed, still adds nothing.
    const third = await cli(['run-suite', file, '--db', db, '--enqueue', ...ENQ]).done;
    expect(JSON.parse(third.out).skipped.map((s: { reason: string }) => s.reason.replace(/\d+/, 'N'))).toEqual(Array(6).fill('completed as run N'));
    await store.close();
  }, 420_000);

  test('a SIGKILLed worker’s run expires, is retried by another worker and completed exactly once', async () => {
    const db = await pgServer().createDatabase('kill');
    const file = writeSuite('kill', [2], 60);
    expect((await cli(['run-suite', file, '--db', db, '--enqueue', '--lease', KILL_LEASE, '--retry-limit', '1']).done).code).toBe(0);
    const out = join(root, 'kill-results');
    const victim = cli(['worker', '--db', db, '--until-empty', '--backend', 'cpu', '-o', out, '--lease', KILL_LEASE]);
    const store = await PostgresRunStore.open(db);
    const deadline = Date.now() + 90_000;
    for (;;) {
      const [run] = await store.listRuns();
      if (run?.status === 'running') break;
      if (Date.now() > deadline) throw new Error('the run never started');
      await new Promise((r) => setTimeout(r, 200));
    }
    victim.child.kill('SIGKILL');
    const killed = await victim.done;
    expect(killed.signal).toBe('SIGKILL');

    const rescuer = await cli(['worker', '--db', db, '--until-empty', '--backend', 'cpu', '-o', out, '--lease', KILL_LEASE, '--json']).done;
    expect(rescuer.code, rescuer.err).toBe(0);
    expect(JSON.parse(rescuer.out)).toMatchObject({ completed: 1, runs: [{ attempt: 2, status: 'completed' }] });
    const runs = await store.listRuns();
    expect(runs.map((r) => r.status)).toEqual(['interrupted', 'completed']);
    expect(runs[0].error).toMatch(/another worker/);
    expect(runs[0].configHash).toBe(runs[1].configHash);
    expect((await store.listSuites('kill')).map((s) => s.status)).toEqual(['completed']);
    await store.close();
  }, 420_000);

  test('Ctrl-C on a worker interrupts its run cleanly, gives it back to the queue and claims nothing more', async () => {
    const db = await pgServer().createDatabase('ctrlc');
    const file = writeSuite('ctrlc', [2, 4], 400);
    expect((await cli(['run-suite', file, '--db', db, '--enqueue', ...ENQ]).done).code).toBe(0);
    const worker = cli(['worker', '--db', db, '--until-empty', '--backend', 'cpu', '-o', join(root, 'ctrlc-results'), '--lease', '10', '--json']);
    const store = await PostgresRunStore.open(db);
    const deadline = Date.now() + 90_000;
    while ((await store.listRuns())[0]?.status !== 'running') {
      if (Date.now() > deadline) throw new Error('the run never started');
      await new Promise((r) => setTimeout(r, 200));
    }
    worker.child.kill('SIGINT');
    const r = await worker.done;
    expect(r.code, r.err).toBe(130);
    expect(JSON.parse(r.out)).toMatchObject({ ended: 'stopped', interrupted: 1, runs: [{ status: 'interrupted' }] });
    const runs = await store.listRuns();
    expect(runs.map((x) => x.status)).toEqual(['interrupted']); // the second run was never claimed
    const jobs = await store.pool.query(`SELECT state, COUNT(*)::int AS n FROM pgboss.job GROUP BY state ORDER BY state`);
    expect(jobs.rows).toEqual([{ state: 'created', n: 2 }, { state: 'completed', n: 1 }]); // both runs wait for a worker
    await store.close();
  }, 420_000);
});
