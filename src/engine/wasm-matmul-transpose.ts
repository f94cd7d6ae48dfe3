/**
 * The tfjs wasm BatchMatMul kernel is fast only without transposes: with transposeA or
 * transposeB (every x·Wᵀ of an nn.Linear layout, and every weight gradient) it runs an order of
 * magnitude slower than an explicit Transpose followed by a plain product (measured on 2 cores:
 * [2048,128]·[384,128]ᵀ 70 ms against 4 ms). This wraps the registered kernel so transposed
 * operands are transposed first; results are unchanged (same products and sums).
 */
import * as tf from '@tensorflow/tfjs-core';

let installed = false;

export function installWasmTransposedMatmul(): boolean {
  if (installed || tf.getBackend() !== 'wasm') return installed;
  const original = tf.getKernel('BatchMatMul', 'wasm');
  const transpose = tf.getKernel('Transpose', 'wasm');
  if (!original || !transpose) return false;
  const swapLast = (rank: number): number[] => [...Array.from({ length: rank - 2 }, (_, i) => i), rank - 1, rank - 2];
  tf.unregisterKernel('BatchMatMul', 'wasm');
  tf.registerKernel({
    kernelName: 'BatchMatMul',
    backendName: 'wasm',
    kernelFunc: (args) => {
      const { inputs, backend, attrs } = args as unknown as {
        inputs: { a: tf.TensorInfo; b: tf.TensorInfo };
        backend: tf.KernelBackend;
        attrs: { transposeA: boolean; transposeB: boolean };
      };
      if (!attrs.transposeA && !attrs.transposeB) return original.kernelFunc(args);
      const t = (x: tf.TensorInfo): tf.TensorInfo =>
        transpose.kernelFunc({ inputs: { x }, backend, attrs: { perm: swapLast(x.shape.length) } } as never) as tf.TensorInfo;
      const a = attrs.transposeA ? t(inputs.a) : inputs.a;
      const b = attrs.transposeB ? t(inputs.b) : inputs.b;
      const out = original.kernelFunc({ inputs: { a, b }, backend, attrs: { ...attrs, transposeA: false, transposeB: false } } as never);
      if (a !== inputs.a) backend.disposeData(a.dataId);
      if (b !== inputs.b) backend.disposeData(b.dataId);
      return out;
    },
  });
  installed = true;
  return true;
}
