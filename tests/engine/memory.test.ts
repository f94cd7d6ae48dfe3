import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { initEngine } from '../../src/engine/backend.js';
import { measureMatmulGflops } from '../../src/engine/matmul-peak.js';
import { PeakTracker, peakRssBytes, queryGpuMemory, tfMemory } from '../../src/engine/memory.js';

beforeAll(async () => {
  await initEngine({ backend: 'wasm' });
});

describe('memory helpers', () => {
  it('tfMemory counts live tensors and bytes', () => {
    const before = tfMemory();
    const t = tf.zeros([10, 10]);
    expect(tfMemory()).toEqual({ numTensors: before.numTensors + 1, numBytes: before.numBytes + 400 });
    t.dispose();
    expect(tfMemory()).toEqual(before);
  });

  it('PeakTracker.profile sees the transient peak inside a function', async () => {
    const tracker = new PeakTracker();
    const base = tf.memory().numBytes;
    const out = await tracker.profile(() =>
      tf.tidy(() => {
        const a = tf.ones([64, 64]); // 16 KiB
        const b = tf.matMul(a, a); // 16 KiB
        return tf.sum(tf.mul(b, 2)); // 16 KiB intermediate, 4 B result
      }),
    );
    expect(out.dataSync()[0]).toBe(64 * 64 * 64 * 2);
    out.dispose();
    expect(tracker.peakBytes).toBeGreaterThanOrEqual(base + 3 * 64 * 64 * 4);
    // Sampling after the fact only sees what is left.
    const sampler = new PeakTracker();
    sampler.sample();
    expect(sampler.peakBytes).toBeLessThan(tracker.peakBytes);
  });

  it('peak RSS is positive and GPU memory is null or a list', () => {
    expect(peakRssBytes()).toBeGreaterThan(10 * 1024 * 1024);
    const gpus = queryGpuMemory(() => 'NVIDIA H100 80GB HBM3, 10, 81559, 550.54.15\n');
    expect(gpus?.[0].memoryTotalMiB).toBe(81559);
  });
});

describe('measureMatmulGflops', () => {
  it('reports the median of the timed repetitions (warm-up left out) as 2·m·k·n FLOP over that time, without leaking tensors', async () => {
    const before = tf.memory().numTensors;
    // A scripted clock: one warm-up of 50 ms, then timed repetitions of 4, 2 and 8 ms.
    const durations = [50, 4, 2, 8];
    let t = 1000;
    let calls = 0;
    const clock = vi.spyOn(performance, 'now').mockImplementation(() => {
      const i = calls++;
      if (i % 2 === 1) t += durations[(i - 1) / 2];
      return t;
    });
    let r;
    try {
      r = await measureMatmulGflops({ m: 64, k: 32, n: 16, iters: 3, warmup: 1 });
    } finally {
      clock.mockRestore();
    }
    expect(calls).toBe(8);
    // 64×32×16 multiply-adds = 65,536 FLOP; the median repetition took 4 ms: 16.384 MFLOP/s.
    expect(r).toMatchObject({ backend: 'wasm', m: 64, k: 32, n: 16, iters: 3, medianMs: 4, minMs: 2 });
    expect(r.gflops).toBeCloseTo(0.016384, 12);
    expect(tf.memory().numTensors).toBe(before);
  });
});
