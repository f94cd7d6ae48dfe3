import * as tf from '@tensorflow/tfjs-core';

type KernelArgs = Parameters<tf.KernelFunc>[0];
type KernelResult = ReturnType<tf.KernelFunc>;

/**
 * Replaces the wasm backend's kernel `name` by `run`, which gets the stock kernel function to
 * fall back on (dtypes or attributes it does not handle). False when no such kernel is registered.
 */
export function overrideWasmKernel(name: string, run: (args: KernelArgs, stock: tf.KernelFunc) => KernelResult): boolean {
  const stock = tf.getKernel(name, 'wasm');
  if (!stock) return false;
  tf.unregisterKernel(name, 'wasm');
  tf.registerKernel({ ...stock, kernelFunc: (args) => run(args, stock.kernelFunc) });
  return true;
}
