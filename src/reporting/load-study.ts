import { openRunStore, type RunDetail, type RunRecord, type SuiteRecord } from '../tracking/index.js';
import { LoraStudyError } from '../util/errors.js';

/** Everything the report needs, read once from the tracker. */
export interface StudyData {
  /** The database read: a SQLite path, or a postgres URL without its password. */
  dbPath: string;
  /** The suite asked for, or null for the whole database. */
  suite: string | null;
  suites: SuiteRecord[];
  /** Completed runs with metrics, steps and artifacts, in id order. */
  completed: RunDetail[];
  /** Failed and interrupted runs. */
  failed: RunRecord[];
  /** Runs still queued or running (reported as such, left out of every figure). */
  unfinished: RunRecord[];
}

/**
 * Reads the tracker. An absent database, an unknown suite or no completed runs is a
 * LoraStudyError: an empty report would look like a result.
 */
export async function loadStudy(db: string | undefined, suite?: string): Promise<StudyData> {
  const store = await openRunStore(db, { readonly: true });
  const dbPath = store.location;
  try {
    const suites = await store.listSuites(suite);
    if (suite !== undefined && suites.length === 0) {
      const known = [...new Set((await store.listSuites()).map((s) => s.name))];
      throw new LoraStudyError(`no suite named "${suite}" in ${dbPath}`, {
        hint: known.length ? `suites recorded there: ${known.join(', ')}` : 'no suite has been run against this database yet',
      });
    }
    const runs = await store.listRuns(suite === undefined ? {} : { suite });
    const completed: RunDetail[] = [];
    for (const r of runs) if (r.status === 'completed') completed.push((await store.getRun(r.id))!);
    if (completed.length === 0) {
      const what = suite === undefined ? dbPath : `suite "${suite}" in ${dbPath}`;
      throw new LoraStudyError(
        runs.length === 0
          ? `no runs recorded in ${what}: nothing to report`
          : `no completed runs in ${what} (${runs.length} run(s), none completed): nothing to report`,
        { hint: 'run a suite to completion first (lora-study run-suite …); `lora-study runs` lists what is recorded' },
      );
    }
    return {
      dbPath,
      suite: suite ?? null,
      suites,
      completed,
      failed: runs.filter((r) => r.status === 'failed' || r.status === 'interrupted'),
      unfinished: runs.filter((r) => r.status === 'queued' || r.status === 'running'),
    };
  } finally {
    await store.close();
  }
}
