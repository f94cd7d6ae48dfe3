/**
 * tfjs-core 4.22's path for a registered kernel (`Engine.runKernel` → `runKernelFunc`) without
 * its wrapping, for when nothing watches kernels (no tf.profile, DEBUG or IS_TEST leak checks —
 * the caller checks): one registry lookup instead of two, no closures, scopedRun, assert
 * callbacks or the data-id count the leak check would read. What it does is what the stock path
 * does, in the same order: kernelDepth up while the kernel runs (down again if it throws), the
 * kernel called with the same inputs, attrs and backend, each output that is not already a tensor
 * made one through the engine (ids, tf.memory and scope tracking as stock), and on the tape the
 * same saved tensors (getTensorsForGradient → saveTensorsForBackwardMode) and the same tape node.
 */
import * as tf from '@tensorflow/tfjs-core';

interface TensorInfoLike {
  dataId: tf.DataId;
  shape: number[];
  dtype: tf.DataType;
  rank?: number;
}

export interface KernelCallEngine {
  state: { gradientDepth: number; kernelDepth: number };
  backendName: string;
  backend: unknown;
  makeTensorFromTensorInfo(info: TensorInfoLike, backend?: unknown): tf.Tensor;
  addTapeNode(kernelName: string, inputs: Record<string, TensorInfoLike>, outputs: tf.Tensor[], gradientsFunc: null, saved: tf.Tensor[], attrs: Record<string, unknown>): void;
  saveTensorsForBackwardMode(tensors: tf.Tensor[]): tf.Tensor[];
  getTensorsForGradient(kernelName: string, inputs: Record<string, TensorInfoLike>, outputs: tf.Tensor[]): tf.Tensor[];
}

type KernelFunc = (params: { inputs: Record<string, TensorInfoLike>; attrs: Record<string, unknown>; backend: unknown }) => TensorInfoLike | TensorInfoLike[];

/**
 * Runs kernel `name` of the engine's backend as the stock engine would; null when the kernel is
 * not registered (the stock path then throws its own error).
 */
export function runRegisteredKernel(e: KernelCallEngine, name: string, inputs: Record<string, TensorInfoLike>, attrs: Record<string, unknown>): tf.Tensor | tf.Tensor[] | null {
  const kernel = tf.getKernel(name, e.backendName);
  if (kernel === undefined) return null;
  const kernelFunc = kernel.kernelFunc as unknown as KernelFunc;
  const s = e.state;
  const tapeOn = s.gradientDepth > 0 && s.kernelDepth === 0;
  const backend = e.backend;
  let outputs: tf.Tensor[];
  let saved: tf.Tensor[] = [];
  let many: boolean;
  s.kernelDepth++;
  try {
    const out = kernelFunc({ inputs, attrs, backend });
    many = Array.isArray(out);
    const infos = many ? (out as TensorInfoLike[]) : [out as TensorInfoLike];
    outputs = new Array<tf.Tensor>(infos.length);
    for (let i = 0; i < infos.length; i++) {
      const info = infos[i];
      // As stock: an output that is a tensor already (it has a rank) is taken as it is.
      outputs[i] = info.rank != null ? (info as unknown as tf.Tensor) : e.makeTensorFromTensorInfo(info);
    }
    if (tapeOn) saved = e.saveTensorsForBackwardMode(e.getTensorsForGradient(name, inputs, outputs));
  } finally {
    s.kernelDepth--;
  }
  if (tapeOn) e.addTapeNode(name, inputs, outputs, null, saved, attrs);
  return many ? outputs : outputs[0];
}
