import * as tf from '@tensorflow/tfjs-core';

/**
 * A backend can register and still compute garbage (a wasm build without its binary, a
 * libtensorflow that silently lost its kernels, a WebGPU device whose shaders fail validation),
 * so each candidate must multiply two small known matrices correctly before it is accepted.
 * Reads back asynchronously: WebGPU has no synchronous read under Node. Returns null when it
 * works, else why not.
 */
export async function checkMatmul(): Promise<string | null> {
  // [2, 3] x [3, 2]; the expected product is worked out by hand.
  const a = tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]);
  const b = tf.tensor2d([7, 8, 9, 10, 11, 12], [3, 2]);
  const expected = [58, 64, 139, 154];
  try {
    const c = tf.matMul(a, b);
    const got = Array.from(await c.data());
    c.dispose();
    const bad = got.length !== expected.length || got.some((v, i) => Math.abs(v - expected[i]) > 1e-4);
    return bad ? `test matmul gave [${got.join(', ')}], expected [${expected.join(', ')}]` : null;
  } catch (err) {
    return `test matmul threw: ${(err as Error).message}`;
  } finally {
    a.dispose();
    b.dispose();
  }
}
