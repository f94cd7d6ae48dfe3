import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, test, vi } from 'vitest';
import { prepareDataset } from '../../src/data/prepare.js';
import { readPreparedDataset } from '../../src/data/read-prepared.js';
import { evaluateModel } from '../../src/evaluation/evaluate-model.js';
import { lossStatsFromLogits } from '../../src/evaluation/metrics-loss-reference.js';
import { exactMatch } from '../../src/evaluation/metrics-exact-match.js';
import { rougeL } from '../../src/evaluation/rouge.js';
import { injectLora } from '../../src/lora/inject.js';
import { loraConfigSchema } from '../../src/lora/lora-config.js';
import { loadAdapter, saveAdapter } from '../../src/lora/peft-adapter.js';
import { loadModel } from '../../src/model/load-model.js';
import { openTracker } from '../../src/tracking/index.js';
import { Rng } from '../../src/util/random.js';
import { useCpuBackend } from '../helpers/tf-setup.js';
import { runInProcess } from '../helpers/cli-in-process.js';
import { runCli } from '../helpers/run-cli.js';
import { writeTinyModel } from '../helpers/tiny-models.js';

const root = mkdtempSync(join(tmpdir(), 'evaluate-model-'));
const modelDir = join(root, 'model');
const dataDir = join(root, 'data', 'rev');
const adapterDir = join(root, 'adapter');
const EVAL_ROWS = 6;

beforeAll(async () => {
  await useCpuBackend();
  await writeTinyModel(modelDir, { modelType: 'llama', seed: 5, maxPositions: 128 });
  await prepareDataset({ source: 'builtin:reverse', name: 'rev', outDir: join(root, 'data'), modelDir, template: 'plain', numSamples: 16, evalSamples: EVAL_ROWS, maxSeqLen: 64 });
  // An adapter that looks trained: B drawn at random instead of PEFT's zeros, so it moves the logits.
  const { model } = await loadModel(modelDir);
  const lora = injectLora(model, loraConfigSchema.parse({ r: 4, lora_alpha: 8, target_modules: ['q_proj', 'v_proj'] }), { seed: 1 });
  const rng = new Rng(7);
  for (const name of lora.modules) {
    const B = model.linears.get(name)!.lora!.B;
    B.assign(tf.tensor(Array.from({ length: B.size }, () => 0.5 * rng.normal()), B.shape));
  }
  await saveAdapter(adapterDir, model, lora, { baseModel: modelDir });
  model.dispose();
});

/** The HF loss, row by row without padding, through the float64 host reference. */
async function referenceLoss(adapter: string | null): Promise<number> {
  const { model } = await loadModel(modelDir);
  if (adapter) await loadAdapter(adapter, model);
  let sum = 0;
  let tokens = 0;
  for (const row of readPreparedDataset(dataDir).eval) {
    const T = row.input_ids.length;
    const logits = tf.tidy(() => model.forward({ inputIds: tf.tensor2d([row.input_ids], [1, T], 'int32') }).logits.dataSync() as Float32Array);
    const s = lossStatsFromLogits({ logits, labels: row.labels, batchSize: 1, seqLen: T, vocabSize: logits.length / T });
    sum += s.sumLoss;
    tokens += s.tokens;
  }
  model.dispose();
  return sum / tokens;
}

describe('evaluateModel', () => {
  test('base and base + adapter: each loss equals the HF definition; the adapter changes it', async () => {
    const before = tf.memory().numTensors;
    const base = await evaluateModel({ model: modelDir, dataset: dataDir, batchSize: 4, maxNewTokens: 4, samples: 2 });
    const adapted = await evaluateModel({ model: modelDir, dataset: dataDir, adapter: adapterDir, batchSize: 4, maxNewTokens: 4 });
    expect(tf.memory().numTensors).toBe(before);
    expect(base.metrics.eval_samples).toBe(EVAL_ROWS);
    expect(base.metrics.eval_loss).toBeCloseTo(await referenceLoss(null), 4);
    expect(adapted.metrics.eval_loss).toBeCloseTo(await referenceLoss(adapterDir), 4);
    expect(Math.abs(adapted.metrics.eval_loss - base.metrics.eval_loss)).toBeGreaterThan(1e-3);
    expect(base.metrics.perplexity).toBeCloseTo(Math.exp(base.metrics.eval_loss), 6);
    expect(base.metrics.gen_tokens_per_s).toBeGreaterThan(0);
    expect(base.samples).toHaveLength(2);
    expect(base.samples[0].reference).toBe(readPreparedDataset(dataDir).eval[0].response.trim());
    // The corpus scores are the means over every row's generation: recomputed here from all rows.
    const all = await evaluateModel({ model: modelDir, dataset: dataDir, adapter: adapterDir, batchSize: 4, maxNewTokens: 4, samples: EVAL_ROWS });
    expect(all.samples.map((x) => x.reference)).toEqual(readPreparedDataset(dataDir).eval.map((r) => r.response.trim()));
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(all.metrics.exact_match_strict).toBe(mean(all.samples.map((x) => (x.prediction.trim() === x.reference.trim() ? 1 : 0))));
    expect(all.metrics.exact_match).toBe(mean(all.samples.map((x) => exactMatch(x.prediction, x.reference))));
    expect(all.metrics.rouge_l).toBeCloseTo(mean(all.samples.map((x) => rougeL(x.prediction, x.reference).f1)), 10);
    expect(all.metrics.eval_loss).toBe(adapted.metrics.eval_loss);
    const lossOnly = await evaluateModel({ model: modelDir, dataset: dataDir, maxSamples: 2, generate: false });
    expect(lossOnly.generation).toBeNull();
    expect(lossOnly.metrics.exact_match).toBeUndefined();
    expect(lossOnly.samples).toEqual([]);
  });
});

describe('lora-study evaluate-model', () => {
  test('--run finds the adapter in the tracker, records evaluate_* metrics; --json is one document', async () => {
    const db = join(root, 'exp.db');
    const tracker = openTracker(db);
    const runId = tracker.startRun({ name: 'r4', experimentType: 'single', config: { r: 4 }, model: modelDir, dataset: dataDir, quantization: 'fp32', status: 'running' });
    tracker.addArtifact(runId, 'adapter', adapterDir);
    tracker.recordMetrics(runId, { eval_loss: 123 });
    tracker.close();

    const r = await runCli(['evaluate-model', '--run', String(runId), '--db', db, '--max-samples', '4', '--max-new-tokens', '3', '--backend', 'cpu', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(Object.keys(doc).sort()).toEqual(['adapter', 'dataset', 'engine', 'generation', 'metrics', 'model', 'quantization', 'recorded', 'run', 'samples', 'wallTimeS']);
    expect(doc).toMatchObject({ adapter: adapterDir, model: modelDir, run: runId, quantization: 'fp32', generation: { maxNewTokens: 3, temperature: 0, topP: 1 }, engine: { backend: 'cpu' } });
    expect(Object.keys(doc.metrics).sort()).toEqual(['eval_loss', 'eval_samples', 'eval_tokens', 'exact_match', 'exact_match_strict', 'gen_tokens_per_s', 'perplexity', 'rouge_l', 'token_accuracy']);
    expect(doc.metrics.eval_samples).toBe(4);

    const metrics = openTracker(db).getMetrics(runId);
    expect(metrics.evaluate_eval_loss.value).toBeCloseTo(doc.metrics.eval_loss, 10);
    expect(metrics.evaluate_eval_loss.unit).toBe('nats');
    expect(metrics.evaluate_rouge_l.value).toBeCloseTo(doc.metrics.rouge_l, 10);
    // The training run's own figure is kept.
    expect(metrics.eval_loss.value).toBe(123);
  });

  test('table output with --samples; a clear error for an unknown run', async () => {
    const r = await runCli(['evaluate-model', '--model', modelDir, '--dataset', dataDir, '--adapter', adapterDir, '--max-samples', '2', '--max-new-tokens', '2', '--samples', '1', '--backend', 'cpu']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/eval loss \(nats\)\s+\d+\.\d{4}/);
    expect(r.stdout).toContain('── sample 1 ──');
    expect(r.stdout).toMatch(/reference: {2}\S/);

    const e = await runCli(['evaluate-model', '--run', '999', '--db', join(root, 'exp.db'), '--json']);
    expect(e.code).toBe(1);
    expect(e.stderr).toMatch(/error during evaluate-model: run 999: no such run/);
    expect(JSON.parse(e.stdout).error.command).toBe('evaluate-model');
  });

  test('Ctrl-C during evaluation exits 130, as the other commands do, with one JSON error document', async () => {
    // The command's own SIGINT handler is called as soon as it is installed (a real signal would
    // race the evaluation); evaluation sees the flag at its first check, after the first batch.
    const on = process.on.bind(process);
    const spy = vi.spyOn(process, 'on').mockImplementation(((event: string, listener: (...a: unknown[]) => void) => {
      if (event === 'SIGINT') setImmediate(() => listener('SIGINT'));
      return on(event, listener);
    }) as typeof process.on);
    let r: Awaited<ReturnType<typeof runInProcess>>;
    try {
      r = await runInProcess(['evaluate-model', '--model', modelDir, '--dataset', dataDir, '--max-samples', '3', '--batch-size', '1', '--no-generate', '--backend', 'cpu', '--json']);
    } finally {
      spy.mockRestore();
    }
    expect(r.code, r.stderr).toBe(130);
    expect(r.stderr).toMatch(/SIGINT: stopping evaluation/);
    expect(r.stderr).toMatch(/error during evaluate-model: interrupted during evaluation \(loss, after 1 of 3 rows\)/);
    expect(JSON.parse(r.stdout).error).toMatchObject({ command: 'evaluate-model', type: 'EvaluationInterruptedError' });
    expect(process.listenerCount('SIGINT')).toBe(0);
  });
});
