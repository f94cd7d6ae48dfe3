import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTracker } from '../../src/tracking/index.js';

const MAIN = fileURLToPath(new URL('../fixtures/tracking/runs-cli.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'runs-cli-'));
const db = join(dir, 'experiments.db');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function cli(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', MAIN, ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(() => {
  const t = openTracker(db);
  const s = t.createSuite({ name: 'rank_sweep', config: {} });
  const ok = t.startRun({ suiteId: s, name: 'rank_sweep/r4/seed1', experimentType: 'rank', config: { r: 4 }, variant: 'r=4' });
  t.recordMetrics(ok, { eval_loss: 2.25, trainable_params: 49_152 });
  t.finishRun(ok, { status: 'completed' });
  const bad = t.startRun({ suiteId: s, name: 'rank_sweep/r64/seed1', experimentType: 'rank', config: { r: 64 } });
  t.finishRun(bad, { status: 'failed', error: 'out of memory' });
  t.startRun({ name: 'single', experimentType: 'single', config: {} });
  t.close();
});

describe('lora-study runs', () => {
  it('lists runs as a table, filtered by suite and status', () => {
    const all = cli('runs', '--db', db);
    expect(all.code, all.stderr).toBe(0);
    expect(all.stdout).toMatch(/rank_sweep\/r4\/seed1 .* completed .* 2\.25 .* 49\.2k/);
    expect(all.stdout.trim().split('\n')).toHaveLength(2 + 3);
    const failed = cli('runs', '--db', db, '--suite', 'rank_sweep', '--status', 'failed');
    expect(failed.stdout).toContain('rank_sweep/r64/seed1');
    expect(failed.stdout).not.toContain('r4');
  });

  it('--json prints one document with metrics', () => {
    const r = cli('runs', '--db', db, '--suite', 'rank_sweep', '--json');
    const doc = JSON.parse(r.stdout) as { runs: { name: string; metrics: Record<string, { value: number }> }[] };
    expect(doc.runs.map((x) => x.name)).toEqual(['rank_sweep/r4/seed1', 'rank_sweep/r64/seed1']);
    expect(doc.runs[0].metrics.eval_loss.value).toBe(2.25);
  });

  it('runs show prints one run, with --db before or after show', () => {
    const r = cli('runs', '--db', db, 'show', '2');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/status\s+failed/);
    expect(r.stdout).toMatch(/error\s+out of memory/);
    const j = cli('runs', 'show', '1', '--db', db, '--json');
    expect(JSON.parse(j.stdout)).toMatchObject({ id: 1, metrics: { trainable_params: { value: 49_152, unit: 'params' } } });
  });

  it('fails clearly on a missing database, an unknown run or a bad status', () => {
    const missing = cli('runs', '--db', join(dir, 'missing.db'));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/error during runs: no tracking database/);
    expect(cli('runs', 'show', '99', '--db', db).stderr).toMatch(/no run with id 99/);
    expect(cli('runs', '--db', db, '--status', 'done').stderr).toMatch(/--status must be one of/);
  });
});
