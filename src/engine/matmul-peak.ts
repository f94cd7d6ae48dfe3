import * as tf from '@tensorflow/tfjs-core';
import { assert } from '../util/errors.js';

export interface MatmulShape {
  m: number;
  k: number;
  n: number;
}

export interface MatmulPeakOptions extends MatmulShape {
  /** Timed repetitions; the median is reported. Default 10. */
  iters?: number;
  /** Untimed repetitions first (kernel set-up, caches, thread wake-up). Default 3. */
  warmup?: number;
}

export interface MatmulPeak extends MatmulShape {
  backend: string;
  /** Median wall time of one `[m,k] x [k,n]` product, read back with dataSync. */
  medianMs: number;
  minMs: number;
  /** 2·m·k·n / median time: the rate benchmarks compare their achieved FLOP/s against. */
  gflops: number;
  iters: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/**
 * Plain matmul throughput of the current backend. A read-back (`await data()`) ends each repetition
 * because async backends (tensorflow on CUDA, webgpu) return before the work is done; the read-back of the
 * `[m, n]` result is included, which is negligible for the shapes benchmarks use.
 */
export async function measureMatmulGflops(opts: MatmulPeakOptions): Promise<MatmulPeak> {
  const { m, k, n } = opts;
  const iters = opts.iters ?? 10;
  const warmup = opts.warmup ?? 3;
  assert(m > 0 && k > 0 && n > 0 && iters > 0 && warmup >= 0, () => `bad matmul benchmark ${JSON.stringify(opts)}`);
  const a = tf.randomUniform([m, k], -1, 1, 'float32', 1); // [m, k]
  const b = tf.randomUniform([k, n], -1, 1, 'float32', 2); // [k, n]
  const times: number[] = [];
  try {
    for (let i = 0; i < warmup + iters; i++) {
      const t0 = performance.now();
      const c = tf.matMul(a, b); // [m, n]
      await c.data();
      const dt = performance.now() - t0;
      c.dispose();
      if (i >= warmup) times.push(dt);
    }
  } finally {
    a.dispose();
    b.dispose();
  }
  const medianMs = median(times);
  return {
    backend: tf.getBackend(),
    m,
    k,
    n,
    medianMs,
    minMs: Math.min(...times),
    gflops: (2 * m * k * n) / (medianMs * 1e6),
    iters,
  };
}
