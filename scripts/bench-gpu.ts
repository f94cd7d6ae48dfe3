// GPU benchmark (issue 11): plain matmul GFLOP/s (1024³, 4096³), then LoRA training tokens/s and
// peak GPU memory at the GPT-2-small shape (batch 8×512) and the Qwen2.5-0.5B shape (batch 4×512,
// r=16, all linear layers, fp32 and nf4 base), then a short rank study (r = 4, 16, 64) on both
// shapes. Random weights: speed and memory do not depend on them. Writes one JSON document.
//   npx tsx scripts/bench-gpu.ts [--backend webgpu] [--doctor] [--small] [--ranks 4,16,64] [--steps 4] [--matmul-only] [--only NAME-PART] [--out DIR] [--json]
// --small: 2 layers, batch 1×64, matmul 1024³ only (a CPU rasteriser such as llvmpipe; the
// vocabulary stays full size, so the split output head is measured too).
// scripts/device-check.sh bundles this file and runs it on a GPU machine with --doctor.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { initEngine } from '../src/engine/backend.js';
import { runDoctor } from '../src/engine/doctor.js';
import { formatDoctorReport } from '../src/engine/doctor-format.js';
import { measureMatmulGflops, type MatmulPeak } from '../src/engine/matmul-peak.js';
import { queryGpus } from '../src/engine/nvidia-smi.js';
import type { BackendRequest } from '../src/engine/types.js';
import { adapterLabel } from '../src/engine/webgpu-adapters.js';
import { benchShape, type BenchShapeResult } from '../src/evaluation/bench.js';
import { GPT2_SMALL, type BenchShape } from '../src/evaluation/bench-shapes.js';
import type { QuantFormat } from '../src/lora/quantize/types.js';
import { createLogger } from '../src/util/logger.js';

/** Qwen2.5-0.5B (HF `Qwen/Qwen2.5-0.5B` config.json): 494M parameters, tied head, vocab 151936. */
const QWEN25_05B = {
  architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2', hidden_size: 896, intermediate_size: 4864,
  num_hidden_layers: 24, num_attention_heads: 14, num_key_value_heads: 2, max_position_embeddings: 32768,
  vocab_size: 151936, rms_norm_eps: 1e-6, rope_theta: 1000000, tie_word_embeddings: true,
  bos_token_id: 151643, eos_token_id: 151643, hidden_act: 'silu', sliding_window: 32768, use_sliding_window: false,
};
const GPT2_LINEAR = ['c_attn', 'c_proj', 'c_fc'];
const QWEN_LINEAR = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'];

const { values } = parseArgs({
  options: {
    backend: { type: 'string', default: 'webgpu' },
    doctor: { type: 'boolean', default: false },
    small: { type: 'boolean', default: false },
    steps: { type: 'string', default: '4' },
    ranks: { type: 'string', default: '4,16,64' },
    out: { type: 'string' },
    json: { type: 'boolean', default: false },
    'matmul-only': { type: 'boolean', default: false },
    only: { type: 'string' },
  },
});
const small = values.small;
const steps = Number(values.steps);
const ranks = values.ranks.split(',').map(Number);
const logger = createLogger({ level: 'warn' });
const outDir = values.out ?? null;

function writeJson(name: string, doc: unknown): void {
  if (!outDir) return;
  mkdirSync(outDir, { recursive: true });
  const file = path.join(outDir, name);
  writeFileSync(`${file}.tmp`, `${JSON.stringify(doc, null, 2)}\n`);
  renameSync(`${file}.tmp`, file);
}
const say = (line: string) => process.stderr.write(`${line}\n`);

function shape(name: string, config: Record<string, unknown>, targets: string[], batch: number, r: number, quantization: QuantFormat = 'fp32'): BenchShape {
  const layers = small ? { ...(config.model_type === 'gpt2' ? { n_layer: 2 } : { num_hidden_layers: 2 }) } : {};
  return {
    name: `${name}${quantization === 'fp32' ? '' : `-${quantization}`}-r${r}${small ? '-2layers' : ''}`,
    config: { ...config, ...layers },
    lora: { r, alpha: 2 * r, targetModules: targets },
    batchSize: small ? 1 : batch,
    seqLen: small ? 64 : 512,
    steps,
    generation: { batchSize: 1, promptLen: 16, newTokens: small ? 4 : 16 },
    quantization,
  };
}

// 1. What the machine offers (and, when the GPU is not usable, exactly why).
if (values.doctor) {
  const report = await runDoctor({ logger });
  writeJson('doctor.json', report);
  say(formatDoctorReport(report));
  const hardware = report.webgpu.adapters.filter((a) => !a.software);
  if (values.backend === 'webgpu' && hardware.length === 0) {
    const why = [
      `no hardware WebGPU adapter: Dawn offers ${report.webgpu.adapters.length ? report.webgpu.adapters.map(adapterLabel).join(', ') : 'no adapter at all'}`,
      ...report.webgpu.requirements.filter((q) => !q.ok).map((q) => `${q.name}: ${q.detail}${q.fix ? ` — fix: ${q.fix}` : ''}`),
      ...(report.webgpu.dawn.ok ? [] : [`webgpu package: ${report.webgpu.dawn.reason}`]),
    ];
    writeJson('no-adapter.json', { gpus: report.gpus, why });
    say(`\nGPU check stopped: ${why.join('\n  ')}`);
    process.exit(3);
  }
}

// 2. The backend and its plain matmul rate.
const engine = await initEngine({ backend: values.backend as BackendRequest, logger });
say(`engine: ${engine.backend} on ${engine.device}`);
const matmul: MatmulPeak[] = [];
for (const n of small ? [1024] : [1024, 4096]) {
  const m = await measureMatmulGflops({ m: n, k: n, n, iters: small ? 3 : 10, warmup: 2 });
  matmul.push(m);
  say(`matmul ${n}³: ${m.gflops.toFixed(1)} GFLOP/s (median ${m.medianMs.toFixed(1)} ms)`);
}
const peak = Math.max(...matmul.map((m) => m.gflops));
const header = { engine, machine: { cpus: os.cpus()[0]?.model, cores: os.availableParallelism(), gpus: queryGpus() }, small, matmul };
writeJson('matmul.json', header);

if (values['matmul-only']) process.exit(0);

// 3. LoRA training at the issue's shapes, then the rank study; each result is written as it lands.
const shapes = [
  shape('gpt2-small', GPT2_SMALL, GPT2_LINEAR, 8, 16),
  shape('qwen2.5-0.5b', QWEN25_05B, QWEN_LINEAR, 4, 16),
  shape('qwen2.5-0.5b', QWEN25_05B, QWEN_LINEAR, 4, 16, 'nf4'),
];
const rankShapes = ranks.flatMap((r) => [shape('gpt2-small', GPT2_SMALL, GPT2_LINEAR, 8, r), shape('qwen2.5-0.5b', QWEN25_05B, QWEN_LINEAR, 4, r)]);
const results: Array<BenchShapeResult | { name: string; error: string }> = [];
const done = new Map<string, BenchShapeResult>();
const all = [...shapes, ...rankShapes.filter((s) => !shapes.some((t) => t.name === s.name))];
for (const s of all.filter((x) => !values.only || x.name.includes(values.only))) {
  try {
    const r = await benchShape(s, peak, { steps, logger });
    results.push(r);
    done.set(s.name, r);
    say(`${s.name}: ${r.trainTokensPerS.toFixed(0)} tok/s, ${r.msPerStep.toFixed(0)} ms/step, GPU pool ${((r.gpuPoolBytes ?? 0) / 2 ** 20).toFixed(0)} MiB, ${(100 * r.matmulRatio).toFixed(1)}% of matmul`);
  } catch (err) {
    results.push({ name: s.name, error: (err as Error).message });
    say(`${s.name}: failed: ${(err as Error).message}`);
  }
  writeJson('lora.json', { ...header, results });
}
const fp32 = done.get(shapes[1].name);
const nf4 = done.get(shapes[2].name);
const summary = {
  ...header,
  results,
  nf4_over_fp32_base_bytes: fp32 && nf4 ? nf4.baseWeightBytes / fp32.baseWeightBytes : null,
  nf4_over_fp32_gpu_pool_bytes: fp32?.gpuPoolBytes && nf4?.gpuPoolBytes ? nf4.gpuPoolBytes / fp32.gpuPoolBytes : null,
};
writeJson('summary.json', summary);
if (values.json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
