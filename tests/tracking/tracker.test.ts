import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { hashConfig, openTracker, SCHEMA_VERSION } from '../../src/tracking/index.js';
import { LoraStudyError } from '../../src/util/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'tracker-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const freshPath = (): string => join(dir, `t${n++}`, 'experiments.db');

describe('openTracker', () => {
  it('creates the schema once, in WAL mode, with foreign keys on', () => {
    const path = freshPath();
    openTracker(path).close();
    const t = openTracker(path); // second open: migration is a no-op
    expect(t.db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(t.db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(t.db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    const tables = (t.db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`).all() as { name: string }[]).map(
      (r) => r.name,
    );
    expect(tables).toEqual(['artifacts', 'metrics', 'runs', 'step_metrics', 'suites']);
    t.close();
  });

  it('mustExist refuses a missing database with a LoraStudyError', () => {
    expect(() => openTracker(join(dir, 'nope.db'), { mustExist: true })).toThrow(LoraStudyError);
  });

  it('upgrades a version-1 database in place: old runs keep their rows, new columns read as null', () => {
    const path = freshPath();
    openTracker(path).close();
    const raw = new Database(path);
    // back to what a version-1 database looked like: no varied_* columns (2), no artifacts.hostname (3)
    raw.exec('ALTER TABLE runs DROP COLUMN varied_path; ALTER TABLE runs DROP COLUMN varied_value_json; ALTER TABLE artifacts DROP COLUMN hostname');
    raw.pragma('user_version = 1');
    raw.prepare(
      `INSERT INTO runs (name, experiment_type, variant, rank, config_json, config_hash, status, created_at)
       VALUES ('old', 'rank', 'r=4', 4, '{}', 'h', 'completed', '2025-01-01T00:00:00.000Z')`,
    ).run();
    raw.prepare(`INSERT INTO artifacts (run_id, kind, path, created_at) VALUES (1, 'adapter', 'a/b', '2025-01-01T00:00:00.000Z')`).run();
    raw.close();
    const t = openTracker(path);
    expect(t.db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(t.listRuns()[0]).toMatchObject({ name: 'old', rank: 4, variedPath: null, variedValue: null });
    expect(t.getRun(1)!.artifacts).toMatchObject([{ path: 'a/b', hostname: null }]);
    t.addArtifact(1, 'run_json', 'a/run.json');
    expect(t.getRun(1)!.artifacts[1].hostname).toBe(hostname());
    const id = t.startRun({ name: 'new', experimentType: 'method', config: {}, variedPath: 'lora.use_dora', variedValue: true });
    expect(t.listRuns().find((r) => r.id === id)).toMatchObject({ variedPath: 'lora.use_dora', variedValue: true });
    t.close();
  });

  it('refuses a database from a newer schema', () => {
    const path = freshPath();
    openTracker(path).close();
    const raw = new Database(path);
    raw.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    raw.close();
    expect(() => openTracker(path)).toThrow(/newer than this lora-study/);
  });
});

describe('suites and runs', () => {
  it('records a run end to end and reads it back as plain objects', () => {
    const t = openTracker(freshPath());
    const suiteId = t.createSuite({ name: 'rank_sweep', config: { sweep: { rank: [4, 8] } } });
    const config = { lora: { rank: 8, alpha: 16 }, seed: 1 };
    const runId = t.startRun({
      suiteId,
      name: 'rank_sweep/r8/seed1',
      experimentType: 'rank',
      config,
      seed: 1,
      variant: 'r=8',
      variedPath: 'lora.r',
      variedValue: 8,
      rank: 8,
      targetModules: ['q_proj', 'v_proj'],
      quantization: 'fp32',
      backend: 'wasm',
      device: 'cpu',
      packageVersions: { '@tensorflow/tfjs-core': '4.22.0' },
      gitCommit: 'abc123',
    });
    t.logSteps(runId, [
      { step: 0, loss: 3.2, lr: 1e-4, gradNorm: 1.5, tokensPerS: 900 },
      { step: 1, loss: 2.9, lr: 2e-4, extra: { ms_data: 3 } },
    ]);
    t.logSteps(runId, [{ step: 1, loss: 2.8, lr: 2e-4 }]); // a step logged again replaces the old row
    t.recordMetrics(runId, { eval_loss: 2.5, exact_match: 0.4, custom_thing: 7 }, { custom_thing: 'widgets' });
    t.recordMetrics(runId, { eval_loss: 2.4 });
    t.addArtifact(runId, 'adapter', 'results/adapters/r8', 1234);
    t.finishRun(runId, { status: 'completed', wallTimeS: 12.5 });
    t.finishSuite(suiteId, 'completed');

    const run = t.getRun(runId)!;
    expect(run).toMatchObject({
      suiteName: 'rank_sweep',
      status: 'completed',
      variedPath: 'lora.r',
      variedValue: 8,
      rank: 8,
      targetModules: ['q_proj', 'v_proj'],
      config,
      configHash: hashConfig(config),
      wallTimeS: 12.5,
      packageVersions: { '@tensorflow/tfjs-core': '4.22.0' },
      pid: process.pid,
    });
    expect(run.startedAt).not.toBeNull();
    expect(run.finishedAt).not.toBeNull();
    expect(run.metrics).toEqual({
      eval_loss: { value: 2.4, unit: 'nats' },
      exact_match: { value: 0.4, unit: 'fraction' },
      custom_thing: { value: 7, unit: 'widgets' },
    });
    expect(run.steps.map((s) => [s.step, s.loss])).toEqual([
      [0, 3.2],
      [1, 2.8],
    ]);
    expect(run.steps[1].gradNorm).toBeNull();
    expect(run.artifacts).toMatchObject([{ kind: 'adapter', path: 'results/adapters/r8', bytes: 1234 }]);
    expect(t.listSuites('rank_sweep')).toMatchObject([{ status: 'completed' }]);
    expect(t.getRun(9999)).toBeNull();
    t.close();
  });

  it('stores NaN metrics and losses as NULL, and a failed run keeps its error', () => {
    const t = openTracker(freshPath());
    const id = t.startRun({ name: 'nan', experimentType: 'single', config: {} });
    t.logSteps(id, [{ step: 0, loss: Number.NaN }]);
    t.recordMetrics(id, { eval_loss: Number.NaN });
    t.finishRun(id, { status: 'failed', error: 'loss became NaN at step 0' });
    const run = t.getRun(id)!;
    expect(run.steps[0].loss).toBeNull();
    expect(Number.isNaN(run.metrics.eval_loss.value)).toBe(true);
    expect(run).toMatchObject({ status: 'failed', error: 'loss became NaN at step 0' });
    expect(run.wallTimeS).toBeGreaterThanOrEqual(0);
    t.close();
  });

  it('queued runs start on updateRun, which also fills in environment facts', () => {
    const t = openTracker(freshPath());
    const id = t.startRun({ name: 'q', experimentType: 'single', config: {}, status: 'queued' });
    expect(t.getRun(id)).toMatchObject({ status: 'queued', startedAt: null });
    t.updateRun(id, { status: 'running', backend: 'cpu' });
    t.updateRun(id, { device: 'x86' });
    expect(t.getRun(id)).toMatchObject({ status: 'running', backend: 'cpu', device: 'x86' });
    expect(t.getRun(id)!.startedAt).not.toBeNull();
    t.close();
  });

  it('listRuns filters by suite name or id, status and type', () => {
    const t = openTracker(freshPath());
    const a = t.createSuite({ name: 'A', config: {} });
    const b = t.createSuite({ name: 'B', config: {} });
    const mk = (suiteId: number, name: string, type: string, status: 'completed' | 'failed'): number => {
      const id = t.startRun({ suiteId, name, experimentType: type, config: { name } });
      t.finishRun(id, { status });
      return id;
    };
    mk(a, 'a1', 'rank', 'completed');
    mk(a, 'a2', 'rank', 'failed');
    mk(b, 'b1', 'module', 'completed');
    const names = (f: Parameters<typeof t.listRuns>[0]): string[] => t.listRuns(f).map((r) => r.name);
    expect(names({})).toEqual(['a1', 'a2', 'b1']);
    expect(names({ suite: 'A' })).toEqual(['a1', 'a2']);
    expect(names({ suite: b })).toEqual(['b1']);
    expect(names({ status: 'completed' })).toEqual(['a1', 'b1']);
    expect(names({ status: ['failed'], suite: 'A' })).toEqual(['a2']);
    expect(names({ experimentType: 'module' })).toEqual(['b1']);
    expect(names({ limit: 2 })).toEqual(['a2', 'b1']);
    t.close();
  });
});

describe('resume support', () => {
  it('findCompletedRun matches the config hash whatever the key order', () => {
    const t = openTracker(freshPath());
    const id = t.startRun({ name: 'r', experimentType: 'rank', config: { a: 1, b: { c: 2, d: 3 } } });
    expect(t.findCompletedRun(hashConfig({ b: { d: 3, c: 2 }, a: 1 }))).toBeNull(); // still running
    t.finishRun(id, { status: 'completed' });
    expect(t.findCompletedRun(hashConfig({ b: { d: 3, c: 2 }, a: 1 }))?.id).toBe(id);
    expect(t.findCompletedRun(hashConfig({ a: 1, b: { c: 2, d: 4 } }))).toBeNull();
    t.close();
  });

  it('marks runs of dead processes and earlier invocations interrupted, not live ones', () => {
    const path = freshPath();
    // A run owned by a process that has exited.
    const child = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        '-e',
        `import { openTracker } from ${JSON.stringify(new URL('../../src/tracking/index.ts', import.meta.url).href)};
         const t = openTracker(${JSON.stringify(path)});
         const s = t.createSuite({ name: 'killed', config: {} });
         t.startRun({ suiteId: s, name: 'dead', experimentType: 'rank', config: { dead: true } });`,
      ],
      { encoding: 'utf8' },
    );
    expect(child.status, child.stderr).toBe(0);

    const earlier = openTracker(path); // an earlier invocation in this same pid
    const old = earlier.startRun({ name: 'earlier', experimentType: 'rank', config: { e: 1 } });
    earlier.close();

    const t = openTracker(path);
    const mine = t.startRun({ name: 'mine', experimentType: 'rank', config: { m: 1 } });
    // A run owned by a live process that is not us (our parent: alive as long as we are).
    const live = t.startRun({ name: 'live', experimentType: 'rank', config: { l: 1 } });
    t.db.prepare(`UPDATE runs SET pid = ?, invocation_id = 'other' WHERE id = ?`).run(process.ppid, live);
    const foreign = t.startRun({ name: 'foreign', experimentType: 'rank', config: { f: 1 } });
    t.db.prepare(`UPDATE runs SET hostname = 'elsewhere', invocation_id = 'other' WHERE id = ?`).run(foreign);

    const dead = t.listRuns().find((r) => r.name === 'dead')!;
    const marked = t.markStaleRunsInterrupted();
    expect(marked.sort()).toEqual([dead.id, old].sort());
    const status = Object.fromEntries(t.listRuns().map((r) => [r.name, r.status]));
    expect(status).toEqual({ dead: 'interrupted', earlier: 'interrupted', mine: 'running', live: 'running', foreign: 'running' });
    expect(t.getRun(dead.id)!.error).toMatch(/ended before/);
    expect(t.listSuites('killed')[0].status).toBe('interrupted');
    expect(t.markStaleRunsInterrupted({ includeOtherHosts: true })).toEqual([foreign]);
    expect(t.getRun(mine)!.status).toBe('running');
    t.close();
  });
});

describe('claimRun', () => {
  it('claims only when no completed run and no live running run has the config hash', () => {
    const t = openTracker(freshPath());
    const params = { name: 'r', experimentType: 'rank', config: { c: 1 } };
    const first = t.claimRun(params);
    expect(first.claimed).toBe(true);
    const id = (first as { runId: number }).runId;
    expect(t.getRun(id)!.status).toBe('running');
    // Our own live running row: a second claim in this process is refused too.
    expect(t.claimRun(params)).toMatchObject({ claimed: false, reason: 'running', run: { id } });

    // A running row whose owner is alive (our parent) blocks; one whose owner is gone does not.
    t.db.prepare(`UPDATE runs SET pid = ?, invocation_id = 'other' WHERE id = ?`).run(process.ppid, id);
    expect(t.claimRun(params)).toMatchObject({ claimed: false, reason: 'running' });
    t.db.prepare(`UPDATE runs SET pid = 2147483646 WHERE id = ?`).run(id);
    const retry = t.claimRun(params);
    expect(retry.claimed).toBe(true);

    t.finishRun((retry as { runId: number }).runId, { status: 'completed' });
    expect(t.claimRun(params)).toMatchObject({ claimed: false, reason: 'completed', run: { id: (retry as { runId: number }).runId } });
    expect(t.claimRun({ ...params, config: { c: 2 } }).claimed).toBe(true);
    t.close();
  });
});

describe('plain sqlite3 can read it', () => {
  it('json_extract works on config_json', () => {
    const path = freshPath();
    const t = openTracker(path);
    t.startRun({ name: 'x', experimentType: 'rank', config: { lora: { rank: 16 } } });
    t.close();
    const raw = new Database(path, { readonly: true });
    expect(raw.prepare(`SELECT json_extract(config_json, '$.lora.rank') AS r FROM runs`).get()).toEqual({ r: 16 });
    raw.close();
  });
});
