import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { ReadOnlyDatabaseError } from '../../src/tracking/sqlite/db-errors.js';
import { openTracker } from '../../src/tracking/index.js';
import { MIGRATIONS } from '../../src/tracking/sqlite/schema.js';
import { runUnprivileged, unprivilegedReason } from '../helpers/unprivileged.js';

const RUNS_CLI = fileURLToPath(new URL('../fixtures/tracking/runs-cli.ts', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'tracker-ro-'));
afterAll(() => {
  chmodSync(root, 0o755);
  rmSync(root, { recursive: true, force: true });
});
let n = 0;

/** A database with one completed run, closed (WAL checkpointed away). */
function makeDb(): string {
  const dir = join(root, `d${n++}`);
  mkdirSync(dir);
  const path = join(dir, 'experiments.db');
  const t = openTracker(path);
  const run = t.startRun({ name: 'r4', experimentType: 'rank', config: { r: 4 } });
  t.recordMetrics(run, { eval_loss: 2.5 });
  t.finishRun(run, { status: 'completed' });
  t.close();
  return path;
}

const headerJournalBytes = (path: string): number[] => [...readFileSync(path).subarray(18, 20)];

describe('openTracker({ readonly: true })', () => {
  it('reads without switching to WAL, writing or creating anything, and refuses writes naming the file', () => {
    const path = makeDb();
    const raw = new Database(path);
    raw.pragma('journal_mode = DELETE');
    raw.close();
    const before = readFileSync(path);
    const t = openTracker(path, { readonly: true });
    expect(t.listRuns().map((r) => r.name)).toEqual(['r4']);
    expect(t.getMetrics(1).eval_loss.value).toBe(2.5);
    const write = (): void => t.recordMetrics(1, { eval_loss: 1 });
    expect(write).toThrow(ReadOnlyDatabaseError);
    expect(write).toThrow(path);
    t.close();
    expect(headerJournalBytes(path)).toEqual([1, 1]); // still a rollback-journal file
    expect(existsSync(`${path}-wal`)).toBe(false);
    expect(readFileSync(path).equals(before)).toBe(true);
  });

  it('reads a database of the first schema version from a migrated in-memory copy, leaving the file as it was', () => {
    const dir = join(root, `d${n++}`);
    mkdirSync(dir);
    const path = join(dir, 'experiments.db');
    const raw = new Database(path);
    raw.exec(MIGRATIONS[0]);
    raw.pragma('user_version = 1');
    raw.prepare(`INSERT INTO runs (name, experiment_type, config_json, config_hash, status, created_at) VALUES ('old', 'rank', '{}', 'h', 'completed', '2025-01-01T00:00:00.000Z')`).run();
    raw.close();
    const before = readFileSync(path);
    const t = openTracker(path, { readonly: true });
    expect(t.listRuns().map((r) => r.name)).toEqual(['old']);
    t.close();
    expect(readFileSync(path).equals(before)).toBe(true);
  });

  it('refuses a missing database without creating it', () => {
    const path = join(root, 'missing', 'experiments.db');
    expect(() => openTracker(path, { readonly: true })).toThrow(/no tracking database at .*missing/);
    expect(existsSync(join(root, 'missing'))).toBe(false);
  });
});

describe.skipIf(unprivilegedReason !== null)(`a read-only database, as a user who may not write it${unprivilegedReason ? ` (skipped: ${unprivilegedReason})` : ''}`, () => {
  it('`runs` lists a WAL database in a read-only folder; a writing open says read-only and names the file', () => {
    const path = makeDb();
    const dir = join(path, '..');
    expect(headerJournalBytes(path)).toEqual([2, 2]); // WAL mode, no -shm beside it
    chmodSync(root, 0o755);
    chmodSync(dir, 0o555);
    chmodSync(path, 0o444);
    try {
      const list = runUnprivileged(RUNS_CLI, ['runs', '--db', path]);
      expect(list.code, list.stderr).toBe(0);
      expect(list.stdout).toMatch(/r4 .* completed .* 2\.5/);
      const show = runUnprivileged(RUNS_CLI, ['runs', 'show', '1', '--db', path, '--json']);
      expect(show.code, show.stderr).toBe(0);
      expect(JSON.parse(show.stdout)).toMatchObject({ id: 1, status: 'completed' });
      const write = runUnprivileged(fileURLToPath(new URL('../fixtures/tracking/open-writable.ts', import.meta.url)), [path]);
      expect(write.code).toBe(1);
      expect(write.stderr).toContain(`tracking database ${path} is read-only`);
    } finally {
      chmodSync(dir, 0o755);
    }
  });
});
