import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, expect, test } from 'vitest';
import { bufferBytes, resetBufferPeak } from '../../src/engine/buffer-bytes.js';
import { useCpuBackend } from '../helpers/tf-setup.js';

beforeAll(useCpuBackend);

test('views of one buffer count once; freed buffers leave the count; the peak is kept', () => {
  expect(bufferBytes().installed).toBe(true);
  const before = bufferBytes().current;
  resetBufferPeak();
  const a = tf.zeros([256, 256]); // 256 KiB
  const views = [a.reshape([65536]), a.reshape([128, 512]), a.reshape([512, 128])];
  expect(bufferBytes().current - before).toBe(256 * 1024);
  expect(tf.memory().numBytes).toBeGreaterThanOrEqual(before + 4 * 256 * 1024); // tfjs counts every view
  const b = tf.tidy(() => tf.add(a, 1)); // a second real buffer (tidy frees the scalar 1)
  expect(bufferBytes().current - before).toBe(2 * 256 * 1024);
  b.dispose();
  views.forEach((v) => v.dispose());
  a.dispose();
  expect(bufferBytes().current).toBe(before);
  // The peak also saw the 4-byte scalar `1` that lived inside the tidy.
  expect(bufferBytes().peak - before).toBe(2 * 256 * 1024 + 4);
});
