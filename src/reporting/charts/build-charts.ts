import type { QualityMetric, Variant } from '../aggregate.js';
import { MIB, type Chart } from './chart.js';
import { paretoChart, throughputMemoryChart } from './cost-charts.js';
import { lossCurveChart } from './loss-curves.js';
import { moduleChart, quantizationChart, rankChart } from './study-charts.js';

/** The charts for the studies present, in report order; a chart without data is left out. */
export function buildCharts(variants: readonly Variant[], quality: QualityMetric | null): Chart[] {
  const of = (study: string): Variant[] => variants.filter((v) => v.study === study);
  const studies = [...new Set(variants.map((v) => v.study))];
  const charts: (Chart | null)[] = [];
  if (of('rank').length) charts.push(rankChart(of('rank'), quality));
  if (of('module').length) charts.push(moduleChart(of('module'), quality));
  if (of('quantization').length) charts.push(quantizationChart(of('quantization'), quality));
  for (const study of studies) charts.push(lossCurveChart(study, of(study)));
  charts.push(throughputMemoryChart(variants));
  if (quality) {
    charts.push(
      paretoChart(variants, quality, { metric: 'trainable_params', name: 'pareto_params', title: 'trainable parameters', unit: 'params' }),
      paretoChart(variants, quality, { metric: 'peak_tfjs_bytes', name: 'pareto_memory', title: 'peak memory', unit: 'MiB', scale: MIB }),
    );
  }
  return charts.filter((c): c is Chart => c !== null);
}
