import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { loadSuite } from '../../src/config/expand-suite.js';
import { planRun } from '../../src/experiments/plan.js';

const dirs = ['configs/experiments', 'configs/gpu'];
const files = dirs.flatMap((d) => readdirSync(d).filter((f) => f.endsWith('.yaml')).map((f) => join(d, f)));

describe.each(files)('%s', (file) => {
  test('validates and expands', () => {
    const s = loadSuite(file);
    expect(s.runs.length).toBeGreaterThan(0);
  });
});

test('the offline suites plan cleanly on the bundled model', () => {
  for (const f of readdirSync('configs/experiments').filter((x) => x.endsWith('.yaml'))) {
    const s = loadSuite(join('configs/experiments', f));
    for (const r of s.runs) {
      const row = planRun(r, { prepare: s.suite.prepare, matmulGflops: 10 });
      expect(row.error, `${f} ${r.name}`).toBeUndefined();
    }
  }
});

test('the bundled suites are the ones the issue asks for', () => {
  const rank = loadSuite('configs/experiments/rank_sweep.yaml');
  expect([...new Set(rank.runs.map((r) => r.config.lora.r))]).toEqual([2, 8, 16, 32]);
  expect([...new Set(rank.runs.map((r) => r.config.lora.lora_alpha))]).toEqual([4, 16, 32, 64]); // derived: 2r
  const q = loadSuite('configs/experiments/quantization_sweep.yaml');
  expect([...new Set(q.runs.map((r) => r.config.quantization))]).toEqual(['fp32', 'int8', 'nf4', 'nf4-dq', 'fp4']);
  const m = loadSuite('configs/experiments/module_sweep.yaml');
  expect([...new Set(m.runs.map((r) => r.variant))]).toEqual(['q', 'v', 'q+v', 'q+k+v+o', 'mlp', 'all-linear']);
});

test('every bundled study runs at least three seeds, so its findings can be checked against the seed spread', () => {
  for (const f of readdirSync('configs/experiments').filter((x) => x.endsWith('.yaml'))) {
    const s = loadSuite(join('configs/experiments', f));
    if (s.suite.type === 'single') continue; // the smoke run: one end-to-end check, no comparison
    expect(s.suite.seeds.length, f).toBeGreaterThanOrEqual(3);
  }
});
