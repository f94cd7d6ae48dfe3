// One engine start, for scripts/stress-engine-start.ts: prints the engine it got and exits.
//   npx tsx scripts/engine-start-once.ts [--backend wasm] [--threads 2]
import { parseArgs } from 'node:util';
import { initEngine } from '../src/engine/backend.js';
import type { BackendRequest } from '../src/engine/types.js';

const { values } = parseArgs({
  options: { backend: { type: 'string', default: 'wasm' }, threads: { type: 'string', default: '2' } },
});
const info = await initEngine({ backend: values.backend as BackendRequest, threads: Number(values.threads) });
process.stdout.write(`${JSON.stringify({ backend: info.backend, threads: info.threads, device: info.device })}\n`);
