import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, expect, test } from 'vitest';
import { runConfigSchema } from '../../src/config/run-config.js';
import { prepareDataset } from '../../src/data/prepare.js';
import { initEngine } from '../../src/engine/backend.js';
import { runSingle } from '../../src/experiments/run-single.js';
import { captureLogger } from '../helpers/capture-logger.js';
import { writeTinyModel } from '../helpers/tiny-models.js';

const root = mkdtempSync(join(tmpdir(), 'positions-'));
const modelDir = join(root, 'model');
const POSITIONS = 40;

beforeAll(async () => {
  await writeTinyModel(modelDir, { modelType: 'gpt2', seed: 4, hiddenSize: 16, numLayers: 1, numHeads: 2, maxPositions: POSITIONS });
});

test('prepare-dataset clips --max-seq-len to the model positions, with a warning; the default silently', async () => {
  const { logger, lines } = captureLogger();
  const s = await prepareDataset({ source: 'builtin:reverse', name: 'explicit', outDir: join(root, 'data'), modelDir, template: 'plain', numSamples: 8, evalSamples: 2, maxSeqLen: 512 }, logger);
  expect(s).toMatchObject({ max_seq_len: POSITIONS, model_max_positions: POSITIONS });
  expect(s.tokens.train.max_length).toBeLessThanOrEqual(POSITIONS);
  expect(lines.filter((l) => l.msg.includes(`max-seq-len 512 is longer than the model's ${POSITIONS} positions`))).toHaveLength(1);
  const quiet = captureLogger();
  const d = await prepareDataset({ source: 'builtin:reverse', name: 'default', outDir: join(root, 'data'), modelDir, template: 'plain', numSamples: 8, evalSamples: 2 }, quiet.logger);
  expect(d.max_seq_len).toBe(POSITIONS);
  expect(quiet.lines.filter((l) => l.level >= 40)).toEqual([]);
});

test('a run whose evaluation generation would overflow the positions completes and saves its adapter', async () => {
  await prepareDataset({ source: 'builtin:reverse', name: 'rev', outDir: join(root, 'data'), modelDir, template: 'plain', numSamples: 12, evalSamples: 4 });
  const engine = await initEngine({ backend: 'cpu' });
  const { logger, lines } = captureLogger();
  const config = runConfigSchema.parse({
    name: 'overflow', model: modelDir, dataset: join(root, 'data', 'rev'), seed: 1,
    lora: { r: 2, lora_alpha: 4, target_modules: ['c_attn'] },
    // max_seq_len defaults to 256, past the 40 positions: clipped.
    training: { max_steps: 2, batch_size: 4, learning_rate: 1e-3 },
    eval: { max_samples: 2, batch_size: 2, max_new_tokens: 32 },
  });
  const rows = readFileSync(join(root, 'data', 'rev', 'eval.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { prompt_length: number });
  const overflowing = rows.slice(0, 2).filter((r) => r.prompt_length + 32 > POSITIONS).length;
  expect(overflowing).toBeGreaterThan(0);
  const out = await runSingle({ config, runtime: { backend: 'cpu', outputDir: join(root, 'out') }, engine, logger });
  expect(out.error).toBeUndefined();
  expect(out.status).toBe('completed');
  expect(existsSync(join(root, 'out', 'adapter', 'adapter_model.safetensors'))).toBe(true);
  const warnings = lines.filter((l) => l.level === 40).map((l) => l.msg);
  expect(warnings.filter((m) => m.startsWith(`training.max_seq_len 256 is longer than the model's ${POSITIONS} positions`))).toHaveLength(1);
  expect(warnings.filter((m) => m.includes('generation: prompt + new tokens must fit'))).toEqual([
    `generation: prompt + new tokens must fit the model's ${POSITIONS} positions: ${overflowing} of 2 prompts were cut from the left`,
  ]);
});
