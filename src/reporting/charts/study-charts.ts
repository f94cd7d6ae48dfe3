import { metricInfo } from '../../tracking/index.js';
import type { QualityMetric, Variant } from '../aggregate.js';
import { MIB, meanAndSpreadLayers, metricTitle, runRows, seedPointsLayer, topLevel, type Chart, type VlSpec } from './chart.js';

/** The metrics a study chart shows: eval loss, and the task metric when it is another one. */
function qualityPanels(quality: QualityMetric | null, variants: readonly Variant[]): string[] {
  const present = (m: string): boolean => variants.some((v) => v.stats[m] !== undefined);
  return [...new Set(['eval_loss', quality?.name ?? 'eval_loss'])].filter(present);
}

const unitOf = (m: string): string | null => metricInfo(m)?.unit ?? null;

/** Rank study: eval loss and task accuracy against trainable parameters (log axis), mean and min–max over seeds. */
export function rankChart(variants: readonly Variant[], quality: QualityMetric | null): Chart | null {
  const panels = qualityPanels(quality, variants);
  if (panels.length === 0) return null;
  const runs = variants.flatMap((v) => v.runs);
  const values = runRows(runs, ['trainable_params', ...panels]).map((row, i) => ({ ...row, rank: runs[i].rank }));
  const x = { type: 'quantitative', scale: { type: 'log', nice: false, padding: 16 }, title: 'trainable parameters (log scale)', axis: { format: '~s' } };
  const panel = (m: string): VlSpec => ({
    width: 320,
    height: 240,
    layer: [
      seedPointsLayer({ ...x, field: 'trainable_params' }, m),
      meanAndSpreadLayers({ x, y: m, yTitle: metricTitle(m, unitOf(m)), groupby: ['variant', 'rank'], xMeanOf: 'trainable_params', line: true, label: true }),
    ],
  });
  return {
    name: 'rank_quality',
    title: 'Rank: quality against trainable parameters',
    caption: `Each filled point is the mean over seeds of one rank, the vertical rule its min–max, faint points the individual seeds; the x axis is logarithmic.`,
    spec: topLevel('LoRA rank: quality vs trainable parameters', values, { hconcat: panels.map(panel) }),
  };
}

/** One bar per setting (module sets, methods, …), seeds as points, min–max rules. */
export function settingsBarChart(
  variants: readonly Variant[],
  quality: QualityMetric | null,
  o: { name: string; title: string; axisTitle: string; caption: string },
): Chart | null {
  const panels = qualityPanels(quality, variants);
  if (panels.length === 0) return null;
  const values = runRows(variants.flatMap((v) => v.runs), ['trainable_params', ...panels]);
  const order = variants.map((v) => v.label);
  const x = { field: 'variant', type: 'nominal', sort: order, title: o.axisTitle, axis: { labelAngle: -30, labelLimit: 180 } };
  const panel = (m: string): VlSpec => ({
    width: Math.max(200, 48 * order.length),
    height: 240,
    layer: [
      {
        mark: { type: 'bar', opacity: 0.75, width: { band: 0.6 } },
        encoding: { x, y: { field: m, aggregate: 'mean', type: 'quantitative', title: metricTitle(m, unitOf(m)), stack: null } },
      },
      {
        mark: { type: 'rule', strokeWidth: 1.5 },
        encoding: { x, y: { field: m, aggregate: 'min' }, y2: { field: m, aggregate: 'max' } },
      },
      seedPointsLayer(x, m, { value: '#222' }),
    ],
  });
  return {
    name: o.name,
    title: o.title,
    caption: `Bars are means over seeds, rules the min–max across seeds, dots the individual seeds; ${o.caption}`,
    spec: topLevel(o.title, values, { hconcat: panels.map(panel), resolve: { scale: { y: 'independent' } } }),
  };
}

/** Quantization study: resident base-weight memory per precision, and quality against it. */
export function quantizationChart(variants: readonly Variant[], quality: QualityMetric | null): Chart | null {
  const panels = qualityPanels(quality, variants);
  const runs = variants.flatMap((v) => v.runs);
  const values = runRows(runs, ['base_weight_bytes', ...panels]).map((row) => ({
    ...row,
    base_weight_mib: typeof row.base_weight_bytes === 'number' ? row.base_weight_bytes / MIB : null,
  }));
  if (!values.some((v) => v.base_weight_mib !== null)) return null;
  const order = variants.map((v) => v.label);
  const color = { field: 'variant', type: 'nominal', sort: order, title: 'base weights' };
  const bars: VlSpec = {
    width: 220,
    height: 240,
    mark: { type: 'bar', width: { band: 0.6 } },
    encoding: {
      x: { field: 'variant', type: 'nominal', sort: order, title: 'base-weight precision', axis: { labelAngle: 0 } },
      y: { field: 'base_weight_mib', aggregate: 'mean', type: 'quantitative', title: 'resident base weights (MiB)', stack: null },
      color: { ...color, legend: null },
    },
  };
  const x = { type: 'quantitative', title: 'resident base weights (MiB)', scale: { zero: true } };
  const scatter = (m: string): VlSpec => ({
    width: 280,
    height: 240,
    layer: [
      seedPointsLayer({ ...x, field: 'base_weight_mib' }, m, color),
      meanAndSpreadLayers({ x, y: m, yTitle: metricTitle(m, unitOf(m)), groupby: ['variant'], xMeanOf: 'base_weight_mib', label: true, color }),
    ],
  });
  return {
    name: 'quantization_memory_quality',
    title: 'Quantization: base-weight memory against quality',
    caption: 'Left: resident bytes of the base weights at each precision. Right: quality against that memory (mean over seeds, min–max rule, seeds faint).',
    spec: topLevel('Base-weight quantization: memory vs quality', values, { hconcat: [bars, ...panels.map(scatter)] }),
  };
}
