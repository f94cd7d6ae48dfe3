import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { loadSuite } from '../config/expand-suite.js';
import { initEngine } from '../engine/backend.js';
import type { BackendRequest } from '../engine/types.js';
import { matmulPeakGflops } from '../experiments/mfu.js';
import { planRun } from '../experiments/plan.js';
import { filterRuns, runSuite, type SuiteRunOutcome } from '../experiments/suite-runner.js';
import { runIdentity } from '../experiments/run-identity.js';
import { openRunStore } from '../tracking/open-store.js';
import { DB_FLAGS, DB_HELP } from './db-option.js';
import { LoraStudyError } from '../util/errors.js';
import { createLogger } from '../util/logger.js';
import { formatPlan } from './format-plan.js';
import { FLAG_SCHEMAS, numberFlag } from './numeric-flag.js';
import { printJson, runCommand } from './run-command.js';
import { interruptFlag } from './signals.js';

interface Opts {
  dryRun?: boolean;
  resume?: boolean;
  filter?: string;
  backend: BackendRequest;
  threads?: number;
  output: string;
  db?: string;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('run-suite')
    .description('run every variant × seed of a suite YAML, recording each run in SQLite')
    .argument('<suite.yaml>', 'suite file, e.g. configs/experiments/rank_sweep.yaml')
    .option('--dry-run', 'validate everything and print the plan (params, memory, time); train nothing')
    .option('--resume', 'skip runs whose resolved config already completed; redo interrupted ones')
    .option('--filter <text>', 'only runs whose name contains <text> (or matches /regex/)')
    .option('--backend <name>', 'auto|tensorflow|webgpu|wasm|cpu (default: auto)', 'auto')
    .option('--threads <n>', 'wasm threads (int, default: cores)', numberFlag('--threads', FLAG_SCHEMAS.threads))
    .option('-o, --output <dir>', 'results folder: runs/<suite>/<run>/ adapters and run.json', 'results')
    .option(DB_FLAGS, DB_HELP)
    .option('--json', 'print one JSON document (plan or outcome) on stdout')
    .action(async (file: string, opts: Opts) => {
      await runCommand('run-suite', opts, async () => {
        const logger = createLogger({ level: opts.json || process.stderr.isTTY ? 'warn' : 'info' });
        if (opts.dryRun) return dryRun(file, opts, logger);
        const engine = await initEngine({ backend: opts.backend, threads: opts.threads, logger });
        const store = await openRunStore(opts.db);
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
  const engine = await initEngine({ backend: opts.backend, threads: opts.threads, logger });
  const gflops = await matmulPeakGflops(engine.backend);
  const store = opts.resume ? await openRunStore(opts.db) : null;
  const rows = [];
  try {
    for (const r of runs) {
      const row = planRun(r, { prepare: suite.prepare, matmulGflops: gflops });
      const done = await store?.findCompletedRun(runIdentity(r.config));
      if (done) row.skip = `completed as run ${done.id}`;
      rows.push(row);
    }
  } finally {
    await store?.close();
  }
  if (opts.json) printJson({ suite: suite.name, type: suite.type, backend: engine.backend, device: engine.device, matmul_gflops: gflops, runs: rows });
  else process.stdout.write(`${formatPlan(rows, `suite ${suite.name} (${suite.type}) on ${engine.backend}: ${engine.device}, matmul ${gflops.toFixed(1)} GFLOP/s`)}\n`);
  return rows.every((r) => r.ok) ? 0 : 1;
}
