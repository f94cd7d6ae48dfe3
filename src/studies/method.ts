import type { RunConfig } from '../config/run-config.js';
import type { Variant } from '../reporting/aggregate.js';
import { settingsBarChart } from '../reporting/charts/study-charts.js';
import { bold, meanOf, timePhrase, verdict, verdictPhrase } from '../reporting/finding-text.js';
import { formatPercent } from '../reporting/format.js';
import { getPath } from './config-path.js';
import type { StudyDefinition } from './types.js';

/** The config paths that select a LoRA variant, named as PEFT names them. */
const PATHS = ['lora.use_rslora', 'lora.use_dora', 'lora.init_lora_weights', 'training.loraplus_lr_ratio'] as const;

/** The method's name from its config: LoRA, rsLoRA, DoRA, LoRA+, PiSSA, OLoRA, or a combination. */
export function methodName(c: RunConfig): string {
  const parts: string[] = [];
  if (getPath(c, 'lora.use_rslora') === true) parts.push('rsLoRA');
  if (getPath(c, 'lora.use_dora') === true) parts.push('DoRA');
  const ratio = getPath(c, 'training.loraplus_lr_ratio');
  if (typeof ratio === 'number') parts.push('LoRA+');
  const init = getPath(c, 'lora.init_lora_weights');
  if (typeof init === 'string') {
    if (init.startsWith('pissa')) parts.push('PiSSA');
    else if (init === 'olora') parts.push('OLoRA');
    else parts.push(`${init} init`);
  } else if (init === false) parts.push('zero init');
  return parts.length ? parts.join(', ') : 'LoRA';
}

const ORDER = ['LoRA', 'rsLoRA', 'DoRA', 'LoRA+', 'PiSSA', 'OLoRA'];
const orderOf = (v: Variant): number => (ORDER.indexOf(v.label) === -1 ? ORDER.length : ORDER.indexOf(v.label));

/**
 * Compares LoRA methods at one rank: plain LoRA, rsLoRA (alpha/√r), DoRA (magnitude/direction),
 * LoRA+ (B learns ratio × faster), PiSSA/OLoRA (adapter initialised from the base weights' SVD/QR).
 */
export const methodStudy: StudyDefinition = {
  type: 'method',
  title: 'LoRA method study',
  question: 'Which LoRA variant buys the most quality at the same rank, and what does it cost?',
  varies: PATHS,
  costMetric: 'trainable_params',
  label: (c) => methodName(c),
  compare: (a, b) => orderOf(a) - orderOf(b),
  validateSuite(variants) {
    const ranks = [...new Set(variants.map((v) => v.config.lora.r))];
    if (ranks.length < 2) return [];
    return [{ path: 'variants', message: `the method study compares methods at one rank, but its variants use r = ${ranks.join(', ')}; set lora.r in base only` }];
  },
  charts: (vs, q) => [
    settingsBarChart(vs, q, { name: 'method_quality', title: 'LoRA methods compared', axisTitle: 'method (same rank)', caption: 'every method trains at the same rank.' }),
  ],
  findings(vs, q) {
    const ref = vs.find((v) => v.label === 'LoRA');
    if (!ref) return [];
    return vs
      .filter((v) => v !== ref)
      .map((v) => {
        const parts = [
          q ? `${q.name.replace(/_/g, ' ')} ${verdictPhrase(verdict(v, ref, q), ref)}` : null,
          timePhrase(v, ref),
        ].filter(Boolean);
        const a = meanOf(v, 'trainable_params');
        const b = meanOf(ref, 'trainable_params');
        const cost = Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `; trainable parameters ${formatPercent(a / b, 1)} of LoRA's` : '';
        return `${bold(v)} against plain LoRA: ${parts.join('; ')}${cost}.`;
      });
  },
};
