import { studyOf } from '../studies/registry.js';
import type { QualityMetric, Variant } from './aggregate.js';
import { paretoRows } from './charts/cost-charts.js';
import { bold, costPhrase, fmt, meanOf, metricName, seedCount, statText, timeText, verdict } from './finding-text.js';
import { formatNumber } from './format.js';
import type { StudyData } from './load-study.js';
import { compareTimes, loadNote, loadProblem } from './noise.js';

const capitalize = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);
const titleOf = (study: string): string => studyOf(study)?.title ?? `${study} study`;
const list = (vs: readonly Variant[]): string => vs.map(bold).join(', ');

/**
 * The ranking of one study's settings on a metric, under the seed-spread rule: the best mean, the
 * settings within noise of it, and those worse beyond the spread. With one seed nothing is ranked.
 */
export function rankingFinding(study: string, vs: readonly Variant[], q: QualityMetric): string[] {
  const ok = vs.filter((v) => Number.isFinite(meanOf(v, q.name)));
  if (ok.length < 2) return [];
  const sorted = [...ok].sort((a, b) => (q.better === 'higher' ? meanOf(b, q.name) - meanOf(a, q.name) : meanOf(a, q.name) - meanOf(b, q.name)));
  const n = seedCount(sorted);
  const head = `${titleOf(study)}, ${metricName(q.name)} (${q.better} is better)`;
  if (n < 2) {
    return [
      `${head}, one seed per setting: ${sorted.map((v) => `${bold(v)} ${fmt(meanOf(v, q.name))}`).join(', ')}. With one seed the spread is unknown, so no setting is called better than another; run at least 2 seeds.`,
    ];
  }
  const best = sorted[0];
  const tied = sorted.slice(1).filter((v) => verdict(v, best, q) === 'within noise');
  const worse = sorted.slice(1).filter((v) => verdict(v, best, q) === 'worse');
  const values = `mean ± sd over ${n === Math.max(...sorted.map((v) => v.runs.length)) ? n : `≥ ${n}`} seeds: ${sorted.map((v) => `${bold(v)} ${statText(v.stats[q.name])}`).join(', ')}`;
  if (worse.length === 0) {
    return [`${head}, ${values}. The best mean, ${bold(best)}, is within the seed spread of every other setting: no ranking is claimed (within noise).`];
  }
  return [
    `${head}, ${values}. ${bold(best)} has the best mean` +
      (tied.length ? `; within noise of it: ${list(tied)}` : '') +
      `; worse beyond the seed spread: ${list(worse)}.`,
  ];
}

/** The cheapest setting whose quality is within noise of the best mean (or better), when it is cheaper. */
export function cheapestFinding(study: string, vs: readonly Variant[], q: QualityMetric): string[] {
  const cost = studyOf(study)?.costMetric ?? 'trainable_params';
  const ok = vs.filter((v) => Number.isFinite(meanOf(v, q.name)) && Number.isFinite(meanOf(v, cost)));
  if (ok.length < 2 || seedCount(ok) < 2) return [];
  const best = ok.reduce((b, v) => ((q.better === 'higher' ? meanOf(v, q.name) > meanOf(b, q.name) : meanOf(v, q.name) < meanOf(b, q.name)) ? v : b));
  const cheapest = ok
    .filter((v) => v !== best && verdict(v, best, q) === 'within noise' && meanOf(v, cost) < meanOf(best, cost))
    .sort((a, b) => meanOf(a, cost) - meanOf(b, cost))[0];
  if (!cheapest) return [];
  return [
    `${bold(cheapest)} is the cheapest setting within the seed spread of the best mean ${metricName(q.name)} (${bold(best)}: ${statText(cheapest.stats[q.name])} vs ${statText(best.stats[q.name])})${costPhrase(cheapest, best, cost)}.`,
  ];
}

/**
 * Fastest against slowest per-step time, claimed only beyond the spread across runs (min–max of
 * the runs' medians) and within them (interquartile range of every step), and only when the
 * recorded machine load says the runs were timed under comparable conditions (`compareTimes`).
 */
export function timingFinding(study: string, vs: readonly Variant[]): string[] {
  const timed = vs.filter((v) => v.stepMs !== null && v.runTimes.length > 0).sort((a, b) => a.stepMs!.median - b.stepMs!.median);
  if (timed.length < 2) return [];
  const head = `${titleOf(study)}, time per step (median of every logged step, warm-up left out; spread: min–max of the runs' medians, and the steps' interquartile range)`;
  const values = `${timed.map((v) => `${bold(v)} ${timeText(v)}`).join(', ')}`;
  const compared = timed.filter((v) => v.runTimes.length >= 2);
  const single = timed.filter((v) => v.runTimes.length < 2);
  const singleNote = single.length ? ` ${list(single)}: single run, not compared (the spread across runs is unknown).` : '';
  if (compared.length < 2) {
    return [`${head}: ${values}. Single run per setting: no setting is called faster (the spread across runs is unknown; run at least 2 seeds).`];
  }
  const problem = loadProblem(compared);
  if (problem) {
    return [`${head}: ${values}. The timings are not comparable: ${problem}; no setting is called faster.${singleNote}`];
  }
  const fast = compared[0];
  const slow = compared[compared.length - 1];
  const note = loadNote(compared);
  if (compareTimes(fast, slow) !== 'faster') {
    return [
      `${head}: from ${timeText(fast)} (${bold(fast)}) to ${timeText(slow)} (${bold(slow)}); the ranges overlap, so no setting is called faster (within timing noise; ${note}).${singleNote}`,
    ];
  }
  const tied = compared.slice(1).filter((v) => compareTimes(fast, v) !== 'faster');
  return [
    `${head}: ${bold(fast)} ${timeText(fast)} is faster than ${bold(slow)} ${timeText(slow)}, ${formatNumber(slow.stepMs!.median / fast.stepMs!.median, 3)}× beyond the spread across and within runs (${note})` +
      (tied.length ? `; within the timing spread of ${bold(fast)}: ${list(tied)}.` : '.') +
      singleNote,
  ];
}

function seedNoiseFinding(vs: readonly Variant[], q: QualityMetric): string[] {
  const spread = vs
    .filter((v) => v.stats[q.name] && v.stats[q.name].n > 1)
    .map((v) => ({ v, range: v.stats[q.name].max - v.stats[q.name].min }))
    .sort((a, b) => b.range - a.range)[0];
  if (!spread) return [];
  return [
    `Seed noise: ${metricName(q.name)} varies by up to ${fmt(spread.range)} between seeds of one setting (**${spread.v.study} · ${spread.v.label}**); differences between settings smaller than that are within noise.`,
  ];
}

/** Pareto statements over the settings with a seed spread (dominance uses it); one-seed settings are left out. */
function paretoFindings(all: readonly Variant[], q: QualityMetric): string[] {
  const vs = all.filter((v) => v.runs.length > 1);
  if (vs.length < 2) return [];
  const out: string[] = [];
  for (const [metric, what] of [
    ['trainable_params', 'trainable parameters'],
    ['peak_tfjs_bytes', 'peak memory'],
  ] as const) {
    const rows = paretoRows(vs, q, metric);
    if (rows.length < 2) continue;
    const optimal = rows.filter((r) => r.status === 'Pareto-optimal').map((r) => r.setting);
    const dominated = rows.filter((r) => r.status === 'dominated');
    out.push(
      `${capitalize(metricName(q.name))} vs ${what}: Pareto-optimal settings are ${optimal.map((s) => `**${s}**`).join(', ')}` +
        (dominated.length
          ? `; dominated (another setting is no worse beyond the seed spread, at no more cost): ${dominated.map((r) => `${r.setting} (by ${r.dominated_by})`).join(', ')}.`
          : '; no setting is dominated.'),
    );
  }
  return out;
}

/** Findings computed from the data, as Markdown sentences, in report order: per study, then across studies. */
export function computeFindings(data: StudyData, variants: readonly Variant[], q: QualityMetric | null): string[] {
  const out: string[] = [];
  const studies = [...new Set(variants.map((v) => v.study))];
  for (const study of studies) {
    const vs = variants.filter((v) => v.study === study);
    if (q) {
      out.push(...rankingFinding(study, vs, q), ...cheapestFinding(study, vs, q));
      if (q.name !== 'eval_loss') out.push(...rankingFinding(study, vs, { name: 'eval_loss', better: 'lower' }));
    }
    out.push(...(studyOf(study)?.findings?.(vs, q) ?? []), ...timingFinding(study, vs));
  }
  if (q) out.push(...seedNoiseFinding(variants, q), ...paretoFindings(variants, q));
  if (data.failed.length) {
    const n = data.failed.length;
    out.push(`${n} run${n === 1 ? '' : 's'} did not complete (${data.failed.map((r) => `${r.name}: ${r.status}`).join('; ')}); see *Failed runs*.`);
  }
  return out;
}
