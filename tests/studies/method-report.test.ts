import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { generateReport } from '../../src/reporting/index.js';
import { variedOf } from '../../src/studies/config-path.js';
import { methodStudy } from '../../src/studies/method.js';
import { openTracker } from '../../src/tracking/index.js';

const dir = mkdtempSync(join(tmpdir(), 'method-report-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('a method study is reported from its definition: section, chart, findings against plain LoRA', async () => {
  const db = join(dir, 'e.db');
  const t = openTracker(db);
  const suite = t.createSuite({ name: 'method_sweep', config: {} });
  // rsLoRA clearly better and slower; DoRA within the seed spread of LoRA.
  const methods = [
    { label: 'LoRA', lora: {}, em: [0.40, 0.44, 0.48], ms: 40 },
    { label: 'rsLoRA', lora: { use_rslora: true }, em: [0.60, 0.62, 0.65], ms: 80 },
    { label: 'DoRA', lora: { use_dora: true }, em: [0.42, 0.47, 0.50], ms: 41 },
  ];
  for (const m of methods) {
    m.em.forEach((em, seed) => {
      const config = { lora: { r: 8, ...m.lora }, training: {}, seed };
      const id = t.startRun({ suiteId: suite, name: `${m.label}-s${seed}`, experimentType: 'method', config, seed, variant: m.label, ...variedOf(config, methodStudy.varies) });
      t.logSteps(id, Array.from({ length: 20 }, (_, step) => ({ step, loss: 1, extra: { ms_fwd_bwd: m.ms + (step % 5), ms_optimizer: 1 } })));
      t.recordMetrics(id, { exact_match: em, eval_loss: 1 - em / 2, trainable_params: 1000, load_avg_1m: 1.5 + seed / 10, cpu_count: 4 });
      t.finishRun(id, { status: 'completed', wallTimeS: 1 });
    });
  }
  t.finishSuite(suite, 'completed');
  expect(t.listRuns()[3].variedValue).toEqual({ 'lora.use_rslora': true, 'lora.use_dora': null, 'lora.init_lora_weights': null, 'training.loraplus_lr_ratio': null });
  t.close();

  const report = await generateReport({ dbPath: db, outDir: join(dir, 'out'), now: new Date(0) });
  expect(report.charts).toContain('method_quality');
  const md = readFileSync(report.markdownPath, 'utf8');
  expect(md).toContain('## LoRA method study');
  expect(md).toMatch(/\| setting \| seeds \|.*\n.*\n\| LoRA \| 3 \|.*\n\| rsLoRA \| 3 \|.*\n\| DoRA \| 3 \|/);
  // Timing claims use the spread across runs and within them, under the recorded machine load.
  expect(md).toContain(
    "**rsLoRA** against plain LoRA: exact match better than **LoRA** beyond the seed spread; 1.93× slower per step than **LoRA**, beyond the spread across and within runs (83 against 43 ms/step; run medians 83 against 43; IQR 82–84 against 42–44; the runs' load average 1.5–1.7 on 4 cores); trainable parameters 100.0% of LoRA's.",
  );
  expect(md).toContain("**DoRA** against plain LoRA: exact match within the seed spread of **LoRA** (within noise); time per step within the timing spread of **LoRA**'s (44 against 43 ms/step");
  expect(md).toMatch(/\| setting \| seeds \|.*\| step ms: median \(IQR\) \| step ms: runs min–max \| load avg \| wall time \|/);
  expect(md).toMatch(/\| rsLoRA \| 3 \|.*\| 83 \(82–84\) \| 83 \| 1\.5–1\.7 \|/);
}, 60_000);
