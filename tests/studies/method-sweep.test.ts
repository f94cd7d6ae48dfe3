import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, expect, test } from 'vitest';
import { initEngine } from '../../src/engine/backend.js';
import { runSuite } from '../../src/experiments/suite-runner.js';
import { generateReport } from '../../src/reporting/index.js';
import { openSqliteStore } from '../../src/tracking/index.js';
import { silentLogger } from '../../src/util/logger.js';
import { writeTinyModel } from '../helpers/tiny-models.js';

const root = mkdtempSync(join(tmpdir(), 'method-sweep-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

test('the bundled method sweep\'s five methods each train, are labelled and recorded, and reach the report', async () => {
  // The bundled suite's own variants, on a tiny model and a few steps.
  const bundled = parse(readFileSync('configs/experiments/method_sweep.yaml', 'utf8')) as { variants: object[] };
  const modelDir = join(root, 'model');
  await writeTinyModel(modelDir, { modelType: 'llama', seed: 5, maxPositions: 128 });
  const file = join(root, 'methods.yaml');
  writeFileSync(
    file,
    stringify({
      name: 'methods', type: 'method', variants: bundled.variants, seeds: [0],
      base: {
        model: modelDir, dataset: join(root, 'data', 'rev'),
        lora: { r: 4, lora_alpha: 8, target_modules: ['q_proj', 'v_proj'] },
        training: { max_steps: 2, batch_size: 4, learning_rate: 1e-3, max_seq_len: 64 },
        eval: { max_samples: 4, batch_size: 4, max_new_tokens: 2 },
      },
      prepare: { source: 'builtin:reverse', template: 'plain', num_samples: 40, eval_samples: 4, max_seq_len: 64 },
    }),
  );
  const engine = await initEngine({ backend: 'cpu' });
  const db = join(root, 'e.db');
  const store = openSqliteStore(db);
  const out = await runSuite({ file, store, engine, logger: silentLogger, runtime: { backend: 'cpu', outputRoot: join(root, 'results') } });
  expect(out.runs.map((r) => ('error' in r ? r.error : r.status))).toEqual(['completed', 'completed', 'completed', 'completed', 'completed']);
  const runs = store.tracker.listRuns({});
  expect(runs.map((r) => r.variant)).toEqual(['LoRA', 'rsLoRA', 'DoRA', 'LoRA+', 'PiSSA']);
  expect(runs[2].variedPath).toBe('lora.use_rslora,lora.use_dora,lora.init_lora_weights,training.loraplus_lr_ratio');
  expect(runs[4].variedValue).toMatchObject({ 'lora.init_lora_weights': 'pissa' });
  store.tracker.close();
  const report = await generateReport({ dbPath: db, outDir: join(root, 'report'), now: new Date(0) });
  expect(report.charts).toContain('method_quality');
  // One seed: the report ranks nothing.
  expect(report.findings.join('\n')).toMatch(/LoRA method study, .* one seed per setting: .*no setting is called better/);
}, 400_000); // ~20 s on a quiet machine; minutes when the machine is shared
