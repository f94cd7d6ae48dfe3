import * as tf from '@tensorflow/tfjs-core';
import { splitUnaryStatus, type SplitUnaryStatus } from '../../src/engine/wasm-split-unary.js';

/**
 * Starts the split Exp's worker threads and waits (up to ~5 s) until they report ready: they start
 * on the first large call, and until they are ready calls go to the stock kernel, which would
 * time the wrong thing. Call it after the split is enabled.
 */
export async function waitForSplitWorkers(): Promise<SplitUnaryStatus> {
  const warm = tf.randomNormal([4, 64, 512]);
  for (let i = 0; i < 500 && splitUnaryStatus().state !== 'ready'; i++) {
    tf.exp(warm).dispose();
    await new Promise((r) => setTimeout(r, 10));
  }
  warm.dispose();
  return splitUnaryStatus();
}
