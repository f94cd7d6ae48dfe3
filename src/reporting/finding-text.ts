import type { QualityMetric, Stat, Variant } from './aggregate.js';
import { formatNumber, formatPercent, formatRange } from './format.js';
import { compareBySeeds, compareTimes, loadNote, loadProblem, runRange, type TimedSetting, type Verdict } from './noise.js';

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

const f3 = (x: number): string => formatNumber(x, 3);
const span = (r: { min: number; max: number }): string => formatRange(r, f3);

/**
 * `41.2 ms/step (3 runs 40.1–42.5, IQR 39.0–44.1)`: the median of every step, the min–max of the
 * runs' medians (the spread across runs) and the steps' interquartile range (within runs).
 */
export function timeText(v: TimedSetting): string {
  const s = v.stepMs!;
  const runs = v.runTimes.length < 2 ? 'one run' : `${v.runTimes.length} runs ${span(runRange(v))}`;
  return `${f3(s.median)} ms/step (${runs}, IQR ${f3(s.p25)}–${f3(s.p75)})`;
}

/** `83 against 43 ms/step; run medians 82–84 against 42–44; IQR …`: the figures a time comparison used. */
function timesAgainst(a: TimedSetting, b: TimedSetting): string {
  const iqr = (v: TimedSetting): string => `${f3(v.stepMs!.p25)}–${f3(v.stepMs!.p75)}`;
  return `${f3(a.stepMs!.median)} against ${f3(b.stepMs!.median)} ms/step; run medians ${span(runRange(a))} against ${span(runRange(b))}; IQR ${iqr(a)} against ${iqr(b)}`;
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

/** Time per step of `a` against `b`, under the timing-spread rule (`compareTimes`); null without timings. */
export function timePhrase(a: Variant, b: Variant): string | null {
  const v = compareTimes(a, b);
  switch (v) {
    case 'unknown':
      return null;
    case 'single run':
      return `time per step not compared with ${bold(b)}'s (single run: the spread across runs is unknown)`;
    case 'not comparable':
      return `time per step not compared with ${bold(b)}'s: the timings are not comparable, as ${loadProblem([a, b])}`;
    case 'within noise':
      return `time per step within the timing spread of ${bold(b)}'s (${timesAgainst(a, b)})`;
  }
  const ratio = a.stepMs!.median / b.stepMs!.median;
  const how = v === 'faster' ? `${formatNumber(1 / ratio, 3)}× faster` : `${formatNumber(ratio, 3)}× slower`;
  return `${how} per step than ${bold(b)}, beyond the spread across and within runs (${timesAgainst(a, b)}; ${loadNote([a, b])})`;
}
