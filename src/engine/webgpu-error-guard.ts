import { LoraStudyError } from '../util/errors.js';

/** A WebGPU validation or out-of-memory error surfaced at the next read-back. */
export class WebgpuError extends LoraStudyError {}

interface EventTargetLike {
  addEventListener(type: string, listener: (e: { error?: { message?: string; constructor?: { name?: string } } }) => void): void;
}

interface ReadableBackend {
  read(dataId: object): Promise<unknown>;
}

/**
 * WebGPU reports a failed command (a binding over `maxStorageBufferBindingSize`, an allocation
 * over memory) as an *uncaptured error* event and goes on: the kernel's output stays zero and the
 * computation continues on garbage. This records the first such error and makes the backend's
 * next read-back (`await t.data()`) throw it, so a loss or logit never silently comes from a
 * kernel that did not run.
 */
export function installErrorGuard(device: EventTargetLike, backend: ReadableBackend): void {
  const pending: string[] = [];
  device.addEventListener('uncapturederror', (e) => {
    const kind = e.error?.constructor?.name ?? 'GPUError';
    if (pending.length < 5) pending.push(`${kind}: ${(e.error?.message ?? 'unknown error').split('\n')[0]}`);
  });
  const read = backend.read.bind(backend);
  backend.read = async (dataId) => {
    const values = await read(dataId);
    if (pending.length > 0) {
      const errors = pending.splice(0);
      throw new WebgpuError(`a WebGPU command failed, so this result is invalid: ${errors.join('; ')}`, {
        hint:
          'a kernel went over one of the adapter\'s limits (`lora-study doctor` lists them: a tensor over maxStorageBufferBindingSize, ' +
          'too many buffers) or GPU memory ran out; use a smaller batch or sequence length, or `--backend wasm`, and report it if the shapes are small',
      });
    }
    return values;
  };
}
