import { describe, expect, it } from 'vitest';
import { initEngine } from '../../src/engine/backend.js';
import { loadNativeAddon } from '../../src/engine/native-addon.js';
import { wasmPoolThreads } from '../../src/engine/load-wasm.js';

const native = loadNativeAddon();

describe('the wasm pool size beside the native kernels', () => {
  it('is the threads asked for when the native matmul is off', () => {
    expect(wasmPoolThreads(2, 'off')).toBe(2);
    expect(wasmPoolThreads(1, 'off')).toBe(1);
  });

  it.skipIf(!native.ok)(`is 1 when the native matmul runs, the run keeping its compute threads${native.ok ? '' : ` (skipped: ${native.reason})`}`, async () => {
    expect(wasmPoolThreads(2, 'auto')).toBe(1);
    expect(wasmPoolThreads(2, 'on')).toBe(1);
    // A fresh process (vitest isolates files): the first init fixes wasm's pool.
    const info = await initEngine({ backend: 'wasm', threads: 2, nativeMatmul: 'on' });
    expect(info.threads).toBe(2);
    expect(info.device).toMatch(/^CPU: wasm SIMD, 1 thread .*native matmul \(\w+, 2 threads/);
  });
});
