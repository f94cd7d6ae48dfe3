import { describe, expect, it } from 'vitest';
import { initEngine } from '../../src/engine/backend.js';

// Its own file: the wasm thread count is fixed at the first wasm init of a process.
describe('wasm with threads: 1', () => {
  it('uses the single-threaded SIMD build and leaves no Emscripten crash handlers behind', async () => {
    const before = [process.listenerCount('uncaughtException'), process.listenerCount('unhandledRejection')];
    const info = await initEngine({ backend: 'wasm', threads: 1 });
    expect(info).toMatchObject({ backend: 'wasm', threads: 1, simd: true });
    expect(info.device).toMatch(/^CPU: wasm SIMD, 1 thread /);
    expect([process.listenerCount('uncaughtException'), process.listenerCount('unhandledRejection')]).toEqual(before);
  });
});
