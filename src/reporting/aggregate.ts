import { getPath } from '../studies/config-path.js';
import { studyIndex, studyOf } from '../studies/registry.js';
import { metricInfo, type RunDetail } from '../tracking/index.js';
import { medianOf, spreadOf, type RunTiming, type Spread } from './noise.js';

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
  /** What the study varied (the tracker's varied value, else read from the run's config). */
  value: unknown;
  rank: number | null;
  targetModules: string[] | null;
  quantization: string | null;
  runs: RunDetail[];
  seeds: number[];
  stats: Record<string, Stat>;
  /** Per-step training time (ms) pooled over the seeds' logged steps, warm-up steps left out. */
  stepMs: Spread | null;
  /** Each run's median step time and the machine load it was timed under (runs with logged step times only). */
  runTimes: RunTiming[];
}

export function stat(values: readonly number[]): Stat | null {
  const xs = values.filter((v) => Number.isFinite(v));
  if (xs.length === 0) return null;
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const variance = xs.length > 1 ? xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1) : 0;
  return { mean, min: Math.min(...xs), max: Math.max(...xs), std: Math.sqrt(variance), n: xs.length };
}

/** The label of a run's setting: the recorded variant, else the study's label of its config. */
export function variantLabel(run: RunDetail): string {
  if (run.variant) return run.variant;
  const study = studyOf(run.experimentType);
  if (study && study.varies.length && study.varies.every((p) => getPath(run.config, p) !== undefined)) {
    return study.label(run.config as Parameters<typeof study.label>[0]);
  }
  // A run name like `suite/r8/seed1`: drop the seed part so seeds group together.
  return run.name.replace(/[/_-]?seed[-_=]?\d+$/i, '') || run.name;
}

/** What the run's study varied: the tracker's record, else read from the config. */
function variedValue(run: RunDetail): unknown {
  if (run.variedPath !== null) return run.variedValue;
  const paths = studyOf(run.experimentType)?.varies ?? [];
  if (paths.length === 1) return getPath(run.config, paths[0]);
  return Object.fromEntries(paths.map((p) => [p, getPath(run.config, p)]));
}

/** Steps left out of timing: the first ones include kernel compilation and warm-up. */
const WARMUP_STEPS = 2;

/** One run's per-step training times (ms) from its logged steps. */
export function stepTimesMs(run: RunDetail): number[] {
  return run.steps
    .slice(run.steps.length > 2 * WARMUP_STEPS ? WARMUP_STEPS : 0)
    .map((s) => (s.extra?.ms_fwd_bwd ?? Number.NaN) + (s.extra?.ms_optimizer ?? 0))
    .filter(Number.isFinite);
}

/** A run's median step time and recorded load; null when it logged no step times. */
export function runTiming(run: RunDetail): RunTiming | null {
  const medianMs = medianOf(stepTimesMs(run));
  if (!Number.isFinite(medianMs)) return null;
  const load = metricOf(run, 'load_avg_1m');
  const cores = metricOf(run, 'cpu_count');
  return { run: run.name, medianMs, load: Number.isFinite(load) ? load : null, cores: Number.isFinite(cores) ? cores : null };
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
      value: variedValue(first),
      rank: first.rank,
      targetModules: first.targetModules,
      quantization: first.quantization,
      runs: rs,
      seeds: rs.map((r) => r.seed).filter((s): s is number => s !== null),
      stats,
      stepMs: spreadOf(rs.flatMap(stepTimesMs)),
      runTimes: rs.map(runTiming).filter((t): t is RunTiming => t !== null),
    };
  });
  return variants.sort(compareVariants);
}

/** Studies in registry order (unknown ones last, by name); within one, the study's own order. */
function compareVariants(a: Variant, b: Variant): number {
  const sa = studyIndex(a.study);
  const sb = studyIndex(b.study);
  if (sa !== sb || a.study !== b.study) return sa - sb || a.study.localeCompare(b.study);
  const own = studyOf(a.study)?.compare?.(a, b) ?? 0;
  if (own !== 0) return own;
  const cost = studyOf(a.study)?.costMetric ?? 'trainable_params';
  const pa = a.stats[cost]?.mean ?? 0;
  const pb = b.stats[cost]?.mean ?? 0;
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
