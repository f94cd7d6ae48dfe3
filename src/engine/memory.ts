import * as tf from '@tensorflow/tfjs-core';
import { queryGpus, runProgram, type GpuInfo, type RunProgram } from './nvidia-smi.js';

export interface TfMemory {
  numTensors: number;
  /** Bytes held by live tensors, as tfjs counts them (not the backend's allocator or the GPU pool). */
  numBytes: number;
}

export function tfMemory(): TfMemory {
  const m = tf.memory();
  return { numTensors: m.numTensors, numBytes: m.numBytes };
}

/**
 * Peak tfjs bytes across a run. Sampling between steps misses the transient peak inside a step
 * (activations, gradients), so {@link PeakTracker.profile} measures a function with `tf.profile`,
 * whose `peakBytes` the engine tracks on every allocation on all backends.
 */
export class PeakTracker {
  private peak = 0;

  /** Records the current tfjs bytes; returns them. */
  sample(): number {
    const bytes = tf.memory().numBytes;
    if (bytes > this.peak) this.peak = bytes;
    return bytes;
  }

  /** Runs `fn` under `tf.profile` and records its peak; returns `fn`'s result. */
  async profile<T>(fn: () => T | Promise<T>): Promise<T> {
    let result!: T;
    const info = await tf.profile(async () => {
      result = await fn();
      // tf.profile only accepts tensor results; the real value is passed out through the closure.
      return [] as tf.Tensor[];
    });
    if (info.peakBytes > this.peak) this.peak = info.peakBytes;
    return result;
  }

  get peakBytes(): number {
    return this.peak;
  }

  reset(): void {
    this.peak = 0;
  }
}

/**
 * GPU buffer bytes as the backend itself counts them (webgpu: bytes in live tensors, and bytes its
 * buffer pool holds; the pool reuses freed buffers and never shrinks during a run, so after
 * training it is the high-water mark). null on backends that do not report GPU bytes.
 */
export function backendGpuBytes(): { inUse: number; allocated: number } | null {
  const m = tf.memory() as { numBytesInGPU?: number; numBytesAllocatedInGPU?: number; numBytesInGPUAllocated?: number };
  if (m.numBytesInGPU === undefined) return null;
  return { inUse: m.numBytesInGPU, allocated: m.numBytesAllocatedInGPU ?? m.numBytesInGPUAllocated ?? m.numBytesInGPU };
}

/** The process's peak resident set size in bytes since it started (Linux reports KiB). */
export function peakRssBytes(): number {
  return process.resourceUsage().maxRSS * 1024;
}

/** GPU memory as nvidia-smi sees it (every process on the card); null without nvidia-smi. */
export function queryGpuMemory(run: RunProgram = runProgram): GpuInfo[] | null {
  return queryGpus(run);
}
