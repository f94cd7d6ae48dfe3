// In-process A/B of the engine shortcuts (src/engine/tape-shortcuts.ts: saved-tensor clones and no-op
// Reshape/Cast/Identity without the kernel path) on whole LoRA training steps of a bench shape: kernel
// calls per step, then stock and shortcut steps interleaved round by round (the machine is shared:
// load average printed). --compare lean sets the shortcuts alone against the shortcuts with the lean
// kernel path and gradients (src/engine/lean-run-kernel.ts, lean-gradients.ts), and adds the main
// thread's CPU time (the engine's share; paired per round).
//   npx tsx scripts/bench-tape-shortcuts.ts [--shape tiny-llama|gpt2-124m] [--rounds 8] [--steps 12] [--native-matmul on|off] [--compare stock|lean]
import os from 'node:os';
import { parseArgs } from 'node:util';
import { initEngine } from '../src/engine/backend.js';
import type { NativeMatmulMode } from '../src/engine/native-matmul.js';
import { installTapeShortcuts, setTapeShortcutParts, uninstallTapeShortcuts } from '../src/engine/tape-shortcuts.js';
import { kernelCallsPerStep } from './lib/kernel-calls.js';
import { median } from './lib/interleaved-calls.js';
import { trainingStepTimer } from './lib/training-step-timer.js';

const { values } = parseArgs({
  options: {
    shape: { type: 'string', default: 'tiny-llama' },
    rounds: { type: 'string', default: '8' },
    steps: { type: 'string', default: '12' },
    'native-matmul': { type: 'string', default: 'on' },
    compare: { type: 'string', default: 'stock' },
  },
});
const engine = await initEngine({ backend: 'wasm', threads: 2, nativeMatmul: values['native-matmul'] as NativeMatmulMode });
console.log(`${engine.device}; load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} on ${os.availableParallelism()} cores`);

const lean = values.compare === 'lean';
if (!lean && values.compare !== 'stock') throw new Error(`--compare: stock or lean, not ${values.compare}`);
// Arm names stay "stock" (the baseline) and "shortcuts" (the patch measured).
const modes = lean
  ? {
      stock: () => (installTapeShortcuts('wasm'), setTapeShortcutParts({ leanKernels: false, leanGradients: false })),
      shortcuts: () => (installTapeShortcuts('wasm'), setTapeShortcutParts({ leanKernels: true, leanGradients: true })),
    }
  : {
      stock: () => (setTapeShortcutParts({ leanKernels: true, leanGradients: true }), uninstallTapeShortcuts()),
      shortcuts: () => installTapeShortcuts('wasm'),
    };
if (lean) console.log('baseline: the shortcuts alone; measured: with the lean kernel path and gradients');
const steps = Number(values.steps);
const { run } = trainingStepTimer(values.shape, steps);

const perStep: Record<string, number> = {};
for (const [name, on] of Object.entries(modes)) {
  on();
  perStep[name] = await kernelCallsPerStep(values.shape, steps);
}
console.log(`kernel calls per step: stock ${perStep.stock.toFixed(0)} | shortcuts ${perStep.shortcuts.toFixed(0)}`);

const wall: Record<string, number[]> = { stock: [], shortcuts: [] };
const cpu: Record<string, number[]> = { stock: [], shortcuts: [] };
const mainCpu: Record<string, number[]> = { stock: [], shortcuts: [] };
for (const on of Object.values(modes)) {
  on();
  await run(); // warm-up
}
for (let round = 0; round < Number(values.rounds); round++) {
  const order = round % 2 ? (['shortcuts', 'stock'] as const) : (['stock', 'shortcuts'] as const);
  for (const name of order) {
    modes[name]();
    const t = await run();
    wall[name].push(...t.wall);
    cpu[name].push(t.cpuPerStep);
    if (t.mainThreadCpuPerStep !== null) mainCpu[name].push(t.mainThreadCpuPerStep);
  }
}
installTapeShortcuts('wasm');
setTapeShortcutParts({ leanKernels: true, leanGradients: true });
const ms = (xs: number[]) => `median ${median(xs).toFixed(2)} ms (min ${Math.min(...xs).toFixed(2)}, n=${xs.length})`;
console.log(`${values.shape} training step, ${values.rounds} interleaved rounds: stock ${ms(wall.stock)} | shortcuts ${ms(wall.shortcuts)} | ${(median(wall.stock) / median(wall.shortcuts)).toFixed(3)}×`);
console.log(`CPU time per step (all threads, whole runs incl. warm-up): stock ${ms(cpu.stock)} | shortcuts ${ms(cpu.shortcuts)} | ${(median(cpu.stock) / median(cpu.shortcuts)).toFixed(3)}×`);
if (mainCpu.stock.length === mainCpu.shortcuts.length && mainCpu.stock.length > 0) {
  const diffs = mainCpu.shortcuts.map((m, i) => m - mainCpu.stock[i]);
  console.log(`main-thread CPU per step: stock ${ms(mainCpu.stock)} | shortcuts ${ms(mainCpu.shortcuts)} | paired difference median ${median(diffs).toFixed(3)} ms`);
}
console.log(`load average after: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
