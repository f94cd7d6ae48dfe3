// LoRA methods benchmark: what each method costs on the bundled model at equal rank — adapter
// init time (PiSSA/OLoRA decompose every targeted weight on the host), trainable parameters, and
// ms per training step (median and IQR over the timed steps, methods interleaved in rounds; the
// first round is warm-up).
//   npx tsx scripts/bench-methods.ts [--backend wasm] [--threads 2] [--model models/tiny-llama] [--steps 3] [--rounds 5] [--r 8] [--json]
import { parseArgs } from 'node:util';
import { initEngine } from '../src/engine/backend.js';
import type { BackendRequest } from '../src/engine/types.js';
import { injectLora } from '../src/lora/inject.js';
import { loraConfigSchema } from '../src/lora/lora-config.js';
import { loadModel } from '../src/model/load-model.js';
import { loraPlusLrScales } from '../src/training/loraplus.js';
import { train } from '../src/training/trainer.js';
import { Rng } from '../src/util/random.js';

const { values } = parseArgs({
  options: {
    backend: { type: 'string', default: 'wasm' },
    threads: { type: 'string' },
    model: { type: 'string', default: 'models/tiny-llama' },
    steps: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '5' },
    r: { type: 'string', default: '8' },
    json: { type: 'boolean', default: false },
  },
});
const engine = await initEngine({ backend: values.backend as BackendRequest, threads: values.threads === undefined ? undefined : Number(values.threads) });
const r = Number(values.r);
const METHODS: Array<{ name: string; lora: Record<string, unknown>; ratio?: number }> = [
  { name: 'LoRA', lora: {} },
  { name: 'rsLoRA', lora: { use_rslora: true } },
  { name: 'DoRA', lora: { use_dora: true } },
  { name: 'LoRA+ (16)', lora: {}, ratio: 16 },
  { name: 'PiSSA', lora: { init_lora_weights: 'pissa' } },
  { name: 'PiSSA niter 4', lora: { init_lora_weights: 'pissa_niter_4' } },
  { name: 'OLoRA', lora: { init_lora_weights: 'olora' } },
];
const rng = new Rng(1);
const rounds = Number(values.rounds);
const steps = Number(values.steps);
// Every method's model stays loaded; rounds interleave the methods so that a machine whose load
// drifts (other jobs) slows all of them alike instead of whichever ran last.
const setups = [];
for (const m of METHODS) {
  const loaded = await loadModel(values.model!);
  const cfg = loraConfigSchema.parse({ r, lora_alpha: 2 * r, target_modules: 'all-linear', ...m.lora });
  const t0 = performance.now();
  const lora = injectLora(loaded.model, cfg, { seed: 0 });
  setups.push({ m, loaded, lora, initMs: performance.now() - t0, times: [] as number[] });
}
const vocab = setups[0].loaded.model.config.vocabSize;
const examples = Array.from({ length: 64 }, () => {
  const ids = Array.from({ length: 48 }, () => Math.floor(rng.uniform(0, vocab)));
  return { input_ids: ids, labels: ids.map((t, i) => (i < 8 ? -100 : t)) };
});
for (let round = 0; round < rounds; round++) {
  for (const s of setups) {
    const res = await train({
      model: s.loaded.model, variables: s.lora.variables, lrScales: loraPlusLrScales(s.lora.kinds, s.m.ratio), examples, padId: 0,
      config: { maxSteps: steps, learningRate: 1e-3, microBatchSize: 8, gradientAccumulationSteps: 1, maxSeqLen: 48, warmupSteps: 0, scheduler: 'constant', weightDecay: 0, maxGradNorm: 1, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, seed: round },
    });
    // Round 0 compiles kernels and warms caches: not timed.
    if (round > 0) s.times.push(...res.steps.map((x) => x.msFwdBwd + x.msOptimizer));
  }
}
const rows = setups.map((s) => {
  const ms = [...s.times].sort((a, b) => a - b);
  const q = (p: number) => ms[Math.min(ms.length - 1, Math.floor(p * (ms.length - 1) + 0.5))];
  s.loaded.model.dispose();
  return { method: s.m.name, trainable_params: s.lora.trainableParams, init_ms: Math.round(s.initMs), steps_timed: ms.length, ms_per_step_median: Math.round(q(0.5)), ms_per_step_q1: Math.round(q(0.25)), ms_per_step_q3: Math.round(q(0.75)) };
});
if (values.json) process.stdout.write(`${JSON.stringify({ engine: { backend: engine.backend, device: engine.device }, model: values.model, r, rows }, null, 2)}\n`);
else {
  process.stdout.write(`${engine.backend} on ${engine.device}; ${values.model}, r=${r}, all-linear, batch 8 × 48 tokens, ${rounds - 1} timed rounds × ${steps} steps\n`);
  process.stdout.write('| method | trainable params | init ms | ms/step median (IQR) |\n| --- | --- | --- | --- |\n');
  for (const x of rows) process.stdout.write(`| ${x.method} | ${x.trainable_params} | ${x.init_ms} | ${x.ms_per_step_median} (${x.ms_per_step_q1}–${x.ms_per_step_q3}) |\n`);
}
