import type Database from 'better-sqlite3';
import { isPidAlive, type ProcessIdentity } from './process-info.js';
import type { MarkStaleOptions } from './types.js';

export interface OwnerRow {
  id: number;
  hostname: string | null;
  pid: number | null;
  invocation_id: string | null;
}

/**
 * Whether the process that owns a `running` row is gone: on this host, its pid is dead, or it
 * is this very pid under an earlier invocation (a reused pid, or an earlier tracker opened in
 * this process). Another host's row cannot be checked: it counts as gone only when
 * `includeOtherHosts` says no other machine writes to this database.
 */
export function isOwnerGone(r: OwnerRow, me: ProcessIdentity, includeOtherHosts = false): boolean {
  if (r.invocation_id === me.invocationId) return false;
  if (r.hostname !== me.hostname) return includeOtherHosts;
  if (r.pid === null) return true;
  return r.pid === me.pid || !isPidAlive(r.pid);
}

/**
 * A run (or suite) left `running` or `queued` is stale when the process that owned it is gone:
 * on this host, its pid is dead, or it is this very pid under an earlier invocation (a reused
 * pid, or an earlier tracker opened in this process). Rows owned by live processes — another
 * suite writing right now — are left alone; other hosts' rows too, unless `includeOtherHosts`.
 * Marks stale runs and suites `interrupted` and returns the ids of the runs it marked.
 */
export function markStaleRunsInterrupted(
  db: Database.Database,
  me: ProcessIdentity,
  opts: MarkStaleOptions = {},
): number[] {
  const isStale = (r: OwnerRow): boolean => isOwnerGone(r, me, Boolean(opts.includeOtherHosts));
  const bySuite = opts.suiteId === undefined ? '' : 'AND suite_id = ?';
  const suiteArgs = opts.suiteId === undefined ? [] : [opts.suiteId];
  const marked: number[] = [];
  db.transaction(() => {
    const t = new Date().toISOString();
    const runs = db
      .prepare(`SELECT id, hostname, pid, invocation_id FROM runs WHERE status IN ('running', 'queued') ${bySuite}`)
      .all(...suiteArgs) as OwnerRow[];
    const markRun = db.prepare(
      `UPDATE runs SET status = 'interrupted', finished_at = ?,
         error = COALESCE(error, 'the process running it ended before it finished') WHERE id = ?`,
    );
    for (const r of runs) {
      if (!isStale(r)) continue;
      markRun.run(t, r.id);
      marked.push(r.id);
    }
    const suites = db
      .prepare(
        `SELECT id, hostname, pid, invocation_id FROM suites WHERE status = 'running' ${opts.suiteId === undefined ? '' : 'AND id = ?'}`,
      )
      .all(...suiteArgs) as OwnerRow[];
    const markSuite = db.prepare(`UPDATE suites SET status = 'interrupted', finished_at = ? WHERE id = ?`);
    for (const s of suites) if (isStale(s)) markSuite.run(t, s.id);
  }).immediate();
  return marked;
}
