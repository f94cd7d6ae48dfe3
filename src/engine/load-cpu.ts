import * as tf from '@tensorflow/tfjs-core';
import os from 'node:os';
import type { BackendLoad } from './load-result.js';
import { backendInstance } from './tf-registry.js';
import { installTapeShortcuts } from './tape-shortcuts.js';
import { checkMatmul } from './verify-backend.js';

export function cpuModel(): string {
  return os.cpus()[0]?.model.trim() || `${os.arch()} CPU`;
}

/** The plain-JavaScript backend: always present, single-threaded, the slowest. */
export async function loadCpu(): Promise<BackendLoad> {
  await import('@tensorflow/tfjs-backend-cpu');
  if (!(await tf.setBackend('cpu'))) return { ok: false, reason: 'tf.setBackend("cpu") returned false' };
  // Its first tensor write prints a banner recommending tfjs-node; `doctor` already gives that
  // advice with reasons, so the banner is switched off (a field of MathBackendCPU in 4.x).
  const backend = backendInstance<{ firstUse?: boolean }>('cpu');
  if (backend) backend.firstUse = false;
  // Saved-tensor clones and no-op Reshape/Cast without the kernel path (cpu's kernels share buffers).
  installTapeShortcuts('cpu');
  const bad = await checkMatmul();
  if (bad) return { ok: false, reason: bad };
  return { ok: true, reason: '@tensorflow/tfjs-backend-cpu', device: `CPU: ${cpuModel()}`, threads: 1, simd: false };
}
