/**
 * The Phi-2 GPU suites (issue 13 item 5) validate, expand to the studies asked for, and plan with
 * --dry-run against Phi-2's real config.json: trainable counts and base bytes by hand.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { loadSuite } from '../../src/config/expand-suite.js';
import { planRun } from '../../src/experiments/plan.js';
import { writeHeaderOnlyWeights } from '../helpers/header-only-weights.js';
import { makeTinyTokenizerJson } from '../helpers/tiny-tokenizer.js';

const model = join(mkdtempSync(join(tmpdir(), 'phi2-plan-')), 'phi-2');

beforeAll(() => {
  // The plan reads config.json and the safetensors header (checked against each other), never
  // the data: a header of Phi-2's tensors over a sparse file stands in for the 5.6 GB of weights.
  mkdirSync(model, { recursive: true });
  writeFileSync(join(model, 'config.json'), readFileSync('tests/fixtures/configs/phi-2.json'));
  writeFileSync(join(model, 'tokenizer.json'), JSON.stringify(makeTinyTokenizerJson()));
  writeHeaderOnlyWeights(model, JSON.parse(readFileSync('tests/fixtures/configs/phi-2.json', 'utf8')), 'F16');
});

/** r · (in + out) per layer for Phi-2's linears (hidden 2560, MLP 10240), × 32 layers. */
const PER_MODULE: Record<string, number> = { q_proj: 5120, k_proj: 5120, v_proj: 5120, dense: 5120, fc1: 12800, fc2: 12800 };
const expected = (r: number, modules: string[]): number => 32 * r * modules.reduce((s, m) => s + PER_MODULE[m], 0);

function plan(file: string) {
  const s = loadSuite(file);
  return s.runs.map((run) => ({ run, row: planRun({ ...run, config: { ...run.config, model } }, { prepare: s.suite.prepare, matmulGflops: 1000 }) }));
}

describe('configs/gpu/phi-2_*.yaml plan on Phi-2', () => {
  test('rank: r = 4 … 64 on q/k/v/dense/fc1/fc2, three seeds', () => {
    const rows = plan('configs/gpu/phi-2_rank.yaml');
    expect([...new Set(rows.map(({ run }) => run.config.lora.r))]).toEqual([4, 8, 16, 32, 64]);
    expect(new Set(rows.map(({ run }) => run.seed))).toEqual(new Set([0, 1, 2]));
    for (const { run, row } of rows) {
      expect(row.error).toBeUndefined();
      expect(row.trainable_params).toBe(expected(run.config.lora.r, Object.keys(PER_MODULE)));
      expect(row.base_weight_bytes).toBe(2_779_683_840 * 4);
    }
  });

  test('module: combinations of q, k, v, dense, fc1, fc2 at r = 16', () => {
    for (const { run, row } of plan('configs/gpu/phi-2_module.yaml')) {
      expect(row.error).toBeUndefined();
      expect(row.trainable_params).toBe(expected(16, run.config.lora.target_modules as string[]));
    }
  });

  test('quantization: fp32, nf4, nf4-dq; 4-bit bases hold the block linears in ~0.14× the bytes', () => {
    const rows = plan('configs/gpu/phi-2_quantization.yaml');
    expect([...new Set(rows.map(({ run }) => run.config.quantization))]).toEqual(['fp32', 'nf4', 'nf4-dq']);
    const bytes = Object.fromEntries(rows.map(({ run, row }) => [run.config.quantization, row.base_weight_bytes!]));
    const linear = 32 * (4 * 2560 * 2560 + 2 * 2560 * 10240); // block linear weights: the quantized part
    expect(bytes.fp32 - bytes.nf4).toBeCloseTo(linear * 4 - linear * 0.5 - (linear / 64) * 4, -3); // 4 bits + an fp32 absmax per 64
    expect(bytes['nf4-dq']).toBeLessThan(bytes.nf4);
    for (const { row } of rows) expect(row.trainable_params).toBe(expected(16, Object.keys(PER_MODULE)));
  });
});
