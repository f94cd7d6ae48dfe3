import * as tf from '@tensorflow/tfjs-core';

/**
 * The largest tensor, in bytes, that one kernel can bind on the current backend. WebGPU caps a
 * storage-buffer binding (`maxStorageBufferBindingSize`, 128 MiB on llvmpipe and many GPUs) and a
 * buffer (`maxBufferSize`); a bigger binding is a validation error whose kernel silently writes
 * nothing. CPU backends have no such cap. Model code asks this before building tensors that
 * scale with the vocabulary (see src/model/layers/vocab-chunks.ts).
 */
const limits = new Map<string, number>();
let override: number | null = null;

/** Records a backend's binding limit (the webgpu loader calls this once its device exists). */
export function setBackendBufferLimit(backend: string, bytes: number): void {
  limits.set(backend, bytes);
}

/** Forces a limit on every backend (tests that prove chunking works without a 154 MB tensor); null clears it. */
export function overrideBufferLimit(bytes: number | null): void {
  override = bytes;
}

export function bufferLimitBytes(): number {
  if (override !== null) return override;
  return limits.get(tf.getBackend()) ?? Number.POSITIVE_INFINITY;
}
