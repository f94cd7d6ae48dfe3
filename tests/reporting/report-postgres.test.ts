/**
 * generate-report reads Postgres exactly as it reads SQLite: the same runs in both databases give
 * the same RESULTS.md tables and the same chart data.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { generateReport } from '../../src/reporting/index.js';
import { openSqliteStore } from '../../src/tracking/index.js';
import { PostgresRunStore } from '../../src/tracking/postgres/pg-store.js';
import { buildStudyFixture } from '../fixtures/tracking/study-fixture.js';
import { copyStore } from '../helpers/copy-store.js';
import { describePostgres, usePostgres } from '../helpers/use-postgres.js';

const dir = mkdtempSync(join(tmpdir(), 'report-pg-'));
const pgServer = usePostgres();
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describePostgres('generate-report from Postgres', () => {
  it('gives the same tables and chart data as from SQLite for the same runs', async () => {
    const sqlitePath = join(dir, 'experiments.db');
    const counts = buildStudyFixture(sqlitePath);
    const url = await pgServer().createDatabase('report');
    const sqlite = openSqliteStore(sqlitePath);
    const pg = await PostgresRunStore.open(url);
    await copyStore(sqlite, pg);
    await sqlite.close();
    await pg.close();

    const now = new Date('2025-03-01T12:00:00Z');
    const a = await generateReport({ dbPath: sqlitePath, outDir: join(dir, 'from-sqlite'), now });
    const b = await generateReport({ dbPath: url, outDir: join(dir, 'from-postgres'), now });
    expect(b.completedRuns).toBe(a.completedRuns);
    expect(a.completedRuns).toBe(counts.rankRuns + counts.moduleRuns + counts.quantRuns);
    expect(b.findings).toEqual(a.findings);
    // Everything is identical but the line naming the database and the start times (the copy
    // went through startRun, which stamps the time of copying).
    const md = (d: string) =>
      readFileSync(join(dir, d, 'RESULTS.md'), 'utf8').split('\n').filter((l) => !l.includes('database') && !l.startsWith('| runs started'));
    expect(md('from-postgres')).toEqual(md('from-sqlite'));
    expect(readFileSync(join(dir, 'from-postgres', 'RESULTS.md'), 'utf8')).toContain('postgres://postgres@127.0.0.1');
    const charts = readdirSync(join(dir, 'from-sqlite', 'charts')).filter((f) => f.endsWith('.vl.json'));
    expect(charts.length).toBeGreaterThan(3);
    for (const c of charts) {
      expect(readFileSync(join(dir, 'from-postgres', 'charts', c), 'utf8'), c).toBe(readFileSync(join(dir, 'from-sqlite', 'charts', c), 'utf8'));
    }
  }, 180_000);
});
