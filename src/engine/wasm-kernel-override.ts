import * as tf from '@tensorflow/tfjs-core';

type KernelArgs = Parameters<tf.KernelFunc>[0];
type KernelResult = ReturnType<tf.KernelFunc>;

/** Puts back the kernel an override replaced. */
export type RestoreKernel = () => void;

/**
 * Replaces the wasm backend's kernel `name` by `run`, which gets the kernel registered before it
 * to fall back on (dtypes or attributes it does not handle). Returns how to put that kernel back;
 * null when no such kernel is registered.
 */
export function overrideWasmKernel(name: string, run: (args: KernelArgs, stock: tf.KernelFunc) => KernelResult): RestoreKernel | null {
  const stock = tf.getKernel(name, 'wasm');
  if (!stock) return null;
  tf.unregisterKernel(name, 'wasm');
  tf.registerKernel({ ...stock, kernelFunc: (args) => run(args, stock.kernelFunc) });
  return () => {
    tf.unregisterKernel(name, 'wasm');
    tf.registerKernel(stock);
  };
}
