/**
 * Zero-copy Identity and same-dtype Cast for the wasm backend.
 *
 * tfjs clones every tensor a gradient needs (engine.saveTensorsForBackwardMode: `keep(clone(x))`,
 * one Identity kernel per saved input or output), and Multiply's and Square's gradients cast
 * float32 operands to float32. The stock wasm kernels copy the whole buffer each time (a GPT-2
 * small step ran 1237 Identity and 205 Cast kernels, 110 ms). The cpu backend instead shares
 * the buffer and counts references; the wasm backend (tfjs-backend-wasm 4.22) keeps the same
 * reference count per buffer (its Reshape shares: `backend.incRef`, and `disposeData` frees only
 * at zero), and no wasm kernel writes into an input, so a shared buffer is never changed under
 * a tensor that reads it. Values are unchanged: the result holds the very same bytes.
 */
import * as tf from '@tensorflow/tfjs-core';
import { overrideWasmKernel } from './wasm-kernel-override.js';

interface SharingBackend extends tf.KernelBackend {
  incRef(dataId: tf.DataId): void;
}

let installed = false;

/** The input itself, one more reference to its buffer. */
function share(x: tf.TensorInfo, backend: SharingBackend): tf.TensorInfo {
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

/** Replaces wasm's copying Identity, and its Cast when the dtype does not change. Idempotent. */
export function installWasmSharingIdentity(): boolean {
  if (installed || tf.getBackend() !== 'wasm') return installed;
  if (!tf.getKernel('Identity', 'wasm') || !tf.getKernel('Cast', 'wasm')) return false;
  overrideWasmKernel('Identity', (args, stock) => {
    const x = (args.inputs as { x: tf.TensorInfo }).x;
    // Strings live in JS arrays, not in the heap: keep the stock path.
    return x.dtype === 'string' ? stock(args) : share(x, args.backend as SharingBackend);
  });
  overrideWasmKernel('Cast', (args, stock) => {
    const x = (args.inputs as { x: tf.TensorInfo }).x;
    const { dtype } = args.attrs as { dtype: tf.DataType };
    return dtype !== x.dtype || dtype === 'string' ? stock(args) : share(x, args.backend as SharingBackend);
  });
  installed = true;
  return true;
}
