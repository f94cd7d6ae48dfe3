/**
 * The Postgres lifecycle of a test file, in one place: `usePostgres()` starts one throwaway cluster
 * (tests/helpers/postgres.ts: 127.0.0.1, unprivileged user) before the file's tests and stops and
 * deletes it after them; `describePostgres` is `describe`, skipped — with the reason in its title,
 * so the skip shows in the test report — where the binaries are absent and CI is unset. Under
 * CI=true nothing skips: a missing binary fails the file. (Kept apart from postgres.ts, which
 * scripts import outside vitest.)
 */
import { afterAll, beforeAll, describe } from 'vitest';
import { PG_SKIP_REASON, startPostgres, type TestPostgres } from './postgres.js';

export { PG_SKIP_REASON };

/** Registers the cluster's start (beforeAll) and stop (afterAll); returns a getter for it. */
export function usePostgres(): () => TestPostgres {
  let server: TestPostgres | null = null;
  beforeAll(async () => {
    if (!PG_SKIP_REASON) server = await startPostgres();
  }, 120_000);
  afterAll(() => server?.stop());
  return () => {
    if (!server) throw new Error(`the test PostgreSQL is not running${PG_SKIP_REASON ? ` (${PG_SKIP_REASON})` : ''}; use describePostgres for tests that need it`);
    return server;
  };
}

/** Postgres-only tests: skipped with the reason in the title where PG_SKIP_REASON is set. */
export function describePostgres(name: string, fn: () => void): void {
  describe.skipIf(Boolean(PG_SKIP_REASON))(PG_SKIP_REASON ? `${name} (skipped: ${PG_SKIP_REASON})` : name, fn);
}
