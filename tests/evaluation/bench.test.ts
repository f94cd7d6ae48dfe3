import { expect, test } from 'vitest';
import { formatBench } from '../../src/cli/bench.js';
import { BENCH_SHAPES } from '../../src/evaluation/bench-shapes.js';
import { runCli } from '../helpers/run-cli.js';

test('the fixed shapes: a tiny llama and GPT-2 small with LoRA r=8 on c_attn', () => {
  expect(BENCH_SHAPES.map((s) => s.name)).toEqual(['tiny-llama', 'gpt2-124m']);
  expect(BENCH_SHAPES[1].config).toMatchObject({ model_type: 'gpt2', vocab_size: 50257, n_layer: 12, n_embd: 768 });
  expect(BENCH_SHAPES[1]).toMatchObject({ seqLen: 128, lora: { r: 8, targetModules: ['c_attn'] } });
});

test('bench --quick --json: one document with every figure of the tiny shape; the table shows them', async () => {
  const r = runCli(['bench', '--quick', '--steps', '3', '--backend', 'cpu', '--json']);
  expect(r.code, r.stderr).toBe(0);
  const doc = JSON.parse(r.stdout);
  expect(Object.keys(doc).sort()).toEqual(['cores', 'engine', 'loadAverage', 'matmul', 'peakRssBytes', 'shapes', 'wallTimeS']);
  expect(doc.engine.backend).toBe('cpu');
  expect(doc.matmul.gflops).toBeGreaterThan(0);
  expect(doc.shapes).toHaveLength(1);
  const s = doc.shapes[0];
  expect(s).toMatchObject({ name: 'tiny-llama', modelType: 'llama', steps: 3, timedSteps: 1, batchSize: 4, seqLen: 64 });
  // 2 layers × (q: 8·(64+64) + v: 8·(64+32))
  expect(s.trainableParams).toBe(2 * (8 * 128 + 8 * 96));
  expect(s.loraWeightBytes).toBe(4 * s.trainableParams);
  expect(s.optimizerBytes).toBe(2 * s.loraWeightBytes); // Adam's two moments
  expect(s.baseWeightBytes).toBe(4 * s.params);
  for (const k of ['trainTokensPerS', 'samplesPerS', 'msPerStep', 'msFwdBwd', 'achievedGflops', 'matmulRatio', 'genTokensPerS', 'peakTfjsBytes']) {
    expect(s[k], k).toBeGreaterThan(0);
  }
  expect(s.msPerStep).toBeCloseTo(s.msFwdBwd + s.msOptimizer, 6);
  expect(s.trainTokensPerS).toBeCloseTo((4 * 64 * 1000) / s.msPerStep, 6);
  expect(s.achievedGflops).toBeCloseTo((s.trainFlopsPerToken * s.trainTokensPerS) / 1e9, 6);
  expect(s.matmulRatio).toBeCloseTo(s.achievedGflops / doc.matmul.gflops, 6);
  expect(s.lastLoss).toBeGreaterThan(Math.log(512) - 1); // random weights: about ln(vocab)

  const table = formatBench(doc);
  expect(table).toMatch(/^tiny-llama\s+140k\s+4×64\s/m);
  expect(table).toContain('plain matmul 512×512×512');
});
