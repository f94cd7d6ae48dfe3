import { metricInfo, type RunDetail } from '../tracking/index.js';

/** Mean and spread of one metric over the seeds of a setting. */
export interface Stat {
  mean: number;
  min: number;
  max: number;
  /** Sample standard deviation; 0 with one seed. */
  std: number;
  n: number;
}

/** One setting of one study (`r=8` of the rank study), pooled over its seeds. */
export interface Variant {
  /** `rank/r=8`: unique across the report. */
  key: string;
  study: string;
  label: string;
  rank: number | null;
  targetModules: string[] | null;
  quantization: string | null;
  runs: RunDetail[];
  seeds: number[];
  stats: Record<string, Stat>;
}

export function stat(values: readonly number[]): Stat | null {
  const xs = values.filter((v) => Number.isFinite(v));
  if (xs.length === 0) return null;
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const variance = xs.length > 1 ? xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1) : 0;
  return { mean, min: Math.min(...xs), max: Math.max(...xs), std: Math.sqrt(variance), n: xs.length };
}

/** The label of a run's setting: the recorded variant, else one derived from what was swept. */
export function variantLabel(run: RunDetail): string {
  if (run.variant) return run.variant;
  if (run.experimentType === 'rank' && run.rank !== null) return `r=${run.rank}`;
  if (run.experimentType === 'module' && run.targetModules) return run.targetModules.join('+');
  if (run.experimentType === 'quantization' && run.quantization) return run.quantization;
  // A run name like `suite/r8/seed1`: drop the seed part so seeds group together.
  return run.name.replace(/[/_-]?seed[-_=]?\d+$/i, '') || run.name;
}

/** A metric's value in a run, or NaN when the run did not record it. */
export function metricOf(run: RunDetail, name: string): number {
  return run.metrics[name]?.value ?? Number.NaN;
}

/** Groups completed runs into settings (study × label) and computes each metric's stats. */
export function groupVariants(runs: readonly RunDetail[]): Variant[] {
  const byKey = new Map<string, RunDetail[]>();
  for (const run of runs) {
    const key = `${run.experimentType}/${variantLabel(run)}`;
    byKey.set(key, [...(byKey.get(key) ?? []), run]);
  }
  const variants = [...byKey.entries()].map(([key, rs]): Variant => {
    const names = new Set(rs.flatMap((r) => Object.keys(r.metrics)));
    const stats: Record<string, Stat> = {};
    for (const name of names) {
      const s = stat(rs.map((r) => metricOf(r, name)));
      if (s) stats[name] = s;
    }
    const first = rs[0];
    return {
      key,
      study: first.experimentType,
      label: variantLabel(first),
      rank: first.rank,
      targetModules: first.targetModules,
      quantization: first.quantization,
      runs: rs,
      seeds: rs.map((r) => r.seed).filter((s): s is number => s !== null),
      stats,
    };
  });
  return variants.sort(compareVariants);
}

const QUANT_ORDER = ['fp32', 'bf16', 'fp16', 'int8', 'nf4', 'nf4-dq', 'fp4'];

/** Studies in a fixed order; within one, by rank, by trainable params, or by precision. */
function compareVariants(a: Variant, b: Variant): number {
  const studyOrder = ['rank', 'module', 'quantization'];
  const sa = studyOrder.indexOf(a.study) === -1 ? 99 : studyOrder.indexOf(a.study);
  const sb = studyOrder.indexOf(b.study) === -1 ? 99 : studyOrder.indexOf(b.study);
  if (sa !== sb || a.study !== b.study) return sa - sb || a.study.localeCompare(b.study);
  if (a.rank !== null && b.rank !== null && a.rank !== b.rank) return a.rank - b.rank;
  if (a.study === 'quantization') {
    const qa = QUANT_ORDER.indexOf(a.quantization ?? a.label);
    const qb = QUANT_ORDER.indexOf(b.quantization ?? b.label);
    if (qa !== qb) return (qa === -1 ? 99 : qa) - (qb === -1 ? 99 : qb);
  }
  const pa = a.stats.trainable_params?.mean ?? 0;
  const pb = b.stats.trainable_params?.mean ?? 0;
  return pa - pb || a.label.localeCompare(b.label);
}

/**
 * The quality metric the report leads with: the first task metric every run has and that differs
 * between runs (exact match that is 0 everywhere ranks nothing), else eval loss.
 */
export interface QualityMetric {
  name: string;
  better: 'higher' | 'lower';
}

export function chooseQualityMetric(runs: readonly RunDetail[]): QualityMetric | null {
  for (const name of ['exact_match', 'token_accuracy', 'rouge_l', 'eval_loss', 'perplexity']) {
    const values = runs.map((r) => metricOf(r, name));
    const varies = runs.length === 1 || new Set(values).size > 1;
    if (runs.length > 0 && values.every((v) => Number.isFinite(v)) && varies) {
      return { name, better: metricInfo(name)?.better === 'lower' ? 'lower' : 'higher' };
    }
  }
  return null;
}

/** Whether `a` is at least as good as `b` on a metric. */
export function atLeastAsGood(a: number, b: number, better: 'higher' | 'lower'): boolean {
  return better === 'higher' ? a >= b : a <= b;
}
