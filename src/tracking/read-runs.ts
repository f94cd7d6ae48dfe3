import type Database from 'better-sqlite3';
import { RUN_SELECT, toArtifact, toRun, toStep, type ArtifactRow, type RunRow, type StepDbRow } from './rows.js';
import type { MetricValue, RunDetail, RunFilter, RunRecord, RunStatus } from './types.js';

/** Runs matching the filter, oldest first (the newest `limit` when a limit is set). */
export function listRuns(db: Database.Database, filter: RunFilter = {}): RunRecord[] {
  const where: string[] = [];
  const args: (string | number)[] = [];
  if (typeof filter.suite === 'number') {
    where.push('runs.suite_id = ?');
    args.push(filter.suite);
  } else if (typeof filter.suite === 'string') {
    where.push('suites.name = ?');
    args.push(filter.suite);
  }
  if (filter.status !== undefined) {
    const statuses: readonly RunStatus[] = typeof filter.status === 'string' ? [filter.status] : filter.status;
    where.push(statuses.length ? `runs.status IN (${statuses.map(() => '?').join(', ')})` : '0');
    args.push(...statuses);
  }
  if (filter.experimentType !== undefined) {
    where.push('runs.experiment_type = ?');
    args.push(filter.experimentType);
  }
  let sql = `${RUN_SELECT} ${where.length ? `WHERE ${where.join(' AND ')}` : ''}`;
  if (filter.limit !== undefined) {
    sql = `SELECT * FROM (${sql} ORDER BY runs.id DESC LIMIT ?) ORDER BY id`;
    args.push(filter.limit);
  } else {
    sql += ' ORDER BY runs.id';
  }
  return (db.prepare(sql).all(...args) as RunRow[]).map(toRun);
}

export function getRunRecord(db: Database.Database, runId: number): RunRecord | null {
  const row = db.prepare(`${RUN_SELECT} WHERE runs.id = ?`).get(runId) as RunRow | undefined;
  return row ? toRun(row) : null;
}

export function getMetrics(db: Database.Database, runId: number): Record<string, MetricValue> {
  const rows = db.prepare(`SELECT name, value, unit FROM metrics WHERE run_id = ? ORDER BY name`).all(runId) as {
    name: string;
    value: number | null;
    unit: string | null;
  }[];
  const out: Record<string, MetricValue> = {};
  for (const r of rows) out[r.name] = { value: r.value ?? Number.NaN, unit: r.unit };
  return out;
}

export function getRun(db: Database.Database, runId: number): RunDetail | null {
  const run = getRunRecord(db, runId);
  if (!run) return null;
  const steps = db
    .prepare(
      `SELECT step, loss, lr, grad_norm, tokens_per_s, elapsed_s, eval_loss, extra_json
       FROM step_metrics WHERE run_id = ? ORDER BY step`,
    )
    .all(runId) as StepDbRow[];
  const artifacts = db.prepare(`SELECT * FROM artifacts WHERE run_id = ? ORDER BY id`).all(runId) as ArtifactRow[];
  return { ...run, metrics: getMetrics(db, runId), steps: steps.map(toStep), artifacts: artifacts.map(toArtifact) };
}
