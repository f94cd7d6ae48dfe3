import { QUANT_FORMATS } from '../config/run-config.js';
import type { Variant } from '../reporting/aggregate.js';
import { quantizationChart } from '../reporting/charts/study-charts.js';
import { bold, fmt, meanOf, metricName, verdict, verdictPhrase } from '../reporting/finding-text.js';
import { formatBytes, formatPercent } from '../reporting/format.js';
import type { StudyDefinition } from './types.js';

const order = (v: Variant): number => {
  const i = (QUANT_FORMATS as readonly string[]).indexOf(String(v.value ?? v.label));
  return i === -1 ? 99 : i;
};

/**
 * Varies the precision of the frozen base weights (fp32, int8, nf4, nf4-dq, fp4) as QLoRA does;
 * LoRA weights stay float32. The lifecycle quantizes before the adapter exists.
 */
export const quantizationStudy: StudyDefinition = {
  type: 'quantization',
  title: 'Base-weight quantization study',
  question: 'What does quantizing the frozen base (QLoRA-style) cost in quality, and what memory does it save?',
  varies: ['quantization'],
  costMetric: 'base_weight_bytes',
  label: (c) => c.quantization,
  compare: (a, b) => order(a) - order(b),
  charts: (vs, q) => [quantizationChart(vs, q)],
  findings(vs, q) {
    const withBytes = vs.filter((v) => Number.isFinite(meanOf(v, 'base_weight_bytes')));
    if (withBytes.length < 2) return [];
    const ref = withBytes.find((v) => v.value === 'fp32' || v.label === 'fp32') ?? withBytes.reduce((a, b) => (meanOf(a, 'base_weight_bytes') >= meanOf(b, 'base_weight_bytes') ? a : b));
    return withBytes
      .filter((v) => v !== ref)
      .map((v) => {
        const ratio = meanOf(v, 'base_weight_bytes') / meanOf(ref, 'base_weight_bytes');
        const quality = q && Number.isFinite(meanOf(v, q.name)) && Number.isFinite(meanOf(ref, q.name))
          ? `; ${metricName(q.name)} ${fmt(meanOf(v, q.name))} vs ${fmt(meanOf(ref, q.name))}, ${verdictPhrase(verdict(v, ref, q), ref)}`
          : '';
        return `${bold(v)} holds the base weights in ${formatPercent(ratio, 0)} of ${ref.label}'s memory (${formatBytes(meanOf(v, 'base_weight_bytes'))} vs ${formatBytes(meanOf(ref, 'base_weight_bytes'))})${quality}.`;
      });
  },
};
