import { LoraStudyError } from '../util/errors.js';

interface TensorData {
  values: unknown;
  dtype: string;
  resource: unknown;
}

interface WebgpuBackendInternals {
  tensorMap: { get(dataId: object): TensorData | undefined };
  uploadToGPU(dataId: object): void;
  readSync(dataId: object): unknown;
  hasReadSyncWarned: boolean;
  hasTimestampQueryWarned: boolean;
}

/** A synchronous read (`dataSync`, `arraySync`) of a tensor that exists only on the GPU. */
export class WebgpuSyncReadError extends LoraStudyError {}

/**
 * tfjs-backend-webgpu reads synchronously through an OffscreenCanvas, which Node does not have,
 * and WebGPU itself can only read back asynchronously. Two changes make the rest of the project
 * work unchanged where it can:
 * - a tensor made from host data keeps that data after its upload (tfjs drops it), so synchronous
 *   reads of frozen weights (quantizing the base, exporting a merged checkpoint) are served from
 *   the host copy. tfjs never writes into an existing buffer (every op and `assign` makes a new
 *   one), so the copy cannot go stale; the cost is host RAM equal to the uploaded weights;
 * - a synchronous read of a tensor computed on the GPU throws an error that says so, instead of
 *   `OffscreenCanvas is not defined`. Code that reads computed values uses `await t.data()`.
 */
export function installHostReads(backend: unknown): void {
  const b = backend as WebgpuBackendInternals;
  // The console notes tfjs would print: the sync-read one is replaced by the rule above, and
  // timestamp queries are only used by tf.profile's kernel timings, which nothing here reads.
  b.hasReadSyncWarned = true;
  b.hasTimestampQueryWarned = true;
  const upload = b.uploadToGPU.bind(b);
  b.uploadToGPU = (dataId) => {
    const data = b.tensorMap.get(dataId);
    const values = data?.resource == null ? data?.values : null;
    upload(dataId);
    if (data && values != null && data.values == null) data.values = values;
  };
  const readSync = b.readSync.bind(b);
  b.readSync = (dataId) => {
    const data = b.tensorMap.get(dataId);
    if (data && (data.values != null || data.dtype === 'string' || data.dtype === 'complex64')) return readSync(dataId);
    throw new WebgpuSyncReadError('a tensor computed on the WebGPU backend was read synchronously (dataSync/arraySync), which WebGPU cannot do under Node', {
      hint: 'this is a lora-study bug on the webgpu backend: report it with the command line; meanwhile use `--backend wasm`',
    });
  };
}
