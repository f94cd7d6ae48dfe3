import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { beforeAll, describe, expect, test } from 'vitest';
import { ConfigError } from '../../src/config/config-errors.js';
import { expandSuite } from '../../src/config/expand-suite.js';
import { initEngine } from '../../src/engine/backend.js';
import { planRun } from '../../src/experiments/plan.js';
import { runSuite } from '../../src/experiments/suite-runner.js';
import { openSqliteStore, openTracker } from '../../src/tracking/index.js';
import { silentLogger } from '../../src/util/logger.js';
import { writeTinyModel } from '../helpers/tiny-models.js';

const root = mkdtempSync(join(tmpdir(), 'suite-'));
const modelDir = join(root, 'model');
const dataset = join(root, 'data', 'rev');

const base = (over: Record<string, unknown> = {}) => ({
  model: modelDir,
  dataset,
  lora: { lora_alpha: 8, target_modules: ['q_proj', 'v_proj'] },
  training: { max_steps: 3, batch_size: 4, learning_rate: 1e-3, max_seq_len: 64 },
  eval: { max_samples: 4, batch_size: 4, max_new_tokens: 2 },
  ...over,
});
const prepare = { source: 'builtin:reverse', template: 'plain', num_samples: 40, eval_samples: 4, max_seq_len: 64 };

function writeSuite(name: string, doc: Record<string, unknown>): string {
  const file = join(root, `${name}.yaml`);
  writeFileSync(file, stringify({ name, ...doc }));
  return file;
}

beforeAll(async () => {
  await writeTinyModel(modelDir, { modelType: 'llama', seed: 5, maxPositions: 128 });
});

describe('suite expansion', () => {
  test('a grid times seeds gives one fully resolved run per combination', () => {
    const s = expandSuite({ name: 'ranks', type: 'rank', base: base(), sweep: { rank: [1, 4], quantization: ['fp32', 'nf4'] }, seeds: [0, 1] }, 'x.yaml');
    expect(s.runs.map((r) => r.name)).toEqual([
      'ranks-r1-fp32-s0', 'ranks-r1-nf4-s0', 'ranks-r4-fp32-s0', 'ranks-r4-nf4-s0',
      'ranks-r1-fp32-s1', 'ranks-r1-nf4-s1', 'ranks-r4-fp32-s1', 'ranks-r4-nf4-s1',
    ]);
    expect(s.runs[6].config.lora.r).toBe(4);
    expect(s.runs[6].config.seed).toBe(1);
    expect(s.runs[6].config.training.lr_scheduler).toBe('cosine'); // defaults filled in
  });

  test('explicit variants keep their names', () => {
    const s = expandSuite({ name: 'mods', type: 'module', base: base(), variants: [{ name: 'q', target_modules: ['q_proj'] }, { name: 'all', target_modules: 'all-linear' }] }, 'x.yaml');
    expect(s.runs.map((r) => r.name)).toEqual(['mods-q-s42', 'mods-all-s42']);
    expect(s.runs[1].config.lora.target_modules).toBe('all-linear');
  });

  test('an invalid sweep value is reported with the sweep path', () => {
    try {
      expandSuite({ name: 'bad', type: 'rank', base: base(), sweep: { rank: [1, 2, 0] } }, 'bad.yaml');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toContain('bad.yaml');
      expect((err as Error).message).toContain('sweep.rank[2]');
    }
  });

  test('unknown keys are errors, at the top level and inside the base config', () => {
    expect(() => expandSuite({ name: 'x', type: 'rank', base: base(), sweeps: {} }, 'f.yaml')).toThrow(/unknown key "sweeps"/);
    expect(() => expandSuite({ name: 'x', type: 'rank', base: base({ trainig: {} }), sweep: { rank: [1] } }, 'f.yaml')).toThrow(/base.*unknown key "trainig"/s);
  });
});

describe('dry-run plan', () => {
  test('trainable params and base bytes per run, and an invalid run flagged', () => {
    const s = expandSuite({ name: 'p', type: 'quantization', base: base(), sweep: { quantization: ['fp32', 'nf4'] } }, 'p.yaml');
    const [fp32, nf4] = s.runs.map((r) => planRun(r, { prepare, matmulGflops: 10 }));
    expect(fp32.ok).toBe(true);
    expect(fp32.trainable_params).toBe(2 * (8 * 64 + 8 * 48)); // r=8 default, q: 32→32, v: 32→16
    expect(nf4.base_weight_bytes!).toBeLessThan(fp32.base_weight_bytes!);
    expect(fp32.est_time_s!).toBeGreaterThan(0);
    const bad = expandSuite({ name: 'b', type: 'module', base: base(), variants: [{ target_modules: ['nope'] }] }, 'b.yaml');
    const row = planRun(bad.runs[0], { prepare, matmulGflops: 10 });
    expect(row.ok).toBe(false);
    expect(row.error).toMatch(/nope/);
  });

  test('DoRA runs are estimated with the per-pass weight norm on top of the adapters', () => {
    const plain = planRun(expandSuite({ name: 'd', type: 'rank', base: base(), sweep: { rank: [8] } }, 'd.yaml').runs[0], { prepare, matmulGflops: 10 });
    const dora = planRun(
      expandSuite({ name: 'd', type: 'rank', base: base({ lora: { lora_alpha: 8, target_modules: ['q_proj', 'v_proj'], use_dora: true } }), sweep: { rank: [8] } }, 'd.yaml').runs[0],
      { prepare, matmulGflops: 10 },
    );
    expect(dora.ok && plain.ok).toBe(true);
    expect(dora.est_train_tokens).toBe(plain.est_train_tokens);
    // Same tokens, more FLOPs per token: B·A for q (32×32) and v (16×32) at r=8 per pass, 2 layers.
    expect(dora.est_time_s!).toBeGreaterThan(plain.est_time_s!);
  });
});

describe('running suites', () => {
  test('a run that fails is recorded and the others complete', async () => {
    const file = writeSuite('mixed', {
      type: 'module', base: base(), prepare,
      variants: [{ name: 'q', target_modules: ['q_proj'] }, { name: 'broken', target_modules: ['no_such_module'] }, { name: 'v', target_modules: ['v_proj'] }],
    });
    const engine = await initEngine({ backend: 'cpu' });
    const store = openSqliteStore(join(root, 'mixed.db'));
    const tracker = store.tracker;
    const out = await runSuite({ file, store, engine, logger: silentLogger, runtime: { backend: 'cpu', outputRoot: join(root, 'results') } });
    expect(out.completed).toBe(2);
    expect(out.failed).toBe(1);
    const runs = tracker.listRuns({});
    expect(runs.map((r) => r.status).sort()).toEqual(['completed', 'completed', 'failed']);
    expect(runs.find((r) => r.status === 'failed')?.error).toMatch(/no_such_module/);
    // The study's varied path and value are recorded generically, beside the convenience copies.
    expect(runs.map((r) => [r.experimentType, r.variant, r.variedPath, r.variedValue])).toEqual([
      ['module', 'q', 'lora.target_modules', ['q_proj']],
      ['module', 'broken', 'lora.target_modules', ['no_such_module']],
      ['module', 'v', 'lora.target_modules', ['v_proj']],
    ]);
    tracker.close();
  });

  test('a suite killed with SIGKILL mid-run resumes: completed runs kept once, the killed run redone', async () => {
    const db = join(root, 'kill.db');
    const file = writeSuite('killme', {
      type: 'rank', prepare, seeds: [0],
      base: base({ training: { max_steps: 60, batch_size: 2, learning_rate: 1e-3, max_seq_len: 64 } }),
      variants: [{ name: 'fast', 'training.max_steps': 2 }, { name: 'slow' }, { name: 'after', 'training.max_steps': 2 }],
    });
    const cli = resolve('src/cli/main.ts');
    const child = spawn(process.execPath, ['--import', 'tsx', cli, 'run-suite', file, '--backend', 'cpu', '--db', db, '-o', join(root, 'kill-results')], { stdio: 'ignore' });
    // Wait until the slow run is running, then kill the process without a chance to clean up.
    const deadline = Date.now() + 90_000;
    for (;;) {
      await new Promise((r) => setTimeout(r, 300));
      const t = openTracker(db);
      const slow = t.listRuns({}).find((r) => r.name === 'killme-slow-s0');
      const steps = slow ? (t.getRun(slow.id)?.steps.length ?? 0) : 0;
      t.close();
      if (slow?.status === 'running' || steps > 0) break;
      if (Date.now() > deadline) throw new Error('the slow run never started');
    }
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));

    // Resume with a shorter slow run? No: the same config must be redone as it was. Make it quick
    // by resuming only the part after the kill; the slow run's config is unchanged.
    const engine = await initEngine({ backend: 'cpu' });
    const store = openSqliteStore(db);
    const tracker = store.tracker;
    const out = await runSuite({ file, store, engine, logger: silentLogger, resume: true, runtime: { backend: 'cpu', outputRoot: join(root, 'kill-results') } });
    expect(out.skipped).toBe(1); // "fast" completed before the kill
    expect(out.completed).toBe(2); // "slow" redone, "after" run for the first time
    const runs = tracker.listRuns({});
    const byName = (n: string) => runs.filter((r) => r.name === n).map((r) => r.status).sort();
    expect(byName('killme-fast-s0')).toEqual(['completed']);
    expect(byName('killme-slow-s0')).toEqual(['completed', 'interrupted']);
    expect(byName('killme-after-s0')).toEqual(['completed']);
    tracker.close();
  }, 300_000);
});
