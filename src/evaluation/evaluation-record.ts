import { existsSync } from 'node:fs';
import { metricInfo } from '../tracking/metric-names.js';
import type { RunStore } from '../tracking/run-store.js';
import { LoraStudyError } from '../util/errors.js';
import type { EvaluationMetrics } from './evaluate-model.js';

export class TrackedRunError extends LoraStudyError {
  constructor(readonly runId: number, reason: string, hint?: string) {
    super(`run ${runId}: ${reason}`, { hint: hint ?? 'list the runs with `lora-study runs --db <file>`' });
  }
}

/**
 * Prefix of the metrics `evaluate-model` records into a run. The training run's own
 * `eval_loss`, `exact_match`, … stay as they were measured at the end of training; a later
 * evaluation (other samples, sampling settings, quantization) is kept beside them, e.g.
 * `evaluate_eval_loss`, never silently replacing them. An empty prefix overwrites them.
 */
export const EVALUATE_METRIC_PREFIX = 'evaluate_';

/** What a tracked run says about where its adapter and inputs are. */
export interface RunAdapter {
  adapterDir: string;
  model: string | null;
  dataset: string | null;
  quantization: string | null;
}

/** The newest `adapter` artifact of a run, with the model and dataset the run used. */
export async function findRunAdapter(store: Pick<RunStore, 'getRun'>, runId: number): Promise<RunAdapter> {
  const run = await store.getRun(runId);
  if (!run) throw new TrackedRunError(runId, 'no such run in the tracker');
  const artifact = run.artifacts.filter((a) => a.kind === 'adapter').at(-1);
  if (!artifact) {
    throw new TrackedRunError(runId, `has no adapter artifact (status ${run.status})`, 'only completed runs record their adapter; pass --adapter <dir> instead');
  }
  if (!existsSync(artifact.path)) {
    throw new TrackedRunError(runId, `its adapter folder ${artifact.path} no longer exists`, 'pass --adapter <dir> if the folder was moved');
  }
  return { adapterDir: artifact.path, model: run.model, dataset: run.dataset, quantization: run.quantization };
}

/** Records evaluation metrics into a run as `<prefix><name>`, with the units metric-names.ts gives the base names. */
export async function recordEvaluation(store: Pick<RunStore, 'recordMetrics'>, runId: number, metrics: EvaluationMetrics, prefix = EVALUATE_METRIC_PREFIX): Promise<Record<string, number>> {
  const values: Record<string, number> = {};
  const units: Record<string, string> = {};
  for (const [name, value] of Object.entries(metrics)) {
    if (value === undefined) continue;
    values[`${prefix}${name}`] = value;
    const unit = name === 'eval_tokens' ? 'tokens' : name === 'eval_samples' ? 'examples' : metricInfo(name)?.unit;
    if (unit) units[`${prefix}${name}`] = unit;
  }
  await store.recordMetrics(runId, values, units);
  return values;
}
