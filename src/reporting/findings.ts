import { atLeastAsGood, type QualityMetric, type Variant } from './aggregate.js';
import { MIB } from './charts/chart.js';
import { paretoRows } from './charts/cost-charts.js';
import { formatBytes, formatCount, formatNumber, formatPercent } from './format.js';
import type { StudyData } from './load-study.js';

/** How close to the reference a cheaper setting must come to count as "reaching" it. */
export const REACH_FRACTION = 0.95;

const name = (m: string): string => m.replace(/_/g, ' ');
const capitalize = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);
const mean = (v: Variant, m: string): number => v.stats[m]?.mean ?? Number.NaN;
const fmt = (x: number): string => formatNumber(x, 3);

/**
 * "`cheap` reaches 98% of `ref`'s exact match with 6% of its trainable parameters": for a
 * lower-is-better metric, "is within 2% of". Null when the numbers are missing.
 */
function reachSentence(cheap: Variant, ref: Variant, q: QualityMetric, cost = 'trainable_params'): string | null {
  const a = mean(cheap, q.name);
  const b = mean(ref, q.name);
  const ca = mean(cheap, cost);
  const cb = mean(ref, cost);
  if (![a, b, ca, cb].every(Number.isFinite) || b === 0 || cb === 0) return null;
  const costName = cost === 'trainable_params' ? 'trainable parameters' : name(cost).replace(/ bytes$/, '');
  const costPart = `with ${formatPercent(ca / cb, ca / cb < 0.1 ? 1 : 0)} of its ${costName}`;
  if (q.better === 'higher') {
    return `**${cheap.label}** reaches ${formatPercent(a / b, 0)} of **${ref.label}**'s ${name(q.name)} (${fmt(a)} vs ${fmt(b)}) ${costPart}.`;
  }
  const rel = (a - b) / Math.abs(b);
  const dir = rel <= 0 ? `is ${formatPercent(-rel)} better than` : `is within ${formatPercent(rel)} of`;
  return `**${cheap.label}**'s ${name(q.name)} ${dir} **${ref.label}**'s (${fmt(a)} vs ${fmt(b)}) ${costPart}.`;
}

function reaches(v: Variant, ref: Variant, q: QualityMetric): boolean {
  const a = mean(v, q.name);
  const b = mean(ref, q.name);
  return q.better === 'higher' ? a >= REACH_FRACTION * b : a <= b + (1 - REACH_FRACTION) * Math.abs(b);
}

function bestOf(vs: readonly Variant[], q: QualityMetric): Variant | null {
  const ok = vs.filter((v) => Number.isFinite(mean(v, q.name)));
  if (ok.length === 0) return null;
  return ok.reduce((best, v) => (atLeastAsGood(mean(v, q.name), mean(best, q.name), q.better) && mean(v, q.name) !== mean(best, q.name) ? v : best));
}

const seedsNote = (v: Variant): string => (v.runs.length > 1 ? ` over ${v.runs.length} seeds` : '');

/** ", but r=16's range overlaps it": settings whose seed ranges overlap the best one cannot be told apart from it. */
function withinNoise(best: Variant, vs: readonly Variant[], q: QualityMetric): string {
  const b = best.stats[q.name];
  if (!b || b.n < 2) return '';
  const overlapping = vs.filter((v) => {
    const s = v.stats[q.name];
    return v !== best && s && s.n > 1 && s.max >= b.min && s.min <= b.max;
  });
  if (overlapping.length === 0) return '';
  return `, but the seed ranges of ${overlapping.map((v) => `**${v.label}**`).join(', ')} overlap it: not a clear difference`;
}

function rankFindings(vs: readonly Variant[], q: QualityMetric): string[] {
  const out: string[] = [];
  const ranked = vs.filter((v) => v.rank !== null).sort((a, b) => a.rank! - b.rank!);
  if (ranked.length < 2) return out;
  const best = bestOf(ranked, q);
  if (best) out.push(`Rank study: the best ${name(q.name)} is **${best.label}** (mean ${fmt(mean(best, q.name))}${seedsNote(best)})${withinNoise(best, ranked, q)}.`);
  const largest = ranked[ranked.length - 1];
  const cheapest = ranked.find((v) => reaches(v, largest, q));
  if (cheapest && cheapest !== largest) {
    const s = reachSentence(cheapest, largest, q);
    if (s) out.push(s);
  } else if (Number.isFinite(mean(largest, q.name))) {
    out.push(`No rank below **${largest.label}** comes within ${formatPercent(1 - REACH_FRACTION, 0)} of its ${name(q.name)}.`);
  }
  if (q.name !== 'eval_loss') {
    const bestLoss = bestOf(ranked, { name: 'eval_loss', better: 'lower' });
    if (bestLoss) out.push(`Lowest eval loss in the rank study: **${bestLoss.label}** (${fmt(mean(bestLoss, 'eval_loss'))}).`);
  }
  return out;
}

function moduleFindings(vs: readonly Variant[], q: QualityMetric): string[] {
  const best = bestOf(vs, q);
  if (!best || vs.length < 2) return [];
  const out = [
    `Module study: the best ${name(q.name)} is **${best.label}** (mean ${fmt(mean(best, q.name))}${seedsNote(best)}, ${formatCount(mean(best, 'trainable_params'))} trainable parameters)${withinNoise(best, vs, q)}.`,
  ];
  const cheaper = vs
    .filter((v) => v !== best && reaches(v, best, q) && mean(v, 'trainable_params') < mean(best, 'trainable_params'))
    .sort((a, b) => mean(a, 'trainable_params') - mean(b, 'trainable_params'))[0];
  if (cheaper) {
    const s = reachSentence(cheaper, best, q);
    if (s) out.push(s);
  }
  return out;
}

function quantizationFindings(vs: readonly Variant[], q: QualityMetric): string[] {
  const withBytes = vs.filter((v) => Number.isFinite(mean(v, 'base_weight_bytes')));
  if (withBytes.length < 2) return [];
  const ref = withBytes.find((v) => (v.quantization ?? v.label) === 'fp32') ?? withBytes.reduce((a, b) => (mean(a, 'base_weight_bytes') >= mean(b, 'base_weight_bytes') ? a : b));
  const out: string[] = [];
  for (const v of withBytes) {
    if (v === ref) continue;
    const ratio = mean(v, 'base_weight_bytes') / mean(ref, 'base_weight_bytes');
    const qa = mean(v, q.name);
    const qb = mean(ref, q.name);
    let cost = '';
    if (Number.isFinite(qa) && Number.isFinite(qb)) {
      const delta = qa - qb;
      const rel = qb !== 0 ? ` (${delta >= 0 ? '+' : ''}${formatPercent(delta / Math.abs(qb))})` : '';
      cost = ` at ${name(q.name)} ${fmt(qa)} vs ${fmt(qb)}${rel}`;
    }
    out.push(
      `**${v.label}** holds the base weights in ${formatPercent(ratio, 0)} of ${ref.label}'s memory (${formatBytes(mean(v, 'base_weight_bytes'))} vs ${formatBytes(mean(ref, 'base_weight_bytes'))})${cost}.`,
    );
  }
  return out;
}

function seedNoiseFinding(vs: readonly Variant[], q: QualityMetric): string[] {
  const spread = vs
    .filter((v) => v.stats[q.name] && v.stats[q.name].n > 1)
    .map((v) => ({ v, range: v.stats[q.name].max - v.stats[q.name].min }))
    .sort((a, b) => b.range - a.range)[0];
  if (!spread) return [];
  return [
    `Seed noise: ${name(q.name)} varies by up to ${fmt(spread.range)} between seeds of one setting (**${spread.v.study} · ${spread.v.label}**); differences between settings smaller than that are within noise.`,
  ];
}

function paretoFindings(vs: readonly Variant[], q: QualityMetric): string[] {
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
      `${capitalize(name(q.name))} vs ${what}: Pareto-optimal settings are ${optimal.map((s) => `**${s}**`).join(', ')}` +
        (dominated.length
          ? `; dominated: ${dominated.map((r) => `${r.setting} (by ${r.dominated_by})`).join(', ')}.`
          : '; no setting is dominated.'),
    );
  }
  return out;
}

function efficiencyFindings(vs: readonly Variant[], q: QualityMetric): string[] {
  if (q.better !== 'higher') return [];
  const out: string[] = [];
  const perMib = vs
    .filter((v) => Number.isFinite(mean(v, q.name)) && mean(v, 'peak_tfjs_bytes') > 0)
    .map((v) => ({ v, x: mean(v, q.name) / (mean(v, 'peak_tfjs_bytes') / MIB) }))
    .sort((a, b) => b.x - a.x)[0];
  if (perMib) {
    out.push(
      `Most ${name(q.name)} per MiB of peak memory: **${perMib.v.study} · ${perMib.v.label}** (${fmt(mean(perMib.v, q.name))} at ${formatBytes(mean(perMib.v, 'peak_tfjs_bytes'))}).`,
    );
  }
  return out;
}

function speedFindings(vs: readonly Variant[]): string[] {
  const ok = vs.filter((v) => Number.isFinite(mean(v, 'train_tokens_per_s'))).sort((a, b) => mean(b, 'train_tokens_per_s') - mean(a, 'train_tokens_per_s'));
  if (ok.length < 2) return [];
  const fast = ok[0];
  const slow = ok[ok.length - 1];
  return [
    `Fastest training: **${fast.study} · ${fast.label}** at ${formatNumber(mean(fast, 'train_tokens_per_s'), 3)} tokens/s; slowest: **${slow.study} · ${slow.label}** at ${formatNumber(mean(slow, 'train_tokens_per_s'), 3)} tokens/s (${formatNumber(mean(fast, 'train_tokens_per_s') / mean(slow, 'train_tokens_per_s'), 2)}× slower).`,
  ];
}

/** Findings computed from the data, as Markdown sentences, in report order. */
export function computeFindings(data: StudyData, variants: readonly Variant[], q: QualityMetric | null): string[] {
  const of = (study: string): Variant[] => variants.filter((v) => v.study === study);
  const out: string[] = [];
  if (q) {
    out.push(...rankFindings(of('rank'), q), ...moduleFindings(of('module'), q), ...quantizationFindings(of('quantization'), q));
    out.push(...seedNoiseFinding(variants, q), ...paretoFindings(variants, q), ...efficiencyFindings(variants, q));
  }
  out.push(...speedFindings(variants));
  if (data.failed.length) {
    const n = data.failed.length;
    out.push(`${n} run${n === 1 ? '' : 's'} did not complete (${data.failed.map((r) => `${r.name}: ${r.status}`).join('; ')}); see *Failed runs*.`);
  }
  return out;
}
