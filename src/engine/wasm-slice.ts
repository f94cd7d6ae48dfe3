/**
 * Slice and SplitV for the wasm backend that copy only the slice. The stock kernels
 * (tfjs-backend-wasm 4.22) first read the WHOLE input back (`backend.readSync`, a copy of the
 * buffer) on every call, so SplitV into n parts copies the input n + 1 times: splitting a flat
 * vector of 56 LoRA parameters back into them (AdamW) cost more than the whole update. These read
 * the input in place (a view on the wasm heap) and copy each contiguous run of the slice once.
 * Pure data movement: the output holds the same bytes as the stock kernels'. Strings keep the
 * stock path.
 */
import * as tf from '@tensorflow/tfjs-core';
import { overrideWasmKernel } from './wasm-kernel-override.js';

interface WasmBackendLike extends tf.KernelBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
}

/** Copies `x[begin : begin + size]` into a new tensor, one contiguous innermost run at a time. */
function sliceInPlace(x: tf.TensorInfo, begin: number[], size: number[], backend: WasmBackendLike): tf.TensorInfo {
  const out = backend.makeOutput(size, x.dtype);
  const n = size.reduce((a, b) => a * b, 1);
  if (n === 0) return out;
  // Views after makeOutput: an allocation may have grown (and so replaced) the heap.
  const src = backend.typedArrayFromHeap(x);
  const dst = backend.typedArrayFromHeap(out);
  const rank = x.shape.length;
  if (rank === 0) {
    dst[0] = src[0];
    return out;
  }
  const strides = tf.util.computeStrides(x.shape);
  if (tf.slice_util.isSliceContinous(x.shape, begin, size)) {
    const off = tf.slice_util.computeFlatOffset(begin, strides);
    dst.set(src.subarray(off, off + n));
    return out;
  }
  // Merge the trailing axes that are taken whole into one run.
  let inner = size[rank - 1];
  let axis = rank - 1;
  while (axis > 0 && size[axis] === x.shape[axis] && begin[axis] === 0) {
    axis--;
    inner *= size[axis];
  }
  const outer = n / inner;
  const idx = new Array<number>(axis).fill(0);
  for (let r = 0; r < outer; r++) {
    let off = begin[axis] * (strides[axis] ?? 1);
    for (let i = 0; i < axis; i++) off += (begin[i] + idx[i]) * strides[i];
    dst.set(src.subarray(off, off + inner), r * inner);
    for (let i = axis - 1; i >= 0; i--) {
      if (++idx[i] < size[i]) break;
      idx[i] = 0;
    }
  }
  return out;
}

let installed = false;

/** Replaces wasm's Slice and SplitV (non-string inputs). Idempotent. */
export function installWasmSlice(): boolean {
  if (installed || tf.getBackend() !== 'wasm') return installed;
  if (!tf.getKernel('Slice', 'wasm') || !tf.getKernel('SplitV', 'wasm')) return false;
  overrideWasmKernel('Slice', (args, stock) => {
    const x = (args.inputs as { x: tf.TensorInfo }).x;
    if (x.dtype === 'string') return stock(args);
    const { begin, size } = args.attrs as { begin: number | number[]; size: number | number[] };
    const [b, s] = tf.slice_util.parseSliceParams(x as tf.TensorInfo as tf.Tensor, begin, size);
    return sliceInPlace(x, b, s, args.backend as WasmBackendLike);
  });
  overrideWasmKernel('SplitV', (args, stock) => {
    const x = (args.inputs as { x: tf.TensorInfo }).x;
    if (x.dtype === 'string') return stock(args);
    const { numOrSizeSplits, axis } = args.attrs as { numOrSizeSplits: number | number[]; axis: number | number[] };
    const a = tf.util.parseAxisParam(axis, x.shape)[0];
    const sizes = tf.backend_util.prepareSplitSize(x as tf.TensorInfo as tf.Tensor, numOrSizeSplits, a);
    const begin = new Array<number>(x.shape.length).fill(0);
    return sizes.map((s) => {
      const size = x.shape.slice();
      size[a] = s;
      const part = sliceInPlace(x, begin.slice(), size, args.backend as WasmBackendLike);
      begin[a] += s;
      return part;
    });
  });
  installed = true;
  return true;
}
