import type { QualityMetric, Stat, Variant } from './aggregate.js';
import { formatNumber, formatPercent } from './format.js';
import { compareBySeeds, compareTimes, type Spread, type Verdict } from './noise.js';

/** Small pieces the findings of every study are written with. */

export const metricName = (m: string): string => m.replace(/_/g, ' ');
export const fmt = (x: number): string => formatNumber(x, 3);
export const meanOf = (v: Variant, m: string): number => v.stats[m]?.mean ?? Number.NaN;
export const bold = (v: Variant): string => `**${v.label}**`;

/**
 * `0.48 ± 0.08`: mean ± sample standard deviation over seeds, both to the sd's second significant
 * digit at most (just the mean with one seed, or when seeds agree exactly).
 */
export function statText(s: Stat | undefined): string {
  if (!s) return '–';
  if (s.n < 2 || s.std === 0 || !Number.isFinite(s.std)) return fmt(s.mean);
  const decimals = Math.min(6, Math.max(0, 1 - Math.floor(Math.log10(s.std))));
  return `${s.mean.toFixed(decimals)} ± ${s.std.toFixed(decimals)}`;
}

/** `41.2 ms/step (IQR 39.0–44.1)`. */
export function timeText(s: Spread): string {
  return `${formatNumber(s.median, 3)} ms/step (IQR ${formatNumber(s.p25, 3)}–${formatNumber(s.p75, 3)})`;
}

export const seedCount = (vs: readonly Variant[]): number => Math.min(...vs.map((v) => v.runs.length));

/** How `a` compares with `b` on the quality metric, under the seed-spread rule. */
export const verdict = (a: Variant, b: Variant, q: QualityMetric): Verdict => compareBySeeds(a.stats[q.name], b.stats[q.name], q.better);

/** "worse than fp32 beyond the seed spread" / "within the seed spread of fp32" / "". */
export function verdictPhrase(v: Verdict, ref: Variant): string {
  switch (v) {
    case 'better':
      return `better than ${bold(ref)} beyond the seed spread`;
    case 'worse':
      return `worse than ${bold(ref)} beyond the seed spread`;
    case 'within noise':
      return `within the seed spread of ${bold(ref)} (within noise)`;
    default:
      return `not compared with ${bold(ref)} (one seed: spread unknown)`;
  }
}

/** "with 6% of its trainable parameters". */
export function costPhrase(cheap: Variant, ref: Variant, cost: string): string {
  const ca = meanOf(cheap, cost);
  const cb = meanOf(ref, cost);
  if (!Number.isFinite(ca) || !Number.isFinite(cb) || cb === 0) return '';
  const what = cost === 'trainable_params' ? 'trainable parameters' : cost === 'base_weight_bytes' ? 'base-weight memory' : 'peak memory';
  return ` with ${formatPercent(ca / cb, ca / cb < 0.1 ? 1 : 0)} of its ${what}`;
}

/** Time per step of `a` against `b`, under the timing-spread rule; null without timings. */
export function timePhrase(a: Variant, b: Variant): string | null {
  const v = compareTimes(a.stepMs, b.stepMs);
  if (v === 'unknown') return null;
  if (v === 'within noise') return `time per step within the timing spread of ${bold(b)}'s`;
  const ratio = a.stepMs!.median / b.stepMs!.median;
  return v === 'faster'
    ? `${formatNumber(1 / ratio, 3)}× faster per step than ${bold(b)} (beyond the timing spread)`
    : `${formatNumber(ratio, 3)}× slower per step than ${bold(b)} (beyond the timing spread)`;
}
