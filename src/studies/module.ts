import { settingsBarChart } from '../reporting/charts/study-charts.js';
import type { StudyDefinition } from './types.js';

/** Varies which linear layers get adapters (attention only, MLP only, all-linear, …). */
export const moduleStudy: StudyDefinition = {
  type: 'module',
  title: 'Target-module study',
  question: 'Which layers are worth adapting, at the same rank?',
  varies: ['lora.target_modules'],
  costMetric: 'trainable_params',
  label(c, name) {
    if (name) return name;
    const t = c.lora.target_modules;
    if (t === undefined) return 'default';
    return Array.isArray(t) ? t.join('+') : t;
  },
  charts: (vs, q) => [
    settingsBarChart(vs, q, {
      name: 'module_quality',
      title: 'Target modules compared',
      axisTitle: 'target modules (by trainable parameters)',
      caption: 'module sets are ordered by trainable parameters.',
    }),
  ],
};
