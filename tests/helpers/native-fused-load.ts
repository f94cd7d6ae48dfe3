// The native ops addon with its fused kernels, for tests that compare fused and composed paths:
// skipped with the reason when the addon is missing or stale, except under CI (which builds it).
import type * as tf from '@tensorflow/tfjs-core';
import { loadNativeOps, type NativeOpsAddon } from '../../src/engine/native-ops.js';

const load = loadNativeOps();
const reason = !load.ok ? load.reason : typeof load.addon.fused !== 'function' ? 'the ops addon build predates the fused kernels (npm rebuild lora-study-native)' : '';
/** Whether to skip: the addon is optional for users; CI builds it, so there a failed or stale build fails. */
export const skipNativeFused = reason !== '' && process.env.CI !== 'true';
/** ` [skipped: reason]` for a test title, or ''. */
export const skipNativeFusedWhy = reason ? ` [skipped: ${reason}]` : '';
/** The loaded addon (call only when not skipped). */
export const nativeFusedAddon = (): NativeOpsAddon => (load as { addon: NativeOpsAddon }).addon;

/** A small deterministic generator (LCG) for test data. */
export function lcg(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) >>> 0;
    return s / 2 ** 32;
  };
}

/** A float32 tensor's values as their bit patterns, for bit-for-bit comparisons (signed zeros included). */
export const bitsOf = (t: tf.Tensor): number[] => Array.from(new Uint32Array(Float32Array.from(t.dataSync() as Float32Array).buffer));
