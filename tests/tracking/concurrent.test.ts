import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { openTracker } from '../../src/tracking/index.js';

const WRITER = fileURLToPath(new URL('../fixtures/tracking/concurrent-writer.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'tracking-concurrent-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function runWriter(db: string, label: string, runs: number, steps: number): Promise<{ code: number | null; out: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['--import', 'tsx', WRITER, db, label, String(runs), String(steps)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', fail);
    child.on('close', (code) => done({ code, out }));
  });
}

describe('two processes writing one database', () => {
  it('both succeed and every row is there', async () => {
    const db = join(dir, 'experiments.db');
    const RUNS = 25;
    const STEPS = 40;
    // Neither process finds the database: both race to create and migrate it too.
    const [a, b] = await Promise.all([runWriter(db, 'a', RUNS, STEPS), runWriter(db, 'b', RUNS, STEPS)]);
    expect(a, a.out).toMatchObject({ code: 0 });
    expect(b, b.out).toMatchObject({ code: 0 });

    const t = openTracker(db, { mustExist: true });
    try {
      for (const label of ['a', 'b']) {
        const runs = t.listRuns({ suite: `suite-${label}` });
        expect(runs).toHaveLength(RUNS);
        expect(runs.every((r) => r.status === 'completed')).toBe(true);
        expect(new Set(runs.map((r) => r.name)).size).toBe(RUNS);
      }
      const count = (sql: string): number => (t.db.prepare(sql).get() as { n: number }).n;
      expect(count('SELECT COUNT(*) AS n FROM step_metrics')).toBe(2 * RUNS * STEPS);
      expect(count('SELECT COUNT(*) AS n FROM metrics')).toBe(2 * RUNS * 2);
      expect(count('SELECT COUNT(*) AS n FROM artifacts')).toBe(2 * RUNS);
      expect(t.listSuites().map((s) => s.status)).toEqual(['completed', 'completed']);
      // The writes really interleaved: run ids of the two writers alternate somewhere.
      const owners = t.listRuns().map((r) => r.name[0]);
      const switches = owners.filter((o, i) => i > 0 && o !== owners[i - 1]).length;
      expect(switches).toBeGreaterThan(1);
    } finally {
      t.close();
    }
  });
});
