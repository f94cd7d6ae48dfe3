import { studyOf } from '../../studies/registry.js';
import type { QualityMetric, Variant } from '../aggregate.js';
import { MIB, type Chart } from './chart.js';
import { paretoChart, throughputMemoryChart } from './cost-charts.js';
import { lossCurveChart } from './loss-curves.js';

/** The charts for the studies present (each study's own, then its loss curves), then costs and Pareto; a chart without data is left out. */
export function buildCharts(variants: readonly Variant[], quality: QualityMetric | null): Chart[] {
  const studies = [...new Set(variants.map((v) => v.study))];
  const of = (study: string): Variant[] => variants.filter((v) => v.study === study);
  const charts: (Chart | null)[] = [];
  for (const study of studies) charts.push(...(studyOf(study)?.charts?.(of(study), quality) ?? []));
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
