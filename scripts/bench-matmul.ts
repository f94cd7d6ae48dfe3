// Plain matmul throughput of one backend, the reference for utilisation figures.
//   npx tsx scripts/bench-matmul.ts --backend wasm [--threads 2] [--iters 10] [--json]
import os from 'node:os';
import { parseArgs } from 'node:util';
import { initEngine } from '../src/engine/backend.js';
import { measureMatmulGflops, type MatmulShape } from '../src/engine/matmul-peak.js';
import type { BackendRequest } from '../src/engine/types.js';

// Square shapes, then GPT-2-small projections at 512 tokens (d=768, MLP 3072) and a rank-8 LoRA factor.
const SHAPES: (MatmulShape & { label: string })[] = [
  { label: 'square 256', m: 256, k: 256, n: 256 },
  { label: 'square 512', m: 512, k: 512, n: 512 },
  { label: 'square 1024', m: 1024, k: 1024, n: 1024 },
  { label: 'attn proj 512x768x768', m: 512, k: 768, n: 768 },
  { label: 'mlp up 512x768x3072', m: 512, k: 768, n: 3072 },
  { label: 'mlp down 512x3072x768', m: 512, k: 3072, n: 768 },
  { label: 'lora A 512x768x8', m: 512, k: 768, n: 8 },
];

const { values } = parseArgs({
  options: {
    backend: { type: 'string', default: 'wasm' },
    threads: { type: 'string' },
    iters: { type: 'string', default: '10' },
    json: { type: 'boolean', default: false },
  },
});

const info = await initEngine({
  backend: values.backend as BackendRequest,
  threads: values.threads === undefined ? undefined : Number(values.threads),
});
const iters = Number(values.iters);
const rows = [];
for (const s of SHAPES) rows.push({ label: s.label, ...(await measureMatmulGflops({ ...s, iters, warmup: 3 })) });

if (values.json) {
  process.stdout.write(`${JSON.stringify({ engine: info, loadavg: os.loadavg(), rows }, null, 2)}\n`);
} else {
  process.stdout.write(`${info.backend} on ${info.device}; load average ${os.loadavg()[0].toFixed(2)} on ${os.availableParallelism()} cores\n`);
  process.stdout.write(`${'shape'.padEnd(24)}${'median ms'.padStart(11)}${'min ms'.padStart(9)}${'GFLOP/s'.padStart(9)}\n`);
  for (const r of rows) {
    process.stdout.write(
      `${r.label.padEnd(24)}${r.medianMs.toFixed(2).padStart(11)}${r.minMs.toFixed(2).padStart(9)}${r.gflops.toFixed(1).padStart(9)}\n`,
    );
  }
}
