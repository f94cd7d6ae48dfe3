import os from 'node:os';
import type { GpuInfo } from './nvidia-smi.js';
import { queryGpus } from './nvidia-smi.js';
import type { BackendName } from './types.js';

/**
 * tfjs-backend-wasm 4.22 is a wasm32 build whose heap may grow to 4 GiB − 64 KiB (its
 * `getHeapMax()`); every tensor of the process lives in it.
 */
export const WASM_MAX_HEAP_BYTES = 4294901760;

/** The most memory a backend can give a run here, and what that limit is. */
export interface MemoryLimit {
  bytes: number;
  /** e.g. `wasm's 4 GiB linear memory`, `the machine's 16.0 GiB of RAM`, `NVIDIA H200's 141 GiB`. */
  what: string;
}

const gib = (b: number) => `${(b / 2 ** 30).toFixed(1)} GiB`;

/**
 * wasm: its 4 GiB heap or the machine's RAM, whichever is less; cpu: RAM; tensorflow and webgpu:
 * the first NVIDIA GPU's memory when nvidia-smi reports one, else RAM (device memory unknown).
 */
export function memoryLimit(
  backend: BackendName,
  facts: { totalRam?: number; gpus?: GpuInfo[] | null } = {},
): MemoryLimit {
  const ram = facts.totalRam ?? os.totalmem();
  const ramLimit = { bytes: ram, what: `the machine's ${gib(ram)} of RAM` };
  if (backend === 'wasm') {
    return WASM_MAX_HEAP_BYTES < ram ? { bytes: WASM_MAX_HEAP_BYTES, what: "wasm's 4 GiB linear memory" } : ramLimit;
  }
  if (backend === 'cpu') return ramLimit;
  const gpus = facts.gpus === undefined ? queryGpus() : facts.gpus;
  const gpu = gpus?.[0];
  if (gpu && gpu.memoryTotalMiB > 0) {
    const bytes = gpu.memoryTotalMiB * 2 ** 20;
    return { bytes, what: `${gpu.name}'s ${gib(bytes)}` };
  }
  return { bytes: ram, what: `the machine's ${gib(ram)} of RAM (device memory unknown)` };
}
