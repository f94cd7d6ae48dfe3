import type { Command } from 'commander';
import { formatDuration, formatMetric } from '../reporting/format.js';
import { formatTextTable } from '../reporting/text-table.js';
import { openRunStore, RUN_STATUSES, type RunStatus } from '../tracking/index.js';
import { DB_FLAGS, DB_HELP } from './db-option.js';
import { LoraStudyError } from '../util/errors.js';
import { printJson, runCommand } from './run-command.js';

interface ListOptions {
  suite?: string;
  status?: string;
  db?: string;
  json?: boolean;
}

/** Metrics shown as columns of the run list, in this order. */
const LIST_METRICS = ['eval_loss', 'exact_match', 'trainable_params', 'peak_tfjs_bytes'] as const;

function parseStatus(s: string | undefined): RunStatus | undefined {
  if (s === undefined) return undefined;
  if (!(RUN_STATUSES as readonly string[]).includes(s)) {
    throw new LoraStudyError(`--status must be one of ${RUN_STATUSES.join(', ')}; got "${s}"`);
  }
  return s as RunStatus;
}

async function listRuns(opts: ListOptions): Promise<void> {
  const store = await openRunStore(opts.db, { readonly: true });
  try {
    const runs = await store.listRuns({ suite: opts.suite, status: parseStatus(opts.status) });
    const withMetrics = [];
    for (const r of runs) withMetrics.push({ ...r, metrics: await store.getMetrics(r.id) });
    if (opts.json) return printJson({ db: store.location, runs: withMetrics });
    if (runs.length === 0) {
      process.stdout.write(`no runs in ${store.location}${opts.suite ? ` for suite "${opts.suite}"` : ''}\n`);
      return;
    }
    const rows = withMetrics.map((r) => [
      String(r.id),
      r.suiteName ?? '–',
      r.name,
      r.experimentType,
      r.variant ?? '–',
      r.seed === null ? '–' : String(r.seed),
      r.status,
      ...LIST_METRICS.map((m) => formatMetric(r.metrics[m]?.value, r.metrics[m]?.unit)),
      formatDuration(r.wallTimeS),
      r.backend ?? '–',
    ]);
    const headers = ['id', 'suite', 'name', 'type', 'variant', 'seed', 'status', ...LIST_METRICS, 'wall', 'backend'];
    process.stdout.write(`${formatTextTable(headers, rows)}\n`);
  } finally {
    await store.close();
  }
}

async function showRun(idArg: string, opts: { db?: string; json?: boolean }): Promise<void> {
  const id = Number(idArg);
  if (!Number.isInteger(id) || id <= 0) throw new LoraStudyError(`run id must be a positive integer; got "${idArg}"`);
  const store = await openRunStore(opts.db, { readonly: true });
  try {
    const run = await store.getRun(id);
    if (!run) {
      throw new LoraStudyError(`no run with id ${id} in ${store.location}`, { hint: 'list runs with `lora-study runs`' });
    }
    if (opts.json) return printJson(run);
    const facts: [string, string][] = [
      ['run', `${run.id}  ${run.name}`],
      ['suite', run.suiteName ?? '–'],
      ['type', `${run.experimentType}${run.variant ? `  (${run.variant})` : ''}`],
      ['status', run.status],
      ['seed', run.seed === null ? '–' : String(run.seed)],
      ['rank', run.rank === null ? '–' : String(run.rank)],
      ['target modules', run.targetModules?.join(', ') ?? '–'],
      ['quantization', run.quantization ?? '–'],
      ['model', run.model ?? '–'],
      ['dataset', run.dataset ?? '–'],
      ['started', run.startedAt ?? '–'],
      ['finished', run.finishedAt ?? '–'],
      ['wall time', formatDuration(run.wallTimeS)],
      ['backend', `${run.backend ?? '–'}${run.device ? ` on ${run.device}` : ''}`],
      ['git commit', run.gitCommit ?? '–'],
      ['config hash', run.configHash.slice(0, 16)],
      ['host / pid', `${run.hostname ?? '–'} / ${run.pid ?? '–'}`],
    ];
    if (run.error) facts.push(['error', run.error]);
    const w = Math.max(...facts.map(([k]) => k.length));
    let out = facts.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n');
    const metrics = Object.entries(run.metrics);
    out += `\n\nmetrics\n${
      metrics.length
        ? formatTextTable(
            ['name', 'value', 'unit'],
            metrics.map(([name, m]) => [name, formatMetric(m.value, m.unit), m.unit ?? '']),
          )
        : '(none)'
    }`;
    if (run.steps.length) {
      const first = run.steps[0];
      const last = run.steps[run.steps.length - 1];
      out += `\n\nsteps  ${run.steps.length} logged (step ${first.step} → ${last.step}), loss ${formatMetric(first.loss, null)} → ${formatMetric(last.loss, null)}`;
    }
    if (run.artifacts.length) {
      out += `\n\nartifacts\n${formatTextTable(
        ['kind', 'host', 'path'],
        run.artifacts.map((a) => [a.kind, a.hostname ?? '–', a.path]),
      )}`;
    }
    process.stdout.write(`${out}\n`);
  } finally {
    await store.close();
  }
}

export function register(program: Command): void {
  const runs = program
    .command('runs')
    .description('list the runs recorded in the tracking database')
    .option('--suite <name>', 'only runs of suites with this name')
    .option('--status <status>', `only runs with this status (${RUN_STATUSES.join('|')})`)
    .option(DB_FLAGS, DB_HELP)
    .option('--json', 'print one JSON document on stdout')
    .action((opts: ListOptions) => runCommand('runs', opts, async () => listRuns(opts)));
  runs
    .command('show <id>')
    .description('show one run with its metrics, steps and artifacts')
    .option(DB_FLAGS, DB_HELP)
    .option('--json', 'print one JSON document on stdout')
    .action((id: string, opts: { db?: string; json?: boolean }, cmd: Command) => {
      // --db/--json written before `show` land on the parent command; an explicit value wins.
      const parent = cmd.parent!;
      const explicit = (name: string): boolean => cmd.getOptionValueSource(name) !== 'default' && name in opts;
      const merged = {
        db: explicit('db') ? opts.db : (parent.opts().db as string | undefined),
        json: opts.json ?? (parent.opts().json as boolean | undefined),
      };
      return runCommand('runs show', merged, async () => showRun(id, merged));
    });
}
