import { join } from 'node:path';
import { runConfigSchema } from '../config/run-config.js';
import type { EngineInfo } from '../engine/types.js';
import { studyOf } from '../studies/registry.js';
import type { ClaimedJob, Lease, RunQueue } from '../tracking/run-queue.js';
import type { RunStore } from '../tracking/run-store.js';
import type { StepRecord } from '../training/trainer.js';
import type { Logger } from '../util/logger.js';
import { BaseExperiment } from './base-experiment.js';
import type { SuiteRuntime } from './suite-runner.js';
import type { RunOutcome } from './types.js';

export interface WorkerParams {
  store: RunStore;
  queue: RunQueue;
  engine: EngineInfo;
  logger: Logger;
  runtime: SuiteRuntime;
  /** Exit once no job is queued, waiting for retry or running anywhere; otherwise wait for more. */
  untilEmpty?: boolean;
  /** How often an idle worker asks the queue again, in ms. Default 1000. */
  pollMs?: number;
  /** Ctrl-C: the current run stops at its next step and goes back to the queue; no new claim. */
  shouldStop?: () => boolean;
  onRunStart?: (job: ClaimedJob) => void;
  onStep?: (rec: StepRecord, maxSteps: number) => void;
  onRunEnd?: (outcome: WorkerRunOutcome) => void;
}

export type WorkerRunOutcome = (RunOutcome | { name: string; status: 'skipped'; reason: string; runId: number | null }) & {
  jobId: string;
  attempt: number;
};

export interface WorkerOutcome {
  runs: WorkerRunOutcome[];
  completed: number;
  failed: number;
  interrupted: number;
  skipped: number;
  /** Why the loop ended: the queue ran dry (`empty`) or Ctrl-C (`stopped`). */
  ended: 'empty' | 'stopped';
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A queue worker: claims one run at a time, runs it through the same lifecycle as run-suite,
 * heartbeats while it runs, records the result. The queue guarantees one worker per job; the
 * store guarantees one completion per run identity (a worker whose lease expired while it was
 * still alive finds its result recorded `interrupted`, not completed twice). A job retried after
 * its worker died marks that worker's `running` row interrupted and starts a new row.
 */
export async function runWorker(p: WorkerParams): Promise<WorkerOutcome> {
  const { store, queue, logger } = p;
  const stop = p.shouldStop ?? (() => false);
  const out: WorkerOutcome = { runs: [], completed: 0, failed: 0, interrupted: 0, skipped: 0, ended: 'empty' };
  for (;;) {
    if (stop()) {
      out.ended = 'stopped';
      break;
    }
    const job = await queue.claim();
    if (!job) {
      if (p.untilEmpty && (await queue.pending()) === 0) break;
      for (let waited = 0; waited < (p.pollMs ?? 1000) && !stop(); waited += 100) await sleep(100);
      continue;
    }
    const result = await runJob(p, job, stop);
    out.runs.push(result);
    out[result.status]++;
    p.onRunEnd?.(result);
    await queue.settleSuite(job.data.suiteId).catch((err: Error) => logger.warn({ suiteId: job.data.suiteId, err: err.message }, 'could not settle the suite status'));
  }
  return out;
}

async function runJob(p: WorkerParams, job: ClaimedJob, stop: () => boolean): Promise<WorkerRunOutcome> {
  const { store, queue, logger } = p;
  const d = job.data;
  const tag = { jobId: job.id, attempt: job.retryCount + 1 };
  const study = studyOf(d.type);
  const parsed = runConfigSchema.safeParse(d.config);
  if (!study || !parsed.success) {
    const reason = !study ? `unknown study type "${d.type}" (a newer lora-study enqueued it?)` : `invalid run config in the job: ${parsed.error!.message}`;
    await queue.complete(job.id, { status: 'failed', error: reason });
    logger.error({ run: d.name, ...tag, reason }, 'job refused');
    return { name: d.name, status: 'failed', runId: null, outputDir: '', error: reason, ...tag };
  }
  let lease: Lease | null = null;
  let leaseLost = false;
  const lost = (): boolean => {
    if (!leaseLost && lease?.lost()) {
      leaseLost = true;
      logger.warn({ run: d.name, ...tag }, 'lease lost (the queue gave this run to another worker): stopping it');
    }
    return leaseLost;
  };
  const exp = new BaseExperiment(study, parsed.data, {
    runtime: { backend: p.runtime.backend, threads: p.runtime.threads, outputDir: join(p.runtime.outputRoot, 'runs', d.suite, d.name) },
    engine: p.engine,
    logger,
    store,
    suiteId: d.suiteId,
    variant: d.label,
    exclusive: true,
    onStep: p.onStep,
    shouldStop: () => stop() || lost(),
  });
  // The lease is ours: a row left `running` for this identity is a dead attempt's.
  const claim = await store.claimRun({ ...exp.runParams(), configHash: d.identity }, { supersede: true });
  if (!claim.claimed) {
    await queue.complete(job.id, { status: 'skipped', reason: `completed as run ${claim.run.id}` });
    return { name: d.name, status: 'skipped', reason: `completed as run ${claim.run.id}`, runId: claim.run.id, ...tag };
  }
  p.onRunStart?.(job);
  lease = queue.keepLease(job.id);
  let outcome: RunOutcome;
  try {
    outcome = await exp.execute({ runId: claim.runId });
  } finally {
    await lease.stop();
  }
  if (lost()) return { ...outcome, status: 'interrupted', ...tag };
  if (outcome.status === 'interrupted' && stop()) {
    await queue.requeue(job); // Ctrl-C: another worker (or a later one) does it
  } else {
    await queue.complete(job.id, { status: outcome.status, runId: outcome.runId, error: outcome.error ?? null });
  }
  return { ...outcome, ...tag };
}
