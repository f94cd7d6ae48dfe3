import type { Stat } from './aggregate.js';

/**
 * The rule every finding follows: a difference is claimed only when it exceeds the spread.
 * Quality: the min–max ranges over seeds of the two settings do not overlap (so the gap is larger
 * than what changing the seed alone moved either one); with fewer than two seeds on a side the
 * spread is unknown and nothing is claimed. Time: the interquartile ranges of the two settings'
 * per-step times do not overlap.
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

/** Median and interquartile range; null without at least two finite values. */
export function spreadOf(values: readonly number[]): Spread | null {
  const xs = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (xs.length < 2) return null;
  return { median: quantile(xs, 0.5), p25: quantile(xs, 0.25), p75: quantile(xs, 0.75), n: xs.length };
}

/** `faster` when a's per-step times lie below b's beyond both interquartile ranges. */
export function compareTimes(a: Spread | null, b: Spread | null): 'faster' | 'slower' | 'within noise' | 'unknown' {
  if (!a || !b) return 'unknown';
  if (a.p75 < b.p25) return 'faster';
  if (a.p25 > b.p75) return 'slower';
  return 'within noise';
}
