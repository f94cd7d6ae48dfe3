import cliProgress from 'cli-progress';
import { NATIVE_MATMUL_HELP, type NativeMatmulMode } from '../engine/native-matmul.js';
import type { Command } from 'commander';
import { loadSuite } from '../config/expand-suite.js';
import { initEngine } from '../engine/backend.js';
import type { BackendRequest } from '../engine/types.js';
import { matmulPeakGflops } from '../experiments/mfu.js';
import { memoryLimit } from '../engine/memory-limit.js';
import { planRun } from '../experiments/plan.js';
import { filterRuns, runSuite, type SuiteRunOutcome } from '../experiments/suite-runner.js';
import { runIdentity } from '../experiments/run-identity.js';
import { enqueueSuite } from '../experiments/enqueue-suite.js';
import { openRunQueue, openRunStore, parseDbSpec, queueNeedsPostgres } from '../tracking/open-store.js';
import type { RunStore } from '../tracking/run-store.js';
import { queueOptions, toQueueOptions, work } from './worker.js';
import { DB_FLAGS, DB_HELP } from './db-option.js';
import { LoraStudyError } from '../util/errors.js';
import { createLogger } from '../util/logger.js';
import { formatPlan } from './format-plan.js';
import { FLAG_SCHEMAS, numberFlag } from './numeric-flag.js';
import { printJson, runCommand } from './run-command.js';
import { interruptFlag } from './signals.js';
import { prefetchModelConfigs } from '../model/hub/resolve-model.js';
import { hubPlanNotes, prefetchSafetensorsHeaders } from '../model/hub/hub-plan.js';

interface Opts {
  dryRun?: boolean;
  resume?: boolean;
  filter?: string;
  backend: BackendRequest;
  threads?: number;
  nativeMatmul?: NativeMatmulMode;
  output: string;
  db?: string;
  json?: boolean;
  enqueue?: boolean;
  lease: number;
  retryLimit: number;
}

export function register(program: Command): void {
  const cmd = program
    .command('run-suite')
    .description('run every variant × seed of a suite YAML, recording each run (SQLite, or Postgres through its run queue)')
    .argument('<suite.yaml>', 'suite file, e.g. configs/experiments/rank_sweep.yaml')
    .option('--dry-run', 'validate everything and print the plan (params, memory, time); train nothing')
    .option('--resume', 'skip runs whose resolved config already completed; redo interrupted ones')
    .option('--filter <text>', 'only runs whose name contains <text> (or matches /regex/)')
    .option('--backend <name>', 'auto|tensorflow|webgpu|wasm|cpu (default: auto)', 'auto')
    .option('--threads <n>', 'wasm threads (int, default: cores)', numberFlag('--threads', FLAG_SCHEMAS.threads))
    .option('--native-matmul <mode>', NATIVE_MATMUL_HELP)
    .option('-o, --output <dir>', 'results folder: runs/<suite>/<run>/ adapters and run.json', 'results')
    .option(DB_FLAGS, DB_HELP)
    .option('--json', 'print one JSON document (plan or outcome) on stdout')
    .option('--enqueue', 'Postgres: put every run on the queue (once) and exit; `lora-study worker` processes run them');
  queueOptions(cmd).action(async (file: string, opts: Opts) => {
      await runCommand('run-suite', opts, async () => {
        const logger = createLogger({ level: opts.json || process.stderr.isTTY ? 'warn' : 'info' });
        if (opts.dryRun) return dryRun(file, opts, logger);
        const spec = parseDbSpec(opts.db);
        if (opts.enqueue && spec.kind !== 'postgres') throw queueNeedsPostgres(spec.path);
        const store = await openRunStore(spec);
        if (opts.enqueue || store.kind === 'postgres') return onQueue(file, opts, store, logger);
        const engine = await initEngine({ backend: opts.backend, threads: opts.threads, nativeMatmul: opts.nativeMatmul, logger });
        const stop = interruptFlag();
        const bars = !opts.json && process.stderr.isTTY ? new cliProgress.MultiBar({ stream: process.stderr, hideCursor: true, clearOnComplete: false, format: '{label} [{bar}] {value}/{total} {info}' }, cliProgress.Presets.shades_classic) : null;
        const suiteBar = bars?.create(1, 0, { label: 'suite', info: '' });
        let runBar: cliProgress.SingleBar | undefined;
        try {
          const outcome = await runSuite({
            file, store, engine, logger, resume: opts.resume, filter: opts.filter, shouldStop: stop.isSet,
            runtime: { backend: opts.backend, threads: opts.threads, outputRoot: opts.output },
            onRunStart: (i, total, run) => {
              suiteBar?.setTotal(total);
              suiteBar?.update(i, { info: run.name });
              if (runBar) bars?.remove(runBar);
              runBar = bars?.create(run.config.training.max_steps, 0, { label: '  run', info: '' });
              if (!bars) logger.info({ run: run.name, index: i + 1, total }, 'run starting');
            },
            onStep: (rec) => runBar?.update(rec.step, { info: `loss ${rec.loss.toFixed(4)} | ${rec.tokensPerS.toFixed(0)} tok/s` }),
            onRunEnd: (o) => {
              suiteBar?.increment(1, { info: `${o.name}: ${o.status}` });
              if (!bars) logger.info({ run: o.name, status: o.status }, 'run finished');
            },
          });
          bars?.stop();
          if (opts.json) printJson({ engine: { backend: engine.backend, device: engine.device }, ...outcome });
          else process.stdout.write(`${formatOutcome(outcome.runs)}\n\n${outcome.completed} completed, ${outcome.failed} failed, ${outcome.skipped} skipped, ${outcome.interrupted} interrupted (suite ${outcome.suite}, id ${outcome.suiteId}, ${engine.backend}: ${engine.device})\n`);
          if (stop.isSet() || outcome.interrupted > 0) return 130;
          return outcome.failed > 0 ? 1 : 0;
        } finally {
          bars?.stop();
          stop.dispose();
          await store.close();
        }
      });
  });
}

/**
 * run-suite against the queue: enqueue every run once; then, unless --enqueue, work the queue as
 * one worker until it is empty (on one machine, the same experience as the SQLite loop).
 */
async function onQueue(file: string, opts: Opts, store: RunStore, logger: ReturnType<typeof createLogger>): Promise<number> {
  try {
    if (opts.resume) logger.info('--resume is implied on the queue: runs already completed or queued are not enqueued again');
    const queue = await openRunQueue(store, toQueueOptions(opts), (err) => logger.warn({ err: err.message }, 'queue error'));
    let enqueued;
    try {
      enqueued = await enqueueSuite({ file, filter: opts.filter, store, queue, logger });
    } finally {
      await queue.close();
    }
    if (opts.enqueue) {
      if (opts.json) printJson({ db: store.location, ...enqueued });
      else {
        const skipped = enqueued.skipped.map((s) => `  ${s.name}: ${s.reason}`).join('\n');
        process.stdout.write(
          `suite ${enqueued.suite}: ${enqueued.enqueued.length} run(s) enqueued${enqueued.suiteId === null ? '' : ` (suite id ${enqueued.suiteId})`}, ${enqueued.skipped.length} skipped on ${store.location}\n${skipped ? `${skipped}\n` : ''}` +
            `start workers with: lora-study worker --db <url> --until-empty\n`,
        );
      }
      return 0;
    }
    process.stderr.write(`suite ${enqueued.suite}: ${enqueued.enqueued.length} run(s) enqueued, ${enqueued.skipped.length} skipped; working the queue\n`);
    return await work(store, { ...opts, untilEmpty: true }, logger);
  } finally {
    await store.close();
  }
}

function formatOutcome(runs: SuiteRunOutcome[]): string {
  return runs
    .map((r) => {
      if (r.status === 'skipped') return `${r.name}: skipped (${r.reason})`;
      if (r.status === 'failed') return `${r.name}: FAILED — ${r.error}`;
      const s = r.summary;
      return `${r.name}: ${r.status}${s ? ` eval_loss ${s.eval_loss.toFixed(4)}${s.exact_match === undefined ? '' : ` exact_match ${s.exact_match.toFixed(3)}`} ${s.train_tokens_per_s.toFixed(0)} tok/s` : ''}`;
    })
    .join('\n');
}

async function dryRun(file: string, opts: Opts, logger: ReturnType<typeof createLogger>): Promise<number> {
  const { suite, runs: all } = loadSuite(file);
  const runs = filterRuns(all, opts.filter);
  if (runs.length === 0) throw new LoraStudyError(`no run of suite ${suite.name} matches --filter ${opts.filter}`);
  const engine = await initEngine({ backend: opts.backend, threads: opts.threads, nativeMatmul: opts.nativeMatmul, logger });
  const gflops = await matmulPeakGflops(engine.backend);
  const limit = memoryLimit(engine.backend);
  const store = opts.resume ? await openRunStore(opts.db) : null;
  const rows = [];
  const hubErrors = await prefetchModelConfigs(runs.map((r) => r.config.model), { logger });
  const hubHeaders = await prefetchSafetensorsHeaders(runs.map((r) => r.config.model), { logger });
  try {
    for (const r of runs) {
      const row = planRun(r, { prepare: suite.prepare, matmulGflops: gflops, memoryLimit: limit });
      const hubError = hubErrors.get(r.config.model);
      if (hubError && !row.ok) row.error = hubError;
      const done = await store?.findCompletedRun(runIdentity(r.config));
      if (done) row.skip = `completed as run ${done.id}`;
      rows.push(row);
    }
  } finally {
    await store?.close();
  }
  const notes = hubPlanNotes(runs.map((r) => r.config.model), { headers: hubHeaders });
  if (opts.json) printJson({ suite: suite.name, type: suite.type, backend: engine.backend, device: engine.device, matmul_gflops: gflops, memory_limit: limit, runs: rows, notes });
  else process.stdout.write(`${formatPlan(rows, `suite ${suite.name} (${suite.type}) on ${engine.backend}: ${engine.device}, matmul ${gflops.toFixed(1)} GFLOP/s, memory ${(limit.bytes / 2 ** 30).toFixed(1)} GiB (${limit.what})`)}\n${notes.map((n) => `note: ${n}\n`).join('')}`);
  return rows.every((r) => r.ok) ? 0 : 1;
}
