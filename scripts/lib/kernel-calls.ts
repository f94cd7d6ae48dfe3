// Kernel functions a training step really runs on wasm, counted by wrapping every registered wasm
// kernel for the duration of the count. tf.profile cannot say this: it runs the engine's stock path,
// so it counts the Identity/Reshape/Cast calls the engine shortcuts (src/engine/tape-shortcuts.ts)
// skip. The trainer profiles its own first two steps (stock path too), so a step's count is the
// difference between an n-step and a 2-step run.
import * as tf from '@tensorflow/tfjs-core';
import { trainingStepTimer } from './training-step-timer.js';

/** Kernel calls per training step of the bench shape, over `steps` (> 2) steps, with the kernels registered now. */
export async function kernelCallsPerStep(shapeName: string, steps: number): Promise<number> {
  let calls = 0;
  const restore = tf.getKernelsForBackend('wasm').map((k) => {
    const f = k.kernelFunc;
    (k as { kernelFunc: tf.KernelFunc }).kernelFunc = (args) => (calls++, f(args));
    return () => ((k as { kernelFunc: tf.KernelFunc }).kernelFunc = f);
  });
  try {
    const count = async (n: number) => {
      const { run } = trainingStepTimer(shapeName, n);
      calls = 0;
      await run();
      return calls;
    };
    return ((await count(steps)) - (await count(2))) / (steps - 2);
  } finally {
    restore.forEach((r) => r());
  }
}
