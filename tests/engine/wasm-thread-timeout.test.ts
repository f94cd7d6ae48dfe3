import * as tf from '@tensorflow/tfjs-core';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { initEngine } from '../../src/engine/backend.js';
import { THREAD_START_TIMEOUT_ENV } from '../../src/engine/load-wasm.js';

// Its own file (own process): the wasm backend starts once per process.
describe('a threaded wasm start that does not finish in time', () => {
  it('falls back to one thread with a warning instead of hanging', async () => {
    const warnings: { reason: string; msg: string }[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(JSON.parse(line)) });
    // The threaded build compiles and starts 8 workers: never within 1 ms.
    process.env[THREAD_START_TIMEOUT_ENV] = '1';
    try {
      // Native kernels off: with them wasm's own pool is one thread and no threaded start is tried.
      const info = await initEngine({ backend: 'wasm', threads: 2, logger, nativeMatmul: 'off' });
      expect(info).toMatchObject({ backend: 'wasm', threads: 1, simd: true });
      expect(warnings).toHaveLength(1);
      expect(warnings[0].msg).toMatch(/single-threaded/);
      expect(warnings[0].reason).toContain(`did not start within 1 ms (${THREAD_START_TIMEOUT_ENV}`);
      const c = tf.matMul(tf.tensor2d([[1, 2], [3, 4]]), tf.tensor2d([[5, 6], [7, 8]]));
      expect(Array.from(c.dataSync())).toEqual([19, 22, 43, 50]);
    } finally {
      delete process.env[THREAD_START_TIMEOUT_ENV];
    }
  });
});
