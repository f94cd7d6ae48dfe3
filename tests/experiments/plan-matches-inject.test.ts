/**
 * The dry-run plan counts trainable parameters from config shapes alone; injectLora creates the
 * real variables. For every run of every bundled suite the two must agree, module list included.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { loadSuite } from '../../src/config/expand-suite.js';
import { planRun } from '../../src/experiments/plan.js';
import { injectLora, removeLora } from '../../src/lora/inject.js';
import { loadModel, type LoadedModel } from '../../src/model/load-model.js';
import { useCpuBackend } from '../helpers/tf-setup.js';

const suites = readdirSync('configs/experiments').filter((f) => f.endsWith('.yaml')).sort();
const models = new Map<string, LoadedModel>();

beforeAll(async () => {
  await useCpuBackend();
});
afterAll(() => {
  for (const m of models.values()) m.model.dispose();
});

test.each(suites)('configs/experiments/%s: the plan\'s trainable count is what injectLora creates, for every run', async (file) => {
  const { suite, runs } = loadSuite(join('configs/experiments', file));
  const seen = new Set<string>();
  for (const run of runs) {
    const key = JSON.stringify([run.config.model, run.config.lora]);
    if (seen.has(key)) continue; // seeds and quantization change neither the modules nor the count
    seen.add(key);
    const row = planRun(run, { prepare: suite.prepare, matmulGflops: 1 });
    expect(row.error, run.name).toBeUndefined();
    let loaded = models.get(run.config.model);
    if (!loaded) {
      loaded = await loadModel(run.config.model);
      models.set(run.config.model, loaded);
    }
    const lora = injectLora(loaded.model, run.config.lora, { seed: run.seed });
    try {
      // Counted from the variables themselves, not from injectLora's own tally.
      const created = lora.variables.reduce((s, v) => s + v.size, 0);
      expect(row.trainable_params, run.name).toBe(created);
      expect(row.modules, run.name).toBe(lora.modules.length);
    } finally {
      removeLora(loaded.model);
    }
  }
  expect(seen.size).toBeGreaterThan(0);
});
