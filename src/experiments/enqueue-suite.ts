import { loadSuite } from '../config/expand-suite.js';
import type { RunQueue } from '../tracking/run-queue.js';
import type { RunStore } from '../tracking/run-store.js';
import type { Logger } from '../util/logger.js';
import { runIdentity } from './run-identity.js';
import { ensureDatasets, filterRuns, pinModels } from './suite-runner.js';

export interface EnqueueOutcome {
  suite: string;
  /** The suite row the enqueued runs belong to; null when nothing new was enqueued. */
  suiteId: number | null;
  enqueued: { name: string; jobId: string }[];
  skipped: { name: string; reason: string }[];
}

/**
 * Puts every variant × seed of a suite on the queue, once: a run whose identity is already
 * queued, running or completed is skipped, so enqueueing twice adds nothing. Datasets the suite
 * prepares are prepared here, before any worker needs them (under -o/data paths every worker
 * must see: a shared filesystem across machines).
 */
export async function enqueueSuite(p: { file: string; filter?: string; store: RunStore; queue: RunQueue; logger: Logger }): Promise<EnqueueOutcome> {
  const { suite, runs: all } = loadSuite(p.file);
  // Hub ids are pinned to their commit here (config and tokenizer fetched for dataset
  // preparation), so every worker trains on the same weights; each worker downloads them.
  const runs = await pinModels(filterRuns(all, p.filter), p.logger, 'tokenizer');
  await ensureDatasets(runs, suite.prepare, p.logger);
  const suiteId = await p.store.createSuite({ name: suite.name, config: suite });
  const out: EnqueueOutcome = { suite: suite.name, suiteId, enqueued: [], skipped: [] };
  for (const run of runs) {
    const r = await p.queue.enqueue({
      suiteId, suite: suite.name, type: suite.type, name: run.name, label: run.label, config: run.config, identity: runIdentity(run.config),
    });
    if (r.enqueued) out.enqueued.push({ name: run.name, jobId: r.jobId });
    else out.skipped.push({ name: run.name, reason: r.reason });
  }
  if (out.enqueued.length === 0) {
    await p.queue.dropEmptySuite(suiteId);
    out.suiteId = null;
  }
  p.logger.info({ suite: suite.name, suiteId: out.suiteId, enqueued: out.enqueued.length, skipped: out.skipped.length }, 'suite enqueued');
  return out;
}
