import type Database from 'better-sqlite3';
import { RUN_SELECT, toArtifact, toRun, toStep, type ArtifactRow, type RunRow, type StepDbRow } from '../rows.js';
import { listRunsQuery } from '../run-queries.js';
import type { MetricValue, RunDetail, RunFilter, RunRecord } from '../types.js';

/** Runs matching the filter, oldest first (the newest `limit` when a limit is set). */
export function listRuns(db: Database.Database, filter: RunFilter = {}): RunRecord[] {
  const { sql, args } = listRunsQuery(filter);
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
