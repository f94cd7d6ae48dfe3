import type { BackendRequest } from '../engine/types.js';
import { existsSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { loadSuite, type PlannedRun } from '../config/expand-suite.js';
import type { PrepareSpec } from '../config/suite-config.js';
import { prepareDataset } from '../data/prepare.js';
import type { EngineInfo } from '../engine/types.js';
import type { RunStore } from '../tracking/run-store.js';
import type { StepRecord } from '../training/trainer.js';
import { LoraStudyError } from '../util/errors.js';
import { FolderNotOursError } from '../util/owned-dir.js';
import { sweepStaleTemps } from '../util/stale-temps.js';
import type { Logger } from '../util/logger.js';
import { BaseExperiment } from './base-experiment.js';
import type { RunOutcome } from './types.js';
import { localModelDir, resolveModel, type HubModelParts } from '../model/hub/resolve-model.js';

export interface SuiteRuntime {
  backend: BackendRequest;
  threads?: number;
  /** Adapters and run.json go to `<outputRoot>/runs/<suite>/<run>`. */
  outputRoot: string;
}

export interface RunSuiteParams {
  file: string;
  runtime: SuiteRuntime;
  engine: EngineInfo;
  logger: Logger;
  store: RunStore;
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
/**
 * Hub ids downloaded (or found in the cache) and pinned to their commit, once per distinct id,
 * so that every run of the suite, and its identity, use the same weights.
 */
export async function pinModels(runs: PlannedRun[], logger: Logger, parts: HubModelParts = 'model'): Promise<PlannedRun[]> {
  const pinned = new Map<string, string>();
  for (const spec of new Set(runs.map((r) => r.config.model))) pinned.set(spec, (await resolveModel(spec, { logger, parts })).spec);
  return runs.map((r) => ({ ...r, config: { ...r.config, model: pinned.get(r.config.model)! } }));
}

export async function ensureDatasets(runs: PlannedRun[], prepare: PrepareSpec | undefined, logger: Logger): Promise<void> {
  const seen = new Set<string>();
  for (const r of runs) {
    const dir = resolve(r.config.dataset);
    if (seen.has(dir) || existsSync(join(dir, 'meta.json'))) continue;
    seen.add(dir);
    if (!prepare) continue; // the run itself will fail validation with a clear message
    logger.info({ dataset: dir, source: prepare.source }, 'preparing dataset named by the suite');
    try {
      await prepareDataset(
        {
          source: prepare.source, name: basename(dir), outDir: dirname(dir), modelDir: localModelDir(r.config.model), template: prepare.template,
          numSamples: prepare.num_samples, evalSamples: prepare.eval_samples, maxSeqLen: prepare.max_seq_len, seed: prepare.seed,
        },
        logger,
      );
    } catch (err) {
      if (!(err instanceof FolderNotOursError)) throw err;
      throw new LoraStudyError(`the suite's dataset ${dir} exists but is not a prepared dataset (no meta.json); the prepare: block will not replace it`, {
        hint: `point base.dataset at a new folder, or prepare it yourself: lora-study prepare-dataset --dataset ${prepare.source} --model ${r.config.model} --out-dir ${dirname(dir)} --name ${basename(dir)} --overwrite`,
        cause: err,
      });
    }
  }
}

/**
 * The suite's final status, from its runs and whether the loop got through them: a loop that
 * did not finish is `interrupted` when asked to stop and `failed` when an error escaped it; a
 * finished loop is `failed` when a run failed or could not be recorded, `interrupted` when a run
 * was, else `completed`.
 */
export function suiteStatus(out: SuiteOutcome, loop: 'finished' | 'stopped' | 'escaped'): 'completed' | 'failed' | 'interrupted' {
  if (loop === 'escaped') return 'failed';
  if (loop === 'stopped') return 'interrupted';
  const trackerFailed = out.runs.some((r) => r.status !== 'skipped' && r.trackerError);
  if (out.failed > 0 || trackerFailed) return 'failed';
  return out.interrupted > 0 ? 'interrupted' : 'completed';
}

/**
 * Runs a suite one run after another. A failed run is recorded with its error and the suite
 * goes on; an interrupt stops after the current step and marks that run interrupted. With
 * `resume`, each run is claimed atomically (RunStore.claimRun): runs whose resolved config
 * already completed, or is running in another live process, are skipped — so several
 * `run-suite --resume` on one database split the suite between them.
 */
export async function runSuite(p: RunSuiteParams): Promise<SuiteOutcome> {
  const { suite, study, runs: all } = loadSuite(p.file);
  const { store, logger } = p;
  const runs = await pinModels(filterRuns(all, p.filter), logger);
  await store.markStaleRunsInterrupted();
  // Temps (.adapter.tmp-*, .run.json.tmp-*) that killed runs left in runs/<suite>/<run>/.
  const swept = sweepStaleTemps(join(p.runtime.outputRoot, 'runs'), { depth: 2 });
  if (swept.length) logger.info({ removed: swept }, `removed ${swept.length} temp file(s) left by killed runs`);
  await ensureDatasets(runs, suite.prepare, logger);
  const suiteId = await store.createSuite({ name: suite.name, config: suite });
  const out: SuiteOutcome = { suite: suite.name, suiteId, runs: [], completed: 0, failed: 0, skipped: 0, interrupted: 0 };
  let loop: 'finished' | 'stopped' | 'escaped' = 'escaped';
  try {
    for (const [i, run] of runs.entries()) {
      if (p.shouldStop?.()) break;
      const exp = new BaseExperiment(study, run.config, {
        runtime: { backend: p.runtime.backend, threads: p.runtime.threads, outputDir: join(p.runtime.outputRoot, 'runs', suite.name, run.name) },
        engine: p.engine,
        logger,
        store,
        suiteId,
        variant: run.label,
        onStep: p.onStep,
        shouldStop: p.shouldStop,
      });
      let claimed: { runId: number } | undefined;
      if (p.resume) {
        const claim = await store.claimRun(exp.runParams());
        if (!claim.claimed) {
          const where = claim.reason === 'completed' ? `completed as run ${claim.run.id}` : `running as run ${claim.run.id} (${claim.run.hostname ?? '?'} pid ${claim.run.pid ?? '?'})`;
          const skipped: SuiteRunOutcome = { name: run.name, status: 'skipped', reason: where, runId: claim.run.id };
          out.runs.push(skipped);
          out.skipped++;
          p.onRunEnd?.(skipped);
          continue;
        }
        claimed = { runId: claim.runId };
      }
      p.onRunStart?.(i, runs.length, run);
      const outcome = await exp.execute(claimed);
      out.runs.push(outcome);
      if (outcome.status === 'completed') out.completed++;
      else if (outcome.status === 'failed') out.failed++;
      else out.interrupted++;
      p.onRunEnd?.(outcome);
    }
    loop = p.shouldStop?.() ? 'stopped' : 'finished';
  } finally {
    try {
      await store.finishSuite(suiteId, suiteStatus(out, loop));
    } catch (err) {
      // Never hide the error that escaped the loop behind this one; when the loop finished, the
      // suite row is left `running` (the next run-suite marks it interrupted) and the user is told.
      logger.error({ suite: suite.name, suiteId, err: (err as Error).message }, 'the tracker could not record the suite\'s status');
      if (loop !== 'escaped') throw err;
    }
  }
  return out;
}
