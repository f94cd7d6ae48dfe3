import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, expect, test } from 'vitest';
import { runConfigSchema } from '../../src/config/run-config.js';
import { prepareDataset } from '../../src/data/prepare.js';
import { initEngine } from '../../src/engine/backend.js';
import { evaluateModel } from '../../src/evaluation/evaluate-model.js';
import { runSingle } from '../../src/experiments/run-single.js';
import { openSqliteStore } from '../../src/tracking/index.js';
import { silentLogger } from '../../src/util/logger.js';
import { writeTinyModel } from '../helpers/tiny-models.js';

const root = mkdtempSync(join(tmpdir(), 'run-single-'));
const modelDir = join(root, 'model');

beforeAll(async () => {
  await writeTinyModel(modelDir, { modelType: 'llama', seed: 3, maxPositions: 256 });
  await prepareDataset({ source: 'builtin:reverse', name: 'rev', outDir: join(root, 'data'), modelDir, template: 'plain', numSamples: 60, evalSamples: 8, maxSeqLen: 96 });
});

test('run-single trains, evaluates, writes a PEFT adapter and run.json, and records the run', async () => {
  const engine = await initEngine({ backend: 'cpu' });
  const store = openSqliteStore(join(root, 'exp.db'));
  const config = runConfigSchema.parse({
    name: 'tiny', model: modelDir, dataset: join(root, 'data', 'rev'), seed: 1,
    lora: { r: 4, lora_alpha: 8, target_modules: ['q_proj', 'v_proj'] },
    training: { max_steps: 4, batch_size: 4, learning_rate: 1e-3, max_seq_len: 96 },
    eval: { max_samples: 8, batch_size: 8, max_new_tokens: 4 },
  });
  const out = await runSingle({ config, runtime: { backend: 'cpu', outputDir: join(root, 'out') }, engine, logger: silentLogger, store });
  expect(out.error).toBeUndefined();
  expect(out.status).toBe('completed');
  const s = out.summary!;
  // 2 layers × (q: 4·(32+32) + v: 4·(32+16))
  expect(s.trainable_params).toBe(2 * (4 * 64 + 4 * 48));
  // The run's metrics are what evaluate-model (its own code path, checked against the HF loss
  // definition in evaluate-model.test.ts) gives for the adapter the run saved.
  const again = await evaluateModel({ model: modelDir, dataset: join(root, 'data', 'rev'), adapter: join(root, 'out', 'adapter'), maxSamples: 8, batchSize: 8, maxNewTokens: 4 });
  expect(s.eval_loss).toBeCloseTo(again.metrics.eval_loss, 4);
  expect(s.perplexity).toBeCloseTo(Math.exp(again.metrics.eval_loss), 2);
  expect(s.exact_match).toBe(again.metrics.exact_match);
  expect(s.rouge_l).toBeCloseTo(again.metrics.rouge_l!, 6);
  // Four steps at lr 1e-3 barely move a random model: its loss stays near ln(vocab).
  expect(Math.abs(s.train_loss_final - s.train_loss_first)).toBeLessThan(1);
  expect(existsSync(join(root, 'out', 'adapter', 'adapter_model.safetensors'))).toBe(true);
  const cfg = JSON.parse(readFileSync(join(root, 'out', 'adapter', 'adapter_config.json'), 'utf8'));
  expect(cfg).toMatchObject({ peft_type: 'LORA', r: 4, lora_alpha: 8, task_type: 'CAUSAL_LM', target_modules: ['q_proj', 'v_proj'] });
  const runJson = JSON.parse(readFileSync(join(root, 'out', 'run.json'), 'utf8'));
  expect(runJson.losses).toHaveLength(4);
  expect(runJson.backend).toBe('cpu');
  const run = await store.getRun(out.runId!);
  expect(run?.status).toBe('completed');
  expect(run?.steps).toHaveLength(4);
  // The machine's load while it trained (sampled at every step), so the report can tell whether
  // step times of different runs were measured under comparable load.
  expect(run?.metrics.cpu_count).toEqual({ value: availableParallelism(), unit: 'cores' });
  expect(runJson.summary.cpu_count).toBe(availableParallelism());
  if (process.platform !== 'win32') {
    expect(run?.metrics.load_avg_1m.value).toBeGreaterThanOrEqual(0);
    expect(run?.metrics.load_avg_1m_max.value).toBeGreaterThanOrEqual(run!.metrics.load_avg_1m.value);
    expect(runJson.summary.load_avg_1m).toBe(run?.metrics.load_avg_1m.value);
  }
  await store.close();
});
