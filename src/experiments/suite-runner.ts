import { existsSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { loadSuite, type PlannedRun } from '../config/expand-suite.js';
import type { PrepareSpec } from '../config/suite-config.js';
import { prepareDataset } from '../data/prepare.js';
import type { EngineInfo } from '../engine/types.js';
import { hashConfig } from '../tracking/config-hash.js';
import type { Tracker } from '../tracking/tracker.js';
import type { StepRecord } from '../training/trainer.js';
import type { Logger } from '../util/logger.js';
import { createExperiment } from './registry.js';
import type { RunOutcome } from './types.js';

export interface SuiteRuntime {
  backend: 'auto' | 'tensorflow' | 'wasm' | 'cpu';
  threads?: number;
  /** Adapters and run.json go to `<outputRoot>/runs/<suite>/<run>`. */
  outputRoot: string;
}

export interface RunSuiteParams {
  file: string;
  runtime: SuiteRuntime;
  engine: EngineInfo;
  logger: Logger;
  tracker: Tracker;
  resume?: boolean;
  /** Only runs whose name contains this text (or matches it as a /regex/). */
  filter?: string;
  onRunStart?: (index: number, total: number, run: PlannedRun) => void;
  onStep?: (rec: StepRecord, maxSteps: number) => void;
  onRunEnd?: (outcome: SuiteRunOutcome) => void;
  shouldStop?: () => boolean;
}

export type SuiteRunOutcome = RunOutcome | { name: string; status: 'skipped'; reason: string; runId: number | null };

export interface SuiteOutcome {
  suite: string;
  suiteId: number;
  runs: SuiteRunOutcome[];
  completed: number;
  failed: number;
  skipped: number;
  interrupted: number;
}

export function filterRuns(runs: PlannedRun[], filter?: string): PlannedRun[] {
  if (!filter) return runs;
  const m = /^\/(.*)\/$/.exec(filter);
  const test = m ? (n: string) => new RegExp(m[1]).test(n) : (n: string) => n.includes(filter);
  return runs.filter((r) => test(r.name));
}

/** Prepares each dataset a suite names but that does not exist yet, from the suite's prepare: block. */
export async function ensureDatasets(runs: PlannedRun[], prepare: PrepareSpec | undefined, logger: Logger): Promise<void> {
  const seen = new Set<string>();
  for (const r of runs) {
    const dir = resolve(r.config.dataset);
    if (seen.has(dir) || existsSync(join(dir, 'meta.json'))) continue;
    seen.add(dir);
    if (!prepare) continue; // the run itself will fail validation with a clear message
    logger.info({ dataset: dir, source: prepare.source }, 'preparing dataset named by the suite');
    await prepareDataset(
      {
        source: prepare.source, name: basename(dir), outDir: dirname(dir), modelDir: r.config.model, template: prepare.template,
        numSamples: prepare.num_samples, evalSamples: prepare.eval_samples, maxSeqLen: prepare.max_seq_len, seed: prepare.seed,
      },
      logger,
    );
  }
}

/**
 * Runs a suite one run after another. A failed run is recorded with its error and the suite
 * goes on; an interrupt stops after the current step and marks that run interrupted. With
 * `resume`, runs whose resolved config already completed are skipped.
 */
export async function runSuite(p: RunSuiteParams): Promise<SuiteOutcome> {
  const { suite, runs: all } = loadSuite(p.file);
  const runs = filterRuns(all, p.filter);
  const { tracker, logger } = p;
  tracker.markStaleRunsInterrupted();
  await ensureDatasets(runs, suite.prepare, logger);
  const suiteId = tracker.createSuite({ name: suite.name, config: suite });
  const out: SuiteOutcome = { suite: suite.name, suiteId, runs: [], completed: 0, failed: 0, skipped: 0, interrupted: 0 };
  try {
    for (const [i, run] of runs.entries()) {
      if (p.shouldStop?.()) break;
      if (p.resume) {
        const done = tracker.findCompletedRun(hashConfig(run.config));
        if (done) {
          const skipped: SuiteRunOutcome = { name: run.name, status: 'skipped', reason: `completed as run ${done.id}`, runId: done.id };
          out.runs.push(skipped);
          out.skipped++;
          p.onRunEnd?.(skipped);
          continue;
        }
      }
      p.onRunStart?.(i, runs.length, run);
      const exp = createExperiment(suite.type, run.config, {
        runtime: { backend: p.runtime.backend, threads: p.runtime.threads, outputDir: join(p.runtime.outputRoot, 'runs', suite.name, run.name) },
        engine: p.engine,
        logger,
        tracker,
        suiteId,
        variant: run.variant,
        onStep: p.onStep,
        shouldStop: p.shouldStop,
      });
      const outcome = await exp.execute();
      out.runs.push(outcome);
      if (outcome.status === 'completed') out.completed++;
      else if (outcome.status === 'failed') out.failed++;
      else out.interrupted++;
      p.onRunEnd?.(outcome);
    }
  } finally {
    const stopped = p.shouldStop?.() || out.interrupted > 0;
    tracker.finishSuite(suiteId, stopped ? 'interrupted' : out.failed > 0 ? 'failed' : 'completed');
  }
  return out;
}
