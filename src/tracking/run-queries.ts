import type { RunFilter, RunStatus } from './types.js';
import { RUN_SELECT } from './rows.js';

/**
 * The `listRuns` query for a filter, in SQL both stores run unchanged (`?` placeholders; the
 * Postgres store numbers them): oldest first, or the newest `limit` in id order.
 */
export function listRunsQuery(filter: RunFilter = {}): { sql: string; args: (string | number)[] } {
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
    where.push(statuses.length ? `runs.status IN (${statuses.map(() => '?').join(', ')})` : 'FALSE');
    args.push(...statuses);
  }
  if (filter.experimentType !== undefined) {
    where.push('runs.experiment_type = ?');
    args.push(filter.experimentType);
  }
  let sql = `${RUN_SELECT} ${where.length ? `WHERE ${where.join(' AND ')}` : ''}`;
  if (filter.limit !== undefined) {
    sql = `SELECT * FROM (${sql} ORDER BY runs.id DESC LIMIT ?) AS newest ORDER BY id`;
    args.push(filter.limit);
  } else {
    sql += ' ORDER BY runs.id';
  }
  return { sql, args };
}
