import type { RunConfig } from '../config/run-config.js';
import { LoraStudyError } from '../util/errors.js';
import type { BaseExperiment } from './base-experiment.js';
import { ModuleAblation } from './module-ablation.js';
import { QuantizationStudy } from './quantization-study.js';
import { RankAblation } from './rank-ablation.js';
import { SingleRun } from './single-run.js';
import type { ExperimentContext } from './types.js';

type ExperimentClass = { readonly type: string; new (config: RunConfig, ctx: ExperimentContext): BaseExperiment };

/** `type:` in a suite YAML → experiment class. A new study is one file and one line here. */
export const EXPERIMENT_TYPES: Record<string, ExperimentClass> = {
  [SingleRun.type]: SingleRun,
  [RankAblation.type]: RankAblation,
  [ModuleAblation.type]: ModuleAblation,
  [QuantizationStudy.type]: QuantizationStudy,
};

export function createExperiment(type: string, config: RunConfig, ctx: ExperimentContext): BaseExperiment {
  const cls = EXPERIMENT_TYPES[type];
  if (!cls) throw new LoraStudyError(`unknown experiment type "${type}"`, { hint: `use one of: ${Object.keys(EXPERIMENT_TYPES).join(', ')}` });
  return new cls(config, ctx);
}
