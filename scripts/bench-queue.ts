// Queue overhead benchmark (issue 15): what the Postgres queue costs per run with no training —
// claim (pg-boss fetch) → lease thread → start the run row (claimRun) → finish it (exclusive
// completion) → complete the job → settle the suite — with N concurrent worker processes
// draining M queued runs. Prints the per-run overhead distribution and the duplicate count.
//   npx tsx scripts/bench-queue.ts [--workers 8] [--runs 200] [--db postgres://…] [--json]
// Without --db it starts a throwaway PostgreSQL (Debian's postgresql package, as the tests do).
// PHASES=1 prints each run's phase times (claim, run rows, lease stop, job completion) on stderr.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { PgRunQueue } from '../src/tracking/postgres/pg-queue.js';
import { PostgresRunStore } from '../src/tracking/postgres/pg-store.js';
import type { QueueOptions } from '../src/tracking/run-queue.js';
import { startPostgres } from '../tests/helpers/postgres.js';

const OPTIONS: QueueOptions = { leaseSeconds: 60, retryLimit: 1 };

/** A config the size of a real resolved run config (it is stored as JSON on every run). */
function fakeConfig(i: number): Record<string, unknown> {
  return {
    name: `bench-r${i}-s0`, model: '/shared/models/tiny', dataset: '/shared/data/rev', seed: 0, quantization: 'fp32',
    lora: { r: 1 + (i % 64), lora_alpha: 16, lora_dropout: 0.05, target_modules: ['q_proj', 'v_proj'], use_rslora: false },
    training: { max_steps: 300, batch_size: 8, learning_rate: 4e-3, max_seq_len: 128, warmup_steps: 10, lr_scheduler: 'cosine' },
    eval: { max_samples: 64, batch_size: 16, generate: true, max_new_tokens: 32 },
  };
}

async function child(url: string): Promise<void> {
  const store = await PostgresRunStore.open(url, { poolSize: 3 });
  const queue = await PgRunQueue.open(store, OPTIONS);
  const ms: number[] = [];
  for (;;) {
    const t0 = performance.now();
    const job = await queue.claim();
    if (!job) {
      if ((await queue.pending()) === 0) break;
      await new Promise((r) => setTimeout(r, 20));
      continue;
    }
    const t1 = performance.now();
    const lease = queue.keepLease(job.id);
    const d = job.data;
    const claim = await store.claimRun(
      { suiteId: d.suiteId, name: d.name, experimentType: d.type, variant: d.label, config: d.config, configHash: d.identity, status: 'running' },
      { supersede: true },
    );
    if (claim.claimed) await store.finishRun(claim.runId, { status: 'completed', exclusive: true, wallTimeS: 0 });
    const t2 = performance.now();
    await lease.stop();
    const t3 = performance.now();
    await queue.complete(job.id, { status: 'completed' });
    await queue.settleSuite(d.suiteId);
    ms.push(performance.now() - t0);
    if (process.env.PHASES) process.stderr.write(`claim ${(t1 - t0).toFixed(0)} run ${(t2 - t1).toFixed(0)} stop ${(t3 - t2).toFixed(0)} done ${(performance.now() - t3).toFixed(0)}\n`);
  }
  await queue.close();
  await store.close();
  process.stdout.write(`${JSON.stringify(ms)}\n`);
}

function quantile(sorted: number[], q: number): number {
  const i = (sorted.length - 1) * q;
  const lo = Math.floor(i);
  return sorted[lo] + (sorted[Math.ceil(i)] - sorted[lo]) * (i - lo);
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { workers: { type: 'string', default: '8' }, runs: { type: 'string', default: '200' }, db: { type: 'string' }, json: { type: 'boolean' }, child: { type: 'string' } } });
  if (values.child) return child(values.child);
  const workers = Number(values.workers);
  const runs = Number(values.runs);
  const server = values.db ? null : await startPostgres();
  try {
    const url = values.db ?? (await server!.createDatabase(`bench_${Date.now()}`));
    const store = await PostgresRunStore.open(url);
    const queue = await PgRunQueue.open(store, OPTIONS);
    const suiteId = await store.createSuite({ name: 'queue-bench', config: { runs } });
    const tEnq = performance.now();
    for (let i = 0; i < runs; i++) {
      const r = await queue.enqueue({ suiteId, suite: 'queue-bench', type: 'rank', name: `bench-r${i}-s0`, label: `r=${i}`, config: fakeConfig(i), identity: randomUUID() });
      if (!r.enqueued) throw new Error(`run ${i} not enqueued: ${r.reason}`);
    }
    const enqueueMs = (performance.now() - tEnq) / runs;
    await queue.close();

    const self = fileURLToPath(import.meta.url);
    const t0 = performance.now();
    const outs = await Promise.all(
      Array.from({ length: workers }, () =>
        new Promise<number[]>((done, fail) => {
          const c = spawn(process.execPath, ['--import', 'tsx', self, '--child', url], { stdio: ['ignore', 'pipe', 'inherit'] });
          let out = '';
          c.stdout.on('data', (d) => (out += d));
          c.on('close', (code) => (code === 0 ? done(JSON.parse(out.trim().split('\n').pop()!)) : fail(new Error(`worker exited ${code}`))));
        }),
      ),
    );
    const drainS = (performance.now() - t0) / 1000;
    const all = outs.flat().sort((a, b) => a - b);
    const dup = await store.pool.query(`SELECT COUNT(*)::int AS n FROM (SELECT config_hash FROM runs WHERE status = 'completed' GROUP BY config_hash HAVING COUNT(*) > 1) d`);
    const completed = await store.pool.query(`SELECT COUNT(*)::int AS n FROM runs WHERE status = 'completed'`);
    const suite = await store.getSuite(suiteId);
    await store.close();
    const result = {
      workers, runs, claimed: all.length, completed_rows: completed.rows[0].n as number, duplicates: dup.rows[0].n as number,
      suite_status: suite?.status, per_run_ms: { median: quantile(all, 0.5), p90: quantile(all, 0.9), max: all.at(-1) },
      per_worker_runs: outs.map((o) => o.length), enqueue_ms_per_run: enqueueMs, drain_s: drainS, runs_per_s: runs / drainS,
    };
    if (values.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    else {
      process.stdout.write(
        `${workers} workers drained ${runs} runs in ${drainS.toFixed(1)} s (${result.runs_per_s.toFixed(0)} runs/s); ` +
          `per-run overhead median ${result.per_run_ms.median.toFixed(1)} ms, p90 ${result.per_run_ms.p90.toFixed(1)} ms, max ${result.per_run_ms.max!.toFixed(1)} ms; ` +
          `enqueue ${enqueueMs.toFixed(1)} ms/run; ${result.completed_rows} completed rows, ${result.duplicates} duplicates; suite ${result.suite_status}; ` +
          `runs per worker ${result.per_worker_runs.join('/')}\n`,
      );
    }
    if (result.duplicates !== 0 || result.completed_rows !== runs) process.exitCode = 1;
  } finally {
    server?.stop();
  }
}

await main();
