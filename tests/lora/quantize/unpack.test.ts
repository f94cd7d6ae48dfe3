import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pack4BitHalves, pack8BitHalves, packBytesQuarters } from '../../../src/lora/quantize/pack.js';
import { unpackBytesQuarters, unpackHalfWords } from '../../../src/lora/quantize/unpack.js';
import { BACKENDS, useBackend } from './backends.js';
import { rng } from './random.js';

describe.each(BACKENDS)('int32 unpacking on %s', (backend) => {
  beforeAll(async () => useBackend(backend));
  afterAll(() => tf.disposeVariables());

  it('splits any int32 (sign bit, 2^31-1, large values) into its exact half-words', () => {
    const next = rng(11);
    const words = Int32Array.from({ length: 4096 }, () => (next() * 2 ** 32) | 0);
    words.set([0, -1, 0x7fffffff, -0x80000000, 0x7fff8000, 0x0000ffff, -65536, 0x12345678]);
    const got = tf.tidy(() => unpackHalfWords(tf.tensor1d(words, 'int32')).dataSync());
    const n = words.length;
    for (let w = 0; w < n; w++) {
      expect(got[w]).toBe(words[w] & 0xffff);
      expect(got[n + w]).toBe(words[w] >>> 16);
    }
  });

  it('4-bit halves packing round-trips through the half-words', () => {
    const next = rng(12);
    const codes = Uint8Array.from({ length: 8 * 300 }, () => Math.floor(next() * 16));
    const halves = tf.tidy(() => unpackHalfWords(tf.tensor1d(pack4BitHalves(codes), 'int32')).dataSync());
    const back = Array.from(halves).flatMap((u) => [u & 15, (u >> 4) & 15, (u >> 8) & 15, u >> 12]);
    expect(back).toEqual(Array.from(codes));
  });

  it('8-bit halves packing round-trips (two signed bytes per half-word)', () => {
    const next = rng(13);
    const codes = Int8Array.from({ length: 4 * 300 }, () => Math.floor(next() * 256) - 128);
    const halves = tf.tidy(() => unpackHalfWords(tf.tensor1d(pack8BitHalves(codes), 'int32')).dataSync());
    const back = Array.from(halves).flatMap((u) => [(u << 24) >> 24, (u << 16) >> 24]);
    expect(back).toEqual(Array.from(codes));
  });

  it('byte quarters packing round-trips', () => {
    const next = rng(14);
    const bytes = Uint8Array.from({ length: 4 * 257 }, () => Math.floor(next() * 256));
    bytes.set([255, 255, 255, 255, 128, 0, 127, 1]);
    const back = tf.tidy(() => unpackBytesQuarters(tf.tensor1d(packBytesQuarters(bytes), 'int32')).dataSync());
    expect(Array.from(back)).toEqual(Array.from(bytes));
  });
});
