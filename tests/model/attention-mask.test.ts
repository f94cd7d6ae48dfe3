import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, expect, test } from 'vitest';
import { buildAttentionMask } from '../../src/model/layers/attention.js';
import { ConstantCache } from '../../src/model/layers/constant-cache.js';
import { useCpuBackend } from '../helpers/tf-setup.js';

beforeAll(useCpuBackend);

const visible = (m: tf.Tensor): number[][] => (m.arraySync() as number[][][][])[0][0].map((row) => row.map((x) => (x === 0 ? 1 : 0)));

test('causal mask, then a sliding window of 2 (Mistral / Phi-3): each query sees its last 2 keys', () => {
  expect(visible(buildAttentionMask(null, 1, 4, 0))).toEqual([[1, 0, 0, 0], [1, 1, 0, 0], [1, 1, 1, 0], [1, 1, 1, 1]]);
  expect(visible(buildAttentionMask(null, 1, 4, 0, 2))).toEqual([[1, 0, 0, 0], [1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 1]]);
  // With 3 cached positions, the new query at position 3 sees keys 2 and 3.
  expect(visible(buildAttentionMask(null, 1, 1, 3, 2))).toEqual([[0, 0, 1, 1]]);
});

test('a mask sliced from the kept causal table equals the one built afresh, with and without padding and window', () => {
  const cache = new ConstantCache();
  const pad = tf.tensor2d([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], [2, 5], 'int32');
  for (const window of [null, 2]) {
    for (const [T, m] of [[5, pad], [3, null], [5, null], [70, null]] as const) {
      const fresh = buildAttentionMask(m, 2, T, 0, window).arraySync();
      expect(buildAttentionMask(m, 2, T, 0, window, cache).arraySync()).toEqual(fresh);
    }
  }
  cache.dispose();
});
