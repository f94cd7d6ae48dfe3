import type { Stat } from './aggregate.js';
import { formatNumber, formatRange } from './format.js';

/**
 * The rule every finding follows: a difference is claimed only when it exceeds the spread.
 * Quality: the min–max ranges over seeds of the two settings do not overlap (so the gap is larger
 * than what changing the seed alone moved either one); with fewer than two seeds on a side the
 * spread is unknown and nothing is claimed. Time: see `compareTimes` — the spread across runs
 * (the min–max of the runs' median step times) and within them (the interquartile range of every
 * step) must both separate the settings, and only between runs timed under comparable machine load.
 */
export type Verdict = 'better' | 'worse' | 'within noise' | 'unknown';

/** How `a` compares with `b` on a quality metric, under the seed-spread rule. */
export function compareBySeeds(a: Stat | undefined, b: Stat | undefined, better: 'higher' | 'lower'): Verdict {
  if (!a || !b || a.n < 2 || b.n < 2) return 'unknown';
  const up = better === 'higher' ? 'better' : 'worse';
  const down = better === 'higher' ? 'worse' : 'better';
  if (a.min > b.max) return up;
  if (a.max < b.min) return down;
  return 'within noise';
}

/** Quartiles of repeated measurements (per-step times). */
export interface Spread {
  median: number;
  p25: number;
  p75: number;
  n: number;
}

function quantile(sorted: readonly number[], q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/** Median of the finite values; NaN when there are none. */
export function medianOf(values: readonly number[]): number {
  const xs = values.filter(Number.isFinite).sort((a, b) => a - b);
  return xs.length ? quantile(xs, 0.5) : Number.NaN;
}

/** Median and interquartile range; null without at least two finite values. */
export function spreadOf(values: readonly number[]): Spread | null {
  const xs = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (xs.length < 2) return null;
  return { median: quantile(xs, 0.5), p25: quantile(xs, 0.25), p75: quantile(xs, 0.75), n: xs.length };
}

/** One run's timing: the median of its per-step times and the machine load it was measured under. */
export interface RunTiming {
  run: string;
  medianMs: number;
  /** The 1-minute load average while it trained (metric `load_avg_1m`); null when not recorded. */
  load: number | null;
  /** Logical cores it could use (metric `cpu_count`); null when not recorded. */
  cores: number | null;
}

/** What timing claims are made from: every step pooled (`stepMs`) and each run on its own (`runTimes`). */
export interface TimedSetting {
  label: string;
  /** Median and interquartile range of every logged step of every run (warm-up left out). */
  stepMs: Spread | null;
  /** One entry per run with logged step times. */
  runTimes: readonly RunTiming[];
}

/** Min and max of the runs' median step times: the spread across runs (seeds, repeats). */
export function runRange(s: TimedSetting): { min: number; max: number } {
  return minMax(s.runTimes.map((r) => r.medianMs));
}

const minMax = (xs: readonly number[]): { min: number; max: number } => ({ min: Math.min(...xs), max: Math.max(...xs) });

/**
 * Load averages whose ranges lie further apart than this (in runnable tasks, i.e. cores' worth of
 * other work) make two settings' timings not comparable, even when no core was oversubscribed.
 */
export const LOAD_GAP = 1;

export const loadText = (x: number): string => formatNumber(x, 2);

/** Min and max recorded load of a setting's runs; null when any run lacks it. */
export function loadRange(s: TimedSetting): { min: number; max: number } | null {
  const loads = s.runTimes.map((r) => r.load);
  if (loads.length === 0 || loads.some((l) => l === null)) return null;
  return minMax(loads as number[]);
}

/**
 * Why these settings' step times cannot be compared, or null when nothing recorded says so: a run
 * whose load average exceeded its cores (something waited for a core: its time measures the
 * contention as much as the setting), runs with different core counts, or two settings whose
 * load ranges lie more than LOAD_GAP apart (one was timed on a busier machine).
 */
export function loadProblem(settings: readonly TimedSetting[]): string | null {
  const runs = settings.flatMap((s) => s.runTimes);
  const over = runs.filter((r) => r.load !== null && r.cores !== null && r.load > r.cores).sort((a, b) => b.load! - a.load!);
  if (over.length) {
    const shown = over.slice(0, 3).map((r) => `${r.run} (load average ${loadText(r.load!)} on ${r.cores} cores)`);
    const more = over.length > 3 ? ` and ${over.length - 3} more` : '';
    return `the machine's load exceeded its cores during ${over.length === 1 ? 'run' : 'runs'} ${shown.join(', ')}${more}, so those runs also timed other work`;
  }
  const cores = [...new Set(runs.map((r) => r.cores).filter((c): c is number => c !== null))];
  if (cores.length > 1) return `the runs had different numbers of cores (${cores.sort((a, b) => a - b).join(', ')})`;
  const ranged = settings.map((s) => ({ s, range: loadRange(s) })).filter((x) => x.range !== null);
  for (const a of ranged) {
    for (const b of ranged) {
      if (a.range!.max + LOAD_GAP < b.range!.min) {
        return `**${a.s.label}**'s runs were timed at load average ${formatRange(a.range!, loadText)}, **${b.s.label}**'s at ${formatRange(b.range!, loadText)} (more than ${LOAD_GAP} apart)`;
      }
    }
  }
  return null;
}

export type TimeVerdict = 'faster' | 'slower' | 'within noise' | 'single run' | 'not comparable' | 'unknown';

/**
 * How `a`'s time per step compares with `b`'s. `faster` only when a's runs are all faster than
 * every run of b (their median step times' min–max ranges do not overlap) AND the pooled steps'
 * interquartile ranges do not overlap, with at least two runs on each side (`single run`
 * otherwise: the spread across runs is unknown) and no sign in the recorded load that the runs
 * were timed under different conditions (`not comparable`; `loadProblem` says why).
 */
export function compareTimes(a: TimedSetting, b: TimedSetting): TimeVerdict {
  if (!a.stepMs || !b.stepMs || a.runTimes.length === 0 || b.runTimes.length === 0) return 'unknown';
  if (a.runTimes.length < 2 || b.runTimes.length < 2) return 'single run';
  if (loadProblem([a, b])) return 'not comparable';
  const ra = runRange(a);
  const rb = runRange(b);
  if (ra.max < rb.min && a.stepMs.p75 < b.stepMs.p25) return 'faster';
  if (ra.min > rb.max && a.stepMs.p25 > b.stepMs.p75) return 'slower';
  return 'within noise';
}

/** `the runs' load average 1.9–2.2 on 4 cores` / `machine load not recorded for 3 runs`: what the load check saw. */
export function loadNote(settings: readonly TimedSetting[]): string {
  const runs = settings.flatMap((s) => s.runTimes);
  const missing = runs.filter((r) => r.load === null).length;
  if (missing) return `machine load not recorded for ${missing === runs.length ? 'these runs' : `${missing} of the runs`}, so it was not checked`;
  const cores = [...new Set(runs.map((r) => r.cores).filter((c) => c !== null))];
  return `the runs' load average ${formatRange(minMax(runs.map((r) => r.load!)), loadText)}${cores.length === 1 ? ` on ${cores[0]} cores` : ''}`;
}
