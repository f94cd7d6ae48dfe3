/**
 * The parts of tfjs-backend-wasm's backend that our kernels use to work in place on its heap
 * (native-matmul.ts, native-ops.ts, native-fused.ts): one description of them, and the two
 * operations every such kernel needs.
 */
import * as tf from '@tensorflow/tfjs-core';

export interface WasmHeapBackend {
  wasm: { HEAPU8: Uint8Array; HEAPF32: Float32Array };
  dataIdMap: { get(dataId: object): { memoryOffset: number } };
  makeOutput(shape: number[], dtype: tf.DataType, memoryOffset?: number, values?: tf.backend_util.TypedArray): tf.TensorInfo;
  disposeData(dataId: object): void;
  incRef(dataId: object): void;
}

/** A wasm kernel's arguments, with the backend typed as {@link WasmHeapBackend}. */
export interface WasmKernelArgs {
  inputs: Record<string, tf.TensorInfo>;
  backend: WasmHeapBackend;
  attrs: Record<string, unknown>;
}

/** Byte offset of a tensor's data in the wasm heap. */
export const heapOffset = (backend: WasmHeapBackend, t: tf.TensorInfo): number => backend.dataIdMap.get(t.dataId).memoryOffset;

/** Runs the wasm kernel registered now under `name` on backend data, outside the engine (no tape, no tracking). */
export function runWasmKernel(name: string, backend: WasmHeapBackend, inputs: Record<string, tf.TensorInfo>, attrs: Record<string, unknown> = {}): tf.TensorInfo {
  const k = tf.getKernel(name, 'wasm');
  if (!k) throw new Error(`the wasm backend has no ${name} kernel`);
  return k.kernelFunc({ inputs, backend: backend as never, attrs: attrs as never }) as tf.TensorInfo;
}

/** Elements of a tensor of this shape (1 for a scalar). */
export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (let i = 0; i < shape.length; i++) n *= shape[i];
  return n;
}
