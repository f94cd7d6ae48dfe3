import type { QualityMetric, Variant } from '../aggregate.js';
import { dominatedBy } from '../pareto.js';
import { MIB, metricTitle, scaleFor, topLevel, type Chart, type VlSpec } from './chart.js';

const settingName = (v: Variant): string => `${v.study} · ${v.label}`;

/** Training throughput and peak memory per setting (all studies), mean with min–max over seeds. */
export function throughputMemoryChart(variants: readonly Variant[]): Chart | null {
  const metrics: { name: string; title: string; scale: number }[] = [
    { name: 'train_tokens_per_s', title: 'training throughput (tokens/s)', scale: 1 },
    { name: 'peak_tfjs_bytes', title: 'peak tfjs memory (MiB)', scale: MIB },
    { name: 'ms_per_step', title: 'time per step (ms)', scale: 1 },
  ].filter((m) => variants.some((v) => v.stats[m.name]));
  if (metrics.length === 0) return null;
  const values = variants.flatMap((v) =>
    v.runs.map((r) => {
      const row: Record<string, string | number | null> = { setting: settingName(v), study: v.study, run: r.name, seed: r.seed };
      for (const m of metrics) {
        const x = r.metrics[m.name]?.value;
        row[m.name] = x !== undefined && Number.isFinite(x) ? x / m.scale : null;
      }
      return row;
    }),
  );
  const order = variants.map(settingName);
  const y = { field: 'setting', type: 'nominal', sort: order, title: null, axis: { labelLimit: 220 } };
  const color = { field: 'study', type: 'nominal', title: 'study' };
  const panel = (m: { name: string; title: string }, i: number): VlSpec => ({
    width: 220,
    height: { step: 16 },
    layer: [
      {
        mark: { type: 'bar', opacity: 0.8, height: { band: 0.7 } },
        encoding: { y: i === 0 ? y : { ...y, axis: null }, x: { field: m.name, aggregate: 'mean', type: 'quantitative', title: m.title, stack: null }, color },
      },
      { mark: { type: 'rule', color: '#222' }, encoding: { y, x: { field: m.name, aggregate: 'min' }, x2: { field: m.name, aggregate: 'max' } } },
    ],
  });
  return {
    name: 'throughput_memory',
    title: 'Throughput and peak memory per setting',
    caption: 'Bars are means over seeds; the black rule spans min–max across seeds.',
    spec: topLevel('Cost of each setting: throughput and memory', values, { hconcat: metrics.map(panel), spacing: 8 }),
  };
}

/** One point of a Pareto chart: a setting's mean quality and mean cost. */
export interface ParetoRow {
  setting: string;
  label: string;
  study: string;
  quality: number;
  quality_min: number;
  quality_max: number;
  cost: number;
  status: 'Pareto-optimal' | 'dominated';
  dominated_by: string | null;
}

/** Settings with both figures, and which of them another setting dominates. */
export function paretoRows(variants: readonly Variant[], quality: QualityMetric, costMetric: string, costScale = 1): ParetoRow[] {
  const usable = variants.filter((v) => v.stats[quality.name] && v.stats[costMetric]);
  const by = dominatedBy(
    usable.map((v) => ({ quality: v.stats[quality.name].mean, qualityMin: v.stats[quality.name].min, qualityMax: v.stats[quality.name].max, cost: v.stats[costMetric].mean })),
    quality.better,
  );
  return usable.map((v, i) => ({
    setting: settingName(v),
    label: v.label,
    study: v.study,
    quality: v.stats[quality.name].mean,
    quality_min: v.stats[quality.name].min,
    quality_max: v.stats[quality.name].max,
    cost: v.stats[costMetric].mean / costScale,
    status: by[i] === -1 ? 'Pareto-optimal' : 'dominated',
    dominated_by: by[i] === -1 ? null : settingName(usable[by[i]]),
  }));
}

/** Quality against a cost, one point per setting; dominated settings hollow and grey, the frontier joined. */
export function paretoChart(
  variants: readonly Variant[],
  quality: QualityMetric,
  cost: { metric: string; name: string; title: string; scale?: number; unit: string },
): Chart | null {
  const values = paretoRows(variants, quality, cost.metric, cost.scale);
  if (values.length < 2) return null;
  const x = { field: 'cost', type: 'quantitative', title: `${cost.title} (${cost.unit})`, scale: { ...scaleFor(values.map((v) => v.cost)), padding: 30 } };
  const y = { field: 'quality', type: 'quantitative', title: `mean ${metricTitle(quality.name)} (${quality.better} is better)`, scale: { zero: false } };
  const status = {
    field: 'status',
    type: 'nominal',
    title: null,
    scale: { domain: ['Pareto-optimal', 'dominated'], range: ['#e45756', '#9e9e9e'] },
  };
  return {
    name: cost.name,
    title: `Pareto view: ${metricTitle(quality.name)} against ${cost.title}`,
    caption: `One point per setting (mean over seeds, rule = min–max). A setting is dominated (grey) when another has at least its ${metricTitle(quality.name)} at no more ${cost.title}; the red line joins the Pareto-optimal ones.`,
    spec: topLevel(`Pareto: ${metricTitle(quality.name)} vs ${cost.title}`, values, {
      width: 460,
      height: 300,
      layer: [
        {
          transform: [{ filter: "datum.status === 'Pareto-optimal'" }],
          mark: { type: 'line', color: '#e45756', strokeDash: [4, 3], interpolate: 'step-after' },
          encoding: { x, y, order: { field: 'cost' } },
        },
        { mark: { type: 'rule', opacity: 0.5 }, encoding: { x, y: { field: 'quality_min', type: 'quantitative' }, y2: { field: 'quality_max' }, color: status } },
        {
          // Filled marks: with hollow ones Vega-Lite draws the study legend's symbols without a stroke.
          mark: { type: 'point', size: 80, filled: true },
          encoding: {
            x,
            y,
            color: status,
            shape: { field: 'study', type: 'nominal', title: 'study' },
            opacity: { condition: { test: "datum.status === 'Pareto-optimal'", value: 0.95 }, value: 0.6 },
            tooltip: [{ field: 'setting' }, { field: 'quality', format: '.4~g' }, { field: 'cost', format: '.4~g' }, { field: 'status' }, { field: 'dominated_by' }],
          },
        },
        // Only the frontier is labelled: with every setting labelled the chart is unreadable; tooltips name the rest.
        {
          transform: [{ filter: "datum.status === 'Pareto-optimal'" }],
          mark: { type: 'text', dx: 7, dy: 10, align: 'left', fontSize: 10, color: '#333', limit: 160 },
          encoding: { x, y, text: { field: 'label' } },
        },
      ],
    }),
  };
}
