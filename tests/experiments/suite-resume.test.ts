import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { initEngine } from '../../src/engine/backend.js';
import { loadSuite } from '../../src/config/expand-suite.js';
import type { PrepareSpec } from '../../src/config/suite-config.js';
import { ensureDatasets, runSuite } from '../../src/experiments/suite-runner.js';
import { openSqliteStore, openTracker, SqliteRunStore, type FinishRunParams, type RunStatus } from '../../src/tracking/index.js';
import { silentLogger } from '../../src/util/logger.js';
import { writeTinyModel } from '../helpers/tiny-models.js';

const root = mkdtempSync(join(tmpdir(), 'suite-resume-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const modelDir = join(root, 'model');
const dataset = join(root, 'data', 'rev');
const prepare = { source: 'builtin:reverse', template: 'plain', num_samples: 40, eval_samples: 4, max_seq_len: 64 };

function writeSuite(name: string, ranks: number[], steps: number): string {
  const file = join(root, `${name}.yaml`);
  writeFileSync(
    file,
    stringify({
      name, type: 'rank', prepare, seeds: [0], sweep: { rank: ranks },
      base: {
        model: modelDir, dataset,
        lora: { lora_alpha: 8, target_modules: ['q_proj', 'v_proj'] },
        training: { max_steps: steps, batch_size: 2, learning_rate: 1e-3, max_seq_len: 64 },
        eval: { max_samples: 2, batch_size: 2, max_new_tokens: 1, generate: false },
      },
    }),
  );
  return file;
}

function runCliAsync(args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['--import', 'tsx', resolve('src/cli/main.ts'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', fail);
    child.on('close', (code) => done({ code, out }));
  });
}

beforeAll(async () => {
  await writeTinyModel(modelDir, { modelType: 'llama', seed: 5, maxPositions: 128 });
});

describe('concurrent run-suite --resume (issue 10 item 8)', () => {
  test('two processes on one database split the suite: every run completed exactly once', async () => {
    const db = join(root, 'split.db');
    const file = writeSuite('split', [1, 2, 3, 4], 15);
    // The dataset exists before both start, so neither prepares it under the other's feet.
    await ensureDatasets(loadSuite(file).runs, prepare as PrepareSpec, silentLogger);

    const args = ['run-suite', file, '--resume', '--backend', 'cpu', '--db', db, '-o', join(root, 'split-results'), '--json'];
    const [a, b] = await Promise.all([runCliAsync(args), runCliAsync(args)]);
    expect(a.code, a.out).toBe(0);
    expect(b.code, b.out).toBe(0);

    const t = openTracker(db, { mustExist: true });
    const runs = t.listRuns({});
    t.close();
    const completed = runs.filter((r) => r.status === 'completed');
    expect(completed).toHaveLength(4);
    expect(new Set(completed.map((r) => r.configHash)).size).toBe(4);
    expect(runs.filter((r) => r.status !== 'completed')).toEqual([]);
    // Both processes ran some of it: the work was split, not done twice or by one alone.
    expect(new Set(completed.map((r) => r.pid)).size).toBe(2);
  }, 300_000);
});

/** A store whose writes of a failed run's end fail, as under a lock held by another client. */
class FailingFinishStore extends SqliteRunStore {
  override async finishRun(runId: number, p: FinishRunParams): Promise<RunStatus> {
    if (p.status === 'failed') throw new Error('database is locked');
    return super.finishRun(runId, p);
  }
}

describe('suite status (issue 10 item 9)', () => {
  test('an error that escapes the loop marks the suite failed, not completed', async () => {
    const file = writeSuite('escape', [1, 2], 2);
    const engine = await initEngine({ backend: 'cpu' });
    const store = openSqliteStore(join(root, 'escape.db'));
    await expect(
      runSuite({
        file, store, engine, logger: silentLogger, runtime: { backend: 'cpu', outputRoot: join(root, 'escape') },
        onRunEnd: () => {
          throw new Error('progress display broke');
        },
      }),
    ).rejects.toThrow(/progress display broke/);
    expect((await store.listSuites('escape')).map((s) => s.status)).toEqual(['failed']);
    await store.close();
  }, 120_000);

  test("a tracker write failure in a run's cleanup neither escapes nor vanishes", async () => {
    const file = join(root, 'cleanup.yaml');
    writeFileSync(
      file,
      stringify({
        name: 'cleanup', type: 'module', prepare, seeds: [0],
        base: {
          model: modelDir, dataset,
          lora: { lora_alpha: 8 },
          training: { max_steps: 2, batch_size: 2, learning_rate: 1e-3, max_seq_len: 64 },
          eval: { max_samples: 2, batch_size: 2, max_new_tokens: 1, generate: false },
        },
        variants: [{ name: 'broken', target_modules: ['no_such_module'] }, { name: 'q', target_modules: ['q_proj'] }],
      }),
    );
    const engine = await initEngine({ backend: 'cpu' });
    const path = join(root, 'cleanup.db');
    const store = new FailingFinishStore(openTracker(path));
    const out = await runSuite({ file, store, engine, logger: silentLogger, runtime: { backend: 'cpu', outputRoot: join(root, 'cleanup') } });
    const broken = out.runs.find((r) => r.name === 'cleanup-broken-s0')!;
    expect(broken.status).toBe('failed');
    expect(broken.status !== 'skipped' && broken.trackerError).toBe('database is locked');
    expect(broken.status !== 'skipped' && broken.error).toMatch(/no_such_module.*tracker could not record it: database is locked/s);
    // The rest of the suite still ran, and the suite says it did not go cleanly.
    expect(out.completed).toBe(1);
    expect((await store.listSuites('cleanup')).map((s) => s.status)).toEqual(['failed']);
    await store.close();
  }, 120_000);
});
