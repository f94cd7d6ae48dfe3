import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { prepareDataset } from '../../src/data/prepare.js';
import { openTracker } from '../../src/tracking/index.js';
import { writeTinyModel } from '../helpers/tiny-models.js';

const root = mkdtempSync(join(tmpdir(), 'interrupt-eval-'));
const model = join(root, 'model');
const db = join(root, 'experiments.db');
afterAll(() => rmSync(root, { recursive: true, force: true }));

beforeAll(async () => {
  await writeTinyModel(model, { modelType: 'llama', seed: 3, maxPositions: 256 });
  await prepareDataset({ source: 'builtin:reverse', name: 'rev', outDir: join(root, 'data'), modelDir: model, template: 'plain', numSamples: 420, evalSamples: 400, maxSeqLen: 64 });
});

/**
 * A real child process gets a real SIGTERM once it logs that evaluation started. Evaluation here
 * is long (400 rows, 96 new tokens each, batches of 2: minutes on the cpu backend), so a run
 * recorded `completed` means the signal was ignored until evaluation finished.
 */
test('SIGTERM during evaluation stops it promptly and records the run interrupted, adapter saved', async () => {
  const cfg = join(root, 'run.yaml');
  writeFileSync(cfg, [
    'name: evalstop', `model: ${model}`, `dataset: ${join(root, 'data', 'rev')}`,
    'lora: { r: 2 }', 'training: { max_steps: 1, batch_size: 2, max_seq_len: 64 }',
    'eval: { max_samples: 400, batch_size: 2, max_new_tokens: 96 }', '',
  ].join('\n'));
  const out = join(root, 'out');
  const child = spawn(process.execPath, ['--import', 'tsx', resolve('src/cli/main.ts'), 'run-single', '--config', cfg, '--backend', 'cpu', '--db', db, '-o', out], {
    env: { ...process.env, LORA_STUDY_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  let signalledAt = 0;
  const exit = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    if (!signalledAt && stderr.includes('"msg":"evaluating"')) {
      signalledAt = performance.now();
      setTimeout(() => child.kill('SIGTERM'), 300); // inside the loss or generation loop
    }
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 200_000);
  const code = await exit;
  clearTimeout(timer);
  expect(signalledAt, stderr).toBeGreaterThan(0);
  const stopSeconds = (performance.now() - signalledAt) / 1000;
  expect(code, stderr).toBe(130);
  expect(stderr).toContain('interrupted during evaluation');
  const t = openTracker(db, { readonly: true });
  const [run] = t.listRuns();
  t.close();
  expect(run.status).toBe('interrupted');
  expect(run.error).toMatch(/interrupted during evaluation/);
  expect(existsSync(join(out, 'adapter', 'adapter_model.safetensors'))).toBe(true);
  // Stopped within a few batches (and no matmul-peak measurement after), not after the whole evaluation (minutes).
  expect(stopSeconds).toBeLessThan(30);
}, 240_000);
