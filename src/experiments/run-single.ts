import { resolve } from 'node:path';
import type { RunConfig, RuntimeSettings } from '../config/run-config.js';
import type { EngineInfo } from '../engine/types.js';
import type { RunSink } from '../tracking/run-store.js';
import type { StepRecord } from '../training/trainer.js';
import type { Logger } from '../util/logger.js';
import { singleStudy } from '../studies/single.js';
import { BaseExperiment } from './base-experiment.js';
import type { RunOutcome } from './types.js';
import { resolveModel } from '../model/hub/resolve-model.js';

export interface RunSingleParams {
  config: RunConfig;
  runtime: RuntimeSettings;
  engine: EngineInfo;
  logger: Logger;
  store?: RunSink;
  onStep?: (rec: StepRecord, maxSteps: number) => void;
  shouldStop?: () => boolean;
}

/** Trains, evaluates and records one run; the adapter and run.json land in runtime.outputDir. */
export async function runSingle(p: RunSingleParams): Promise<RunOutcome> {
  // A Hub id is downloaded (or found in the cache) and pinned to its commit before the run starts.
  const model = await resolveModel(p.config.model, { logger: p.logger });
  const exp = new BaseExperiment(singleStudy, { ...p.config, model: model.spec }, {
    runtime: { ...p.runtime, outputDir: resolve(p.runtime.outputDir) },
    engine: p.engine,
    logger: p.logger,
    store: p.store,
    onStep: p.onStep,
    shouldStop: p.shouldStop,
  });
  return exp.execute();
}
