import type { Command } from 'commander';
import { NATIVE_MATMUL_HELP, type NativeMatmulMode } from '../engine/native-matmul.js';
import { initEngine } from '../engine/backend.js';
import type { BackendRequest } from '../engine/types.js';
import { runWorker, type WorkerOutcome } from '../experiments/worker.js';
import { openRunQueue, openRunStore, parseDbSpec, queueNeedsPostgres } from '../tracking/open-store.js';
import { DEFAULT_QUEUE_OPTIONS, type QueueOptions } from '../tracking/run-queue.js';
import type { RunStore } from '../tracking/run-store.js';
import { z } from 'zod';
import { createLogger, type Logger } from '../util/logger.js';
import { DB_FLAGS, DB_HELP } from './db-option.js';
import { FLAG_SCHEMAS, numberFlag } from './numeric-flag.js';
import { printJson, runCommand } from './run-command.js';
import { interruptFlag } from './signals.js';

export interface WorkerOpts {
  untilEmpty?: boolean;
  gpu?: number;
  backend: BackendRequest;
  threads?: number;
  nativeMatmul?: NativeMatmulMode;
  output: string;
  db?: string;
  lease: number;
  retryLimit: number;
  json?: boolean;
}

const leaseSchema = z.number().int().min(2);
const countSchema = z.number().int().min(0);

/** Flags every command that talks to the queue shares (lease, retry limit). */
export function queueOptions(cmd: Command): Command {
  return cmd
    .option('--lease <n>', 'seconds without a heartbeat after which a run is given to another worker (int)', numberFlag('--lease', leaseSchema), DEFAULT_QUEUE_OPTIONS.leaseSeconds)
    .option('--retry-limit <n>', 'times a run whose worker died is retried by another (int, set when enqueueing)', numberFlag('--retry-limit', countSchema), DEFAULT_QUEUE_OPTIONS.retryLimit);
}

export function toQueueOptions(opts: { lease: number; retryLimit: number }): QueueOptions {
  return { leaseSeconds: opts.lease, retryLimit: opts.retryLimit };
}

/**
 * Works the queue of `store` until it is empty (untilEmpty) or Ctrl-C, printing each run as it
 * ends; returns the exit code. run-suite on Postgres uses it too, as one worker.
 */
export async function work(store: RunStore, opts: WorkerOpts, logger: Logger): Promise<number> {
  if (opts.gpu !== undefined) {
    // Read by CUDA when the native engine loads: pins this worker to one GPU.
    process.env.CUDA_VISIBLE_DEVICES = String(opts.gpu);
  }
  const queue = await openRunQueue(store, toQueueOptions(opts), (err) => logger.warn({ err: err.message }, 'queue error'));
  const stop = interruptFlag('stopping after the current step; the run goes back to the queue');
  try {
    const engine = await initEngine({ backend: opts.backend, threads: opts.threads, nativeMatmul: opts.nativeMatmul, logger });
    const outcome = await runWorker({
      store, queue, engine, logger, untilEmpty: opts.untilEmpty, shouldStop: stop.isSet,
      runtime: { backend: opts.backend, threads: opts.threads, outputRoot: opts.output },
      onRunStart: (job) => logger.info({ run: job.data.name, attempt: job.retryCount + 1 }, 'run claimed'),
      onRunEnd: (o) => {
        if (!opts.json) process.stderr.write(`${formatWorkerRun(o)}\n`);
      },
    });
    if (opts.json) printJson({ engine: { backend: engine.backend, device: engine.device }, db: store.location, ...outcome });
    else process.stdout.write(`${summary(outcome)} (${engine.backend}: ${engine.device})\n`);
    // A run interrupted because its lease was lost is the queue's business (it was retried); only
    // Ctrl-C makes this worker's exit code say "interrupted".
    if (outcome.ended === 'stopped') return 130;
    return outcome.failed > 0 ? 1 : 0;
  } finally {
    stop.dispose();
    await queue.close();
  }
}

function formatWorkerRun(o: WorkerOutcome['runs'][number]): string {
  const attempt = o.attempt > 1 ? ` (attempt ${o.attempt})` : '';
  if (o.status === 'skipped') return `${o.name}: skipped (${o.reason})`;
  if (o.status === 'failed') return `${o.name}: FAILED${attempt} — ${o.error}`;
  const s = o.summary;
  return `${o.name}: ${o.status}${attempt}${s ? ` eval_loss ${s.eval_loss.toFixed(4)}` : ''} (run ${o.runId})`;
}

function summary(o: WorkerOutcome): string {
  return `${o.completed} completed, ${o.failed} failed, ${o.skipped} skipped, ${o.interrupted} interrupted by this worker${o.ended === 'stopped' ? ' (stopped)' : ''}`;
}

export function register(program: Command): void {
  queueOptions(
    program
      .command('worker')
      .description('claim queued runs from a Postgres tracking database one at a time and run them (start any number, on any machine)')
      .option('--until-empty', 'exit once nothing is queued or running (default: wait for more work)')
      .option('--gpu <n>', 'use only GPU n (sets CUDA_VISIBLE_DEVICES before the engine loads) (int)', numberFlag('--gpu', countSchema))
      .option('--backend <name>', 'auto|tensorflow|webgpu|wasm|cpu (default: auto)', 'auto')
      .option('--threads <n>', 'wasm threads (int, default: cores)', numberFlag('--threads', FLAG_SCHEMAS.threads))
      .option('--native-matmul <mode>', NATIVE_MATMUL_HELP)
      .option('-o, --output <dir>', 'results folder: runs/<suite>/<run>/ adapters (a shared filesystem across machines)', 'results')
      .option(DB_FLAGS, DB_HELP)
      .option('--json', 'print one JSON document with the outcome on stdout'),
  ).action(async (opts: WorkerOpts) => {
    await runCommand('worker', opts, async () => {
      const logger = createLogger({ level: opts.json ? 'warn' : 'info' });
      const spec = parseDbSpec(opts.db);
      if (spec.kind !== 'postgres') throw queueNeedsPostgres(spec.path);
      const store = await openRunStore(spec);
      try {
        return await work(store, opts, logger);
      } finally {
        await store.close();
      }
    });
  });
}
