import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, test } from 'vitest';
import '@tensorflow/tfjs-backend-cpu';
import '../../src/util/tfjs-setup.js';
import { initEngine } from '../../src/engine/backend.js';
import { ConstantCache } from '../../src/model/layers/constant-cache.js';
import { tinyLm } from '../helpers/tiny-lm.js';

test('the cache makes a table once per key, keeps it through tidy, replaces it by a longer one when needed, and disposes all', async () => {
  await tf.setBackend('cpu');
  const cache = new ConstantCache();
  const made: number[] = [];
  const make = (cap: number) => {
    made.push(cap);
    return [tf.range(0, cap)];
  };
  const n = tf.memory().numTensors;
  const a = tf.tidy(() => cache.get('a', 10, make));
  expect(a.capacity).toBe(ConstantCache.MIN_CAPACITY);
  expect(a.tensors[0].isDisposed).toBe(false);
  expect(tf.tidy(() => cache.get('a', 64, make))).toBe(a);
  const longer = cache.get('a', 65, make); // twice the old capacity
  expect(longer.capacity).toBe(128);
  expect(a.tensors[0].isDisposed).toBe(true);
  expect(cache.get('a', 1000, make).capacity).toBe(1000); // or as long as needed
  cache.get('b', 3, make);
  expect(made).toEqual([64, 128, 1000, 64]);
  expect(cache.size).toBe(2);
  expect(tf.memory().numTensors).toBe(n + 2);
  cache.dispose();
  expect(cache.size).toBe(0);
  expect(tf.memory().numTensors).toBe(n);
});

/**
 * Cached position ids, rotary tables and causal masks must give exactly the logits and gradients
 * of the uncached path (explicit position ids build everything afresh), on the backends the study runs.
 */
describe.each(['wasm', 'cpu'] as const)('on %s', (backend) => {
  test.each(['llama', 'phi', 'gpt2'] as const)('%s: cached forward and backward are bit-identical to the uncached ones', async (modelType) => {
    if (backend === 'wasm') await initEngine({ backend: 'wasm', threads: 1, nativeMatmul: 'off' });
    else await tf.setBackend('cpu');
    const { model } = await tinyLm({ modelType });
    const [B, T] = [2, 7];
    const ids = tf.tensor2d(Array.from({ length: B * T }, (_, i) => (i * 37) % 200), [B, T], 'int32');
    const attention = tf.tensor2d([[1, 1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0, 0]], [B, T], 'int32');
    const explicit = tf.tensor2d(Array.from({ length: B * T }, (_, i) => i % T), [B, T], 'int32');
    const weights = [...model.linears.values()][0].weight as tf.Tensor;
    const run = (positionIds: tf.Tensor2D | null) =>
      tf.tidy(() => {
        const f = (w: tf.Tensor) => {
          void w;
          return tf.sum(tf.square(model.forward({ inputIds: ids, attentionMask: attention, positionIds }).logits)) as tf.Scalar;
        };
        const { value, grad } = tf.valueAndGrad(f)(weights);
        const logits = model.forward({ inputIds: ids, attentionMask: attention, positionIds }).logits;
        return [Array.from(logits.dataSync()), value.dataSync()[0], Array.from(grad.dataSync())] as const;
      });
    // A longer sequence first, so the shorter one below is sliced from the kept tables.
    const long = tf.tensor2d(Array.from({ length: 40 }, (_, i) => (i * 13) % 200), [1, 40], 'int32');
    tf.tidy(() => {
      model.forward({ inputIds: long });
    });
    const fresh = run(explicit);
    const first = run(null);
    const n = tf.memory().numTensors;
    const again = run(null);
    expect(tf.memory().numTensors).toBe(n);
    expect(first[0]).toEqual(fresh[0]);
    expect(again[0]).toEqual(fresh[0]);
    expect(again[1]).toBe(fresh[1]);
    expect(again[2]).toEqual(fresh[2]);
    model.dispose();
  });
});
