import type { RunDetail, RunRecord } from '../tracking/index.js';
import { metricOf, variantLabel, type QualityMetric, type Stat, type Variant } from './aggregate.js';
import { formatBytes, formatCount, formatDuration, formatNumber, formatRange } from './format.js';
import type { StudyData } from './load-study.js';
import { loadRange, loadText, runRange } from './noise.js';

export interface Table {
  headers: string[];
  rows: string[][];
}

type Fmt = (x: number) => string;
const num: Fmt = (x) => formatNumber(x, 4);
const pct: Fmt = (x) => `${formatNumber(x, 3)}%`;

/** `0.412 (0.401–0.420)`: the mean, and the min–max over seeds when there are several. */
function meanRange(s: Stat | undefined, f: Fmt): string {
  if (!s) return '–';
  // Figures that do not vary with the seed (parameter counts, weight bytes) need no range.
  return s.n > 1 && f(s.min) !== f(s.max) ? `${f(s.mean)} (${f(s.min)}–${f(s.max)})` : f(s.mean);
}

/** Columns that appear only when some row has the metric. */
const SETTING_COLUMNS: { metric: string; header: string; f: Fmt }[] = [
  { metric: 'eval_loss', header: 'eval loss', f: num },
  { metric: 'perplexity', header: 'perplexity', f: num },
  { metric: 'token_accuracy', header: 'token acc.', f: num },
  { metric: 'exact_match', header: 'exact match', f: num },
  { metric: 'rouge_l', header: 'ROUGE-L', f: num },
  { metric: 'trainable_params', header: 'trainable', f: formatCount },
  { metric: 'trainable_pct', header: 'trainable %', f: pct },
  { metric: 'base_weight_bytes', header: 'base weights', f: formatBytes },
  { metric: 'peak_tfjs_bytes', header: 'peak memory', f: formatBytes },
  { metric: 'train_tokens_per_s', header: 'tokens/s', f: (x) => formatNumber(x, 3) },
  { metric: 'ms_per_step', header: 'ms/step', f: (x) => formatNumber(x, 3) },
];

/**
 * One row per setting of a study: mean (min–max) over seeds of every key figure, the median
 * (interquartile range) of its per-step times, the min–max of its runs' median step times and of
 * the load average they were timed under: the spreads the findings' speed claims use.
 */
export function settingsTable(variants: readonly Variant[], quality: QualityMetric | null): Table {
  const cols = SETTING_COLUMNS.filter((c) => variants.some((v) => v.stats[c.metric]));
  const timed = variants.some((v) => v.stepMs);
  const loaded = variants.some((v) => v.runTimes.some((r) => r.load !== null));
  const f3 = (x: number): string => formatNumber(x, 3);
  const headers = [
    'setting',
    'seeds',
    ...cols.map((c) => (c.metric === quality?.name ? `**${c.header}**` : c.header)),
    ...(timed ? ['step ms: median (IQR)', 'step ms: runs min–max'] : []),
    ...(loaded ? ['load avg'] : []),
    'wall time',
  ];
  const rows = variants.map((v) => {
    const r = v.runTimes.length ? runRange(v) : null;
    const load = loadRange(v);
    return [
      v.label,
      String(v.runs.length),
      ...cols.map((c) => meanRange(v.stats[c.metric], c.f)),
      ...(timed ? [v.stepMs ? `${f3(v.stepMs.median)} (${f3(v.stepMs.p25)}–${f3(v.stepMs.p75)})` : '–', r ? formatRange(r, f3) : '–'] : []),
      ...(loaded ? [load ? formatRange(load, loadText) : '–'] : []),
      formatDuration(v.runs.reduce((a, run) => a + (run.wallTimeS ?? 0), 0) / v.runs.length),
    ];
  });
  return { headers, rows };
}

/** Every completed run, one row each. */
export function runsTable(runs: readonly RunDetail[]): Table {
  const cols = SETTING_COLUMNS.filter((c) => runs.some((r) => Number.isFinite(metricOf(r, c.metric))));
  const headers = ['id', 'run', 'study', 'setting', 'seed', ...cols.map((c) => c.header), 'wall time', 'backend'];
  const rows = runs.map((r) => [
    String(r.id),
    r.name,
    r.experimentType,
    variantLabel(r),
    r.seed === null ? '–' : String(r.seed),
    ...cols.map((c) => {
      const x = metricOf(r, c.metric);
      return Number.isFinite(x) ? c.f(x) : '–';
    }),
    formatDuration(r.wallTimeS),
    r.backend ?? '–',
  ]);
  return { headers, rows };
}

const MAX_ERROR_CHARS = 300;

export function failedTable(runs: readonly RunRecord[]): Table {
  return {
    headers: ['id', 'run', 'study', 'status', 'error'],
    rows: runs.map((r) => {
      const err = (r.error ?? '(no error recorded)').replace(/\s+/g, ' ').trim();
      return [String(r.id), r.name, r.experimentType, r.status, err.length > MAX_ERROR_CHARS ? `${err.slice(0, MAX_ERROR_CHARS)}…` : err];
    }),
  };
}

const distinct = (xs: readonly (string | null)[]): string[] => [...new Set(xs.filter((x): x is string => !!x))];
const listOr = (xs: string[], none = '(not recorded)'): string => (xs.length ? xs.join(', ') : none);

/** Where the numbers came from: backends, devices, versions, commits, hosts, dates. */
export function environmentTable(data: StudyData, generatedAt: Date): Table {
  const runs = [...data.completed, ...data.failed];
  const starts = runs.map((r) => r.startedAt).filter((x): x is string => !!x).sort();
  const ends = runs.map((r) => r.finishedAt).filter((x): x is string => !!x).sort();
  const rows: string[][] = [
    ['backend', listOr(distinct(runs.map((r) => r.backend)))],
    ['device', listOr(distinct(runs.map((r) => r.device)))],
    ['model', listOr(distinct(runs.map((r) => r.model)))],
    ['dataset', listOr(distinct(runs.map((r) => r.dataset)))],
    ['git commit', listOr(distinct(runs.map((r) => r.gitCommit)).map((c) => `\`${c.slice(0, 12)}\``))],
    ['host', listOr(distinct(runs.map((r) => r.hostname)))],
    ['runs started', starts.length ? `${starts[0]} – ${ends[ends.length - 1] ?? '…'}` : '(not recorded)'],
    ['suites', listOr(data.suites.map((s) => `${s.name} #${s.id} (${s.status}, ${s.startedAt.slice(0, 10)})`), '(single runs only)')],
    ['database', `\`${data.dbPath}\``],
    ['report generated', generatedAt.toISOString()],
  ];
  const versions = new Map<string, Set<string>>();
  for (const r of runs) {
    for (const [pkg, v] of Object.entries(r.packageVersions ?? {})) versions.set(pkg, (versions.get(pkg) ?? new Set()).add(v));
  }
  for (const [pkg, vs] of [...versions.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    rows.push([`\`${pkg}\``, [...vs].join(', ')]);
  }
  return { headers: ['', ''], rows };
}
