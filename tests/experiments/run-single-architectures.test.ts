/**
 * Issue 13: run-single trains, evaluates and merges a random-weight phi, phi3 and gemma folder
 * offline; the merged folder is a plain model of the same class that reproduces base + adapter.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runConfigSchema } from '../../src/config/run-config.js';
import { prepareDataset } from '../../src/data/prepare.js';
import { initEngine } from '../../src/engine/backend.js';
import { runSingle } from '../../src/experiments/run-single.js';
import { mergeAndExport } from '../../src/lora/merge-export.js';
import { loadAdapter } from '../../src/lora/peft-adapter.js';
import { loadModel } from '../../src/model/load-model.js';
import { openSqliteStore, type RunStore } from '../../src/tracking/index.js';
import { silentLogger } from '../../src/util/logger.js';
import { writeTinyModel, type TinyModelType } from '../helpers/tiny-models.js';

const root = mkdtempSync(join(tmpdir(), 'run-single-arch-'));
const dataset = join(root, 'data', 'rev');
let store: RunStore;

beforeAll(async () => {
  await writeTinyModel(join(root, 'phi'), { modelType: 'phi', seed: 3, maxPositions: 128 });
  // Every tiny model shares the tiny tokenizer, so one prepared dataset serves all three.
  await prepareDataset({ source: 'builtin:reverse', name: 'rev', outDir: join(root, 'data'), modelDir: join(root, 'phi'), template: 'plain', numSamples: 24, evalSamples: 4, maxSeqLen: 64 });
  store = openSqliteStore(join(root, 'exp.db'));
});
afterAll(async () => store.close());

const ids = [[5, 17, 99, 3, 42], [7, 7, 1, 64, 200]];
const logitsOf = (model: Awaited<ReturnType<typeof loadModel>>['model']): Float32Array =>
  tf.tidy(() => model.forward({ inputIds: tf.tensor2d(ids, [2, 5], 'int32') }).logits.dataSync() as Float32Array);

/** r = 4 on 2 layers, hidden 32, 4 heads of 8 (gemma: of 16), 2 KV heads, MLP 64. */
const CASES: Array<{ modelType: TinyModelType; cls: string; targets?: string[]; trainable: number }> = [
  // PEFT's phi default q_proj, v_proj, fc1, fc2: 4·(32+32) + 4·(32+16) + 4·(32+64) + 4·(64+32)
  { modelType: 'phi', cls: 'PhiForCausalLM', trainable: 2 * (256 + 192 + 384 + 384) },
  // qkv_proj: 32 → 32 + 16 + 16
  { modelType: 'phi3', cls: 'Phi3ForCausalLM', targets: ['qkv_proj'], trainable: 2 * 4 * (32 + 64) },
  // q_proj 32 → 64, v_proj 32 → 32
  { modelType: 'gemma', cls: 'GemmaForCausalLM', trainable: 2 * (4 * (32 + 64) + 4 * (32 + 32)) },
];

describe.each(CASES)('$modelType', ({ modelType, cls, targets, trainable }) => {
  test('run-single trains and evaluates; merge exports a folder that reproduces base + adapter', async () => {
    const modelDir = join(root, modelType);
    if (modelType !== 'phi') await writeTinyModel(modelDir, { modelType, seed: 3, maxPositions: 128 });
    const engine = await initEngine({ backend: 'cpu' });
    const config = runConfigSchema.parse({
      name: `tiny-${modelType}`, model: modelDir, dataset, seed: 1,
      lora: { r: 4, lora_alpha: 8, ...(targets ? { target_modules: targets } : {}) },
      training: { max_steps: 3, batch_size: 4, learning_rate: 5e-3, max_seq_len: 64 },
      eval: { max_samples: 4, batch_size: 4, max_new_tokens: 2 },
    });
    const outDir = join(root, `out-${modelType}`);
    const out = await runSingle({ config, runtime: { backend: 'cpu', outputDir: outDir }, engine, logger: silentLogger, store });
    expect(out.error).toBeUndefined();
    expect(out.status).toBe('completed');
    expect(out.summary!.trainable_params).toBe(trainable);
    expect(Number.isFinite(out.summary!.eval_loss)).toBe(true);
    const losses = JSON.parse(readFileSync(join(outDir, 'run.json'), 'utf8')).losses as number[];
    expect(losses).toHaveLength(3);
    expect(losses.every(Number.isFinite)).toBe(true);

    const adapterDir = join(outDir, 'adapter');
    const base = await loadModel(modelDir);
    await loadAdapter(adapterDir, base.model);
    const adapted = logitsOf(base.model);
    base.model.dispose();
    const mergedDir = join(root, `merged-${modelType}`);
    await mergeAndExport({ modelDir, adapterDir, outDir: mergedDir });
    expect(JSON.parse(readFileSync(join(mergedDir, 'config.json'), 'utf8'))).toMatchObject({ model_type: modelType, architectures: [cls] });
    const merged = await loadModel(mergedDir);
    const mergedLogits = logitsOf(merged.model);
    expect(Math.max(...adapted.map((x, i) => Math.abs(x - mergedLogits[i])))).toBeLessThan(1e-4);
    // The adapter is not a no-op: training moved B away from zero.
    const plain = await loadModel(modelDir);
    const baseLogits = logitsOf(plain.model);
    expect(Math.max(...adapted.map((x, i) => Math.abs(x - baseLogits[i])))).toBeGreaterThan(1e-4);
    plain.model.dispose();
    merged.model.dispose();
  });
});
