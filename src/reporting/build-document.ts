import type { QualityMetric, Variant } from './aggregate.js';
import type { Chart } from './charts/chart.js';
import type { Block } from './document.js';
import type { StudyData } from './load-study.js';
import { studyOf } from '../studies/registry.js';
import { environmentTable, failedTable, runsTable, settingsTable } from './report-tables.js';


const table = (t: { headers: string[]; rows: string[][] }): Block => ({ kind: 'table', ...t });

/** Lays out the report: summary, findings, one section per study, costs, Pareto, runs, failures, environment. */
export function buildDocument(p: {
  data: StudyData;
  variants: readonly Variant[];
  quality: QualityMetric | null;
  charts: readonly Chart[];
  findings: readonly string[];
  generatedAt: Date;
}): { title: string; blocks: Block[] } {
  const { data, variants, quality, charts, findings } = p;
  const chart = (name: string): Block[] => {
    const c = charts.find((x) => x.name === name);
    return c ? [{ kind: 'chart', chart: c }] : [];
  };
  const title = data.suite ? `LoRA study results: ${data.suite}` : 'LoRA study results';
  const studies = [...new Set(variants.map((v) => v.study))];
  const nSeeds = Math.max(...variants.map((v) => v.runs.length));
  const blocks: Block[] = [
    { kind: 'heading', level: 1, text: title },
    {
      kind: 'paragraph',
      text:
        `${data.completed.length} completed run${data.completed.length === 1 ? '' : 's'} in ${variants.length} setting${variants.length === 1 ? '' : 's'} ` +
        `across ${studies.length} stud${studies.length === 1 ? 'y' : 'ies'} (${studies.join(', ')})` +
        (nSeeds > 1 ? `, up to ${nSeeds} seeds per setting: figures are means, with the min–max over seeds in brackets` : '') +
        (data.failed.length ? `; ${data.failed.length === 1 ? '1 run' : `${data.failed.length} runs`} failed or ${data.failed.length === 1 ? 'was' : 'were'} interrupted` : '') +
        (data.unfinished.length ? `; ${data.unfinished.length} still queued or running (left out)` : '') +
        `. Quality is measured by ${quality ? `\`${quality.name}\` (${quality.better} is better)` : 'no metric recorded by every run'}.`,
    },
    { kind: 'heading', level: 2, text: 'Findings' },
    findings.length ? { kind: 'list', items: [...findings] } : { kind: 'paragraph', text: 'Too few settings to compare.' },
  ];

  for (const study of studies) {
    const vs = variants.filter((v) => v.study === study);
    const def = studyOf(study);
    blocks.push({ kind: 'heading', level: 2, text: def?.title ?? `${study} study` });
    if (def) blocks.push({ kind: 'paragraph', text: `${def.question}${def.varies.length ? ` Varies \`${def.varies.join('`, `')}\`.` : ''}` });
    for (const c of def?.charts?.(vs, quality) ?? []) if (c) blocks.push(...chart(c.name));
    blocks.push(table(settingsTable(vs, quality)));
    blocks.push(...chart(`loss_curves_${study}`));
  }

  if (charts.some((c) => c.name === 'throughput_memory')) {
    blocks.push({ kind: 'heading', level: 2, text: 'Throughput and memory' }, ...chart('throughput_memory'));
  }
  if (charts.some((c) => c.name.startsWith('pareto_'))) {
    blocks.push({ kind: 'heading', level: 2, text: 'Quality against cost (Pareto)' }, ...chart('pareto_params'), ...chart('pareto_memory'));
  }
  blocks.push({ kind: 'heading', level: 2, text: 'All completed runs' }, table(runsTable(data.completed)));
  if (data.failed.length) {
    blocks.push({ kind: 'heading', level: 2, text: 'Failed runs' }, table(failedTable(data.failed)));
  }
  blocks.push({ kind: 'heading', level: 2, text: 'Environment' }, table(environmentTable(data, p.generatedAt)));
  return { title, blocks };
}
