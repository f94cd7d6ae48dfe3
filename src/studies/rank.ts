import { rankChart } from '../reporting/charts/study-charts.js';
import type { StudyDefinition } from './types.js';

/** Varies the LoRA rank r with everything else fixed: what does each extra rank buy? */
export const rankStudy: StudyDefinition = {
  type: 'rank',
  title: 'Rank study',
  question: 'What does each extra rank buy, at what cost in parameters, memory and time?',
  varies: ['lora.r'],
  costMetric: 'trainable_params',
  label: (c) => `r=${c.lora.r}`,
  compare: (a, b) => Number(a.value) - Number(b.value),
  // alpha = 2r keeps the update's scale alpha/r = 2 at every rank, so the study compares
  // capacity rather than an effective learning rate that changes with r.
  derive(raw) {
    const lora = (raw.lora ?? {}) as Record<string, unknown>;
    if (typeof lora.r === 'number' && lora.lora_alpha === undefined) raw.lora = { ...lora, lora_alpha: 2 * lora.r };
  },
  validate: (c) => (c.quantization !== 'fp32' ? [`rank study on a ${c.quantization} base: rank and quantization effects mix`] : []),
  charts: (vs, q) => [rankChart(vs, q)],
};
