import { join } from 'node:path';
import type { RunConfig } from '../config/run-config.js';
import type { EngineInfo } from '../engine/types.js';
import type { StepRecord } from '../training/trainer.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import type { RunSummary } from './types.js';

export interface RunJson {
  config: RunConfig;
  experimentType: string;
  variant: string;
  engine: EngineInfo;
  status: string;
  summary: RunSummary;
  steps: StepRecord[];
  modules: string[];
}

/** run.json beside the adapter: the resolved config, where it ran, every figure and the loss curve. */
export async function writeRunJson(dir: string, r: RunJson): Promise<void> {
  const doc = {
    name: r.config.name,
    experiment_type: r.experimentType,
    variant: r.variant,
    status: r.status,
    config: r.config,
    backend: r.engine.backend,
    device: r.engine.device,
    threads: r.engine.threads,
    tfjs_version: r.engine.tfjsVersion,
    adapted_modules: r.modules,
    summary: r.summary,
    losses: r.steps.map((s) => s.loss),
    steps: r.steps,
    created_at: new Date().toISOString(),
  };
  await writeFileAtomic(join(dir, 'run.json'), `${JSON.stringify(doc, null, 2)}\n`);
}
