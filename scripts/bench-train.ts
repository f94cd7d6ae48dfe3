// LoRA training benchmark (issue 2): tiny llama and GPT-2 small (124M, random weights), train
// tokens/s, ms per step, peak tfjs bytes, achieved GFLOP/s against the same backend's matmul rate.
// The same library function as `lora-study bench`.
//   npx tsx scripts/bench-train.ts --backend wasm [--threads 2] [--quick] [--steps 4] [--json]
import { parseArgs } from 'node:util';
import { formatBench } from '../src/cli/bench.js';
import { initEngine } from '../src/engine/backend.js';
import type { BackendRequest } from '../src/engine/types.js';
import { runBench } from '../src/evaluation/bench.js';
import { BENCH_SHAPES } from '../src/evaluation/bench-shapes.js';
import { createLogger } from '../src/util/logger.js';

const { values } = parseArgs({
  options: {
    backend: { type: 'string', default: 'wasm' },
    threads: { type: 'string' },
    steps: { type: 'string' },
    quick: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
});

const logger = createLogger();
const engine = await initEngine({
  backend: values.backend as BackendRequest,
  threads: values.threads === undefined ? undefined : Number(values.threads),
  logger,
});
const report = await runBench({
  engine,
  shapes: values.quick ? BENCH_SHAPES.slice(0, 1) : BENCH_SHAPES,
  steps: values.steps === undefined ? undefined : Number(values.steps),
  logger,
});
process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatBench(report)}\n`);
