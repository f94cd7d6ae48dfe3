/** What every chart builder returns, and the look they share. */

import type { RunDetail } from '../../tracking/index.js';
import { metricOf, variantLabel } from '../aggregate.js';

/** A Vega-Lite spec as plain JSON (the report writes it out as `<name>.vl.json`). */
export type VlSpec = Record<string, unknown>;

export interface Chart {
  /** File stem: `charts/<name>.svg`, `.png`, `.vl.json`. */
  name: string;
  title: string;
  /** One sentence under the chart saying how to read it. */
  caption: string;
  /** The spec, data inlined under `data.values`. */
  spec: VlSpec;
}

export const MIB = 1024 * 1024;

/** Tableau-10: distinguishable, and what readers of ML papers are used to. */
export const PALETTE = ['#4c78a8', '#f58518', '#e45756', '#72b7b2', '#54a24b', '#eeca3b', '#b279a2', '#ff9da6', '#9d755d', '#bab0ac'];

const CONFIG = {
  font: 'DejaVu Sans, Helvetica, Arial, sans-serif',
  view: { stroke: null },
  axis: { labelFontSize: 11, titleFontSize: 12, gridColor: '#e6e6e6' },
  legend: { labelFontSize: 11, titleFontSize: 12 },
  title: { fontSize: 14, anchor: 'start', offset: 10 },
  range: { category: PALETTE },
};

/** The top-level wrapper: schema, title, shared look, white background (PNG has no page behind it). */
export function topLevel(title: string, values: readonly object[], body: VlSpec): VlSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    background: 'white',
    padding: 12,
    data: { values },
    config: CONFIG,
    ...body,
  };
}

/** A log scale when values span more than `ratio`×, else linear. */
export function scaleFor(values: readonly number[], ratio = 20): { type: 'log' | 'linear'; zero?: boolean } {
  const xs = values.filter((v) => Number.isFinite(v) && v > 0);
  if (xs.length > 1 && Math.max(...xs) / Math.min(...xs) > ratio) return { type: 'log' };
  return { type: 'linear', zero: false };
}

/** Axis title with unit: `eval_loss` → `eval loss (nats)`. */
export function metricTitle(name: string, unit?: string | null): string {
  const label = name.replace(/_/g, ' ');
  return unit ? `${label} (${unit})` : label;
}

/**
 * A layer that pools the seeds of each setting: a min–max rule, the mean as a filled point, and
 * (optionally) a line through the means. `x` is the setting's position field, `y` the metric.
 */
export function meanAndSpreadLayers(opts: {
  x: VlSpec;
  y: string;
  yTitle: string;
  groupby: string[];
  /** When set, x is the mean of this field over the seeds (trainable params); else `x` as given. */
  xMeanOf?: string;
  line?: boolean;
  label?: boolean;
  color?: VlSpec;
}): VlSpec {
  const { y, groupby, xMeanOf } = opts;
  const xAgg = xMeanOf ? { ...opts.x, field: 'x_mean' } : opts.x;
  const layers: VlSpec[] = [
    {
      mark: { type: 'rule', strokeWidth: 1.5 },
      encoding: { x: xAgg, y: { field: 'y_min', type: 'quantitative' }, y2: { field: 'y_max' }, ...(opts.color ? { color: opts.color } : {}) },
    },
    {
      mark: { type: 'point', filled: true, size: 70 },
      encoding: {
        x: xAgg,
        y: { field: 'y_mean', type: 'quantitative', title: opts.yTitle, scale: { zero: false } },
        ...(opts.color ? { color: opts.color } : {}),
        tooltip: [
          ...groupby.map((g) => ({ field: g })),
          { field: 'y_mean', title: `mean ${y}`, format: '.4~g' },
          { field: 'y_min', title: 'min', format: '.4~g' },
          { field: 'y_max', title: 'max', format: '.4~g' },
          { field: 'n', title: 'seeds' },
        ],
      },
    },
  ];
  if (opts.line) {
    layers.unshift({
      mark: { type: 'line', strokeWidth: 1.5, opacity: 0.7 },
      encoding: { x: xAgg, y: { field: 'y_mean', type: 'quantitative' }, order: { field: xMeanOf ? 'x_mean' : groupby[0] } },
    });
  }
  if (opts.label) {
    layers.push({
      mark: { type: 'text', dy: -10, fontSize: 10, color: '#333' },
      encoding: { x: xAgg, y: { field: 'y_mean', type: 'quantitative' }, text: { field: groupby[0] } },
    });
  }
  return {
    transform: [
      { filter: `isValid(datum[${JSON.stringify(y)}])` },
      {
        aggregate: [
          { op: 'mean', field: y, as: 'y_mean' },
          { op: 'min', field: y, as: 'y_min' },
          { op: 'max', field: y, as: 'y_max' },
          ...(xMeanOf ? [{ op: 'mean', field: xMeanOf, as: 'x_mean' }] : []),
          { op: 'count', as: 'n' },
        ],
        groupby,
      },
    ],
    layer: layers,
  };
}

/** Faint points, one per run: the individual seeds behind each mean. */
export function seedPointsLayer(x: VlSpec, y: string, color?: VlSpec): VlSpec {
  return {
    transform: [{ filter: `isValid(datum[${JSON.stringify(y)}])` }],
    mark: { type: 'point', size: 30, opacity: 0.45 },
    encoding: {
      x,
      y: { field: y, type: 'quantitative' },
      ...(color ? { color } : {}),
      tooltip: [{ field: 'run' }, { field: 'seed' }, { field: y, format: '.4~g' }],
    },
  };
}

/** One row per run: the fields every chart groups by, plus the metrics asked for (null when absent). */
export function runRows(runs: readonly RunDetail[], metrics: readonly string[]): Record<string, string | number | null>[] {
  return runs.map((r) => {
    const row: Record<string, string | number | null> = {
      id: r.id,
      run: r.name,
      variant: variantLabel(r),
      study: r.experimentType,
      seed: r.seed,
    };
    for (const m of metrics) {
      const v = metricOf(r, m);
      row[m] = Number.isFinite(v) ? v : null;
    }
    return row;
  });
}
