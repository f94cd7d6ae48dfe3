import type { Variant } from '../aggregate.js';
import { topLevel, type Chart } from './chart.js';

/** Above this many logged steps per run, keep every k-th step (and the last): the curve's shape survives, the file stays small. */
export const MAX_POINTS_PER_CURVE = 400;

function thin<T>(xs: readonly T[]): T[] {
  if (xs.length <= MAX_POINTS_PER_CURVE) return [...xs];
  const k = Math.ceil(xs.length / MAX_POINTS_PER_CURVE);
  return xs.filter((_, i) => i % k === 0 || i === xs.length - 1);
}

/**
 * Training loss per step for one study: the mean over seeds of each setting as a line, the
 * min–max over seeds as a band. Null when no run of the study logged steps.
 */
export function lossCurveChart(study: string, variants: readonly Variant[]): Chart | null {
  const values = variants.flatMap((v) =>
    v.runs.flatMap((r) =>
      thin(r.steps.filter((s) => s.loss !== null)).map((s) => ({ variant: v.label, run: r.name, seed: r.seed, step: s.step, loss: s.loss })),
    ),
  );
  if (values.length === 0) return null;
  const order = variants.map((v) => v.label);
  // Both layers carry the same legend: Vega-Lite merges them, and a null on one drops it.
  const color = {
    field: 'variant',
    type: 'nominal',
    sort: order,
    title: study === 'rank' ? 'rank' : 'setting',
    legend: { symbolType: 'stroke', symbolStrokeWidth: 3, symbolOpacity: 1 },
  };
  const x = { field: 'step', type: 'quantitative', title: 'optimizer step' };
  const seeded = variants.some((v) => v.runs.length > 1);
  return {
    name: `loss_curves_${study}`,
    title: `Training loss: ${study} study`,
    caption: seeded
      ? 'Lines are the mean training loss over seeds at each step; shaded bands the min–max across seeds.'
      : 'Training loss at each logged step, one line per setting.',
    spec: topLevel(`Training loss per step: ${study} study`, values, {
      width: 520,
      height: 280,
      layer: [
        {
          mark: { type: 'area', opacity: 0.18 },
          encoding: { x, y: { field: 'loss', aggregate: 'min', type: 'quantitative', stack: null }, y2: { field: 'loss', aggregate: 'max' }, color },
        },
        {
          mark: { type: 'line', strokeWidth: 1.6 },
          encoding: {
            x,
            y: { field: 'loss', aggregate: 'mean', type: 'quantitative', title: 'training loss (nats)', scale: { zero: false } },
            color,
          },
        },
      ],
    }),
  };
}
