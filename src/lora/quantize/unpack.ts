/**
 * Backend-side unpacking of int32 words into small unsigned integers, with ops that have int32
 * kernels in every backend this project runs on (cpu, wasm, tfjs-node): `mod`, `sub`,
 * `floorDiv`, `concat`. `bitwiseAnd` and shifts are missing from some backends.
 *
 * Exactness: `mod` is exact on int32 everywhere, but the wasm backend computes `floorDiv` through
 * float32, which rounds int32 values above 2^24. So the remainder is always subtracted first: the
 * dividend is then a multiple of the power-of-two divisor and, being below 2^31 in magnitude, has
 * at most 24 significant bits, so float32 holds it exactly and the division is exact. `mod` by
 * 2^k of a negative value gives the two's-complement low bits (floor semantics), which undoes the
 * sign that packing into bit 31 gives a word.
 */
import * as tf from '@tensorflow/tfjs-core';

const int = (n: number): tf.Scalar => tf.scalar(n, 'int32');

/**
 * Words [W] → their half-words as indices in [0, 65535]: all low halves, then all high halves
 * ([2W]). With the "halves" packing of `pack.ts` this restores the original code order.
 */
export function unpackHalfWords(words: tf.Tensor1D): tf.Tensor1D {
  return tf.tidy(() => {
    const base = int(65536);
    const low = tf.mod(words, base);
    const high = tf.mod(tf.floorDiv(tf.sub(words, low), base), base);
    return tf.concat([low, high]) as tf.Tensor1D; // [2W]
  });
}

/**
 * Words [Q] packed by `packBytesQuarters` → their bytes in original order ([4Q], values 0..255).
 */
export function unpackBytesQuarters(words: tf.Tensor1D): tf.Tensor1D {
  return tf.tidy(() => {
    const base = int(256);
    const bytes: tf.Tensor1D[] = [];
    let rest: tf.Tensor1D = words;
    for (let k = 0; k < 4; k++) {
      const b = tf.mod(rest, base) as tf.Tensor1D;
      bytes.push(b);
      if (k < 3) rest = tf.floorDiv(tf.sub(rest, b), base) as tf.Tensor1D;
    }
    return tf.concat(bytes) as tf.Tensor1D; // [4Q]
  });
}
