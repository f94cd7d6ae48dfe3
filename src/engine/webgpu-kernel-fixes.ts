import * as tf from '@tensorflow/tfjs-core';

let installed = false;

/**
 * Kernel gaps of tfjs-backend-webgpu 4.22, fixed by wrapping its registered kernels:
 * - AddN binds every input at once, so summing more than `maxStorageBuffersPerShaderStage - 1`
 *   tensors (autodiff adds one gradient per use of a tensor: a tied embedding, the RoPE tables)
 *   fails validation. Larger sums are done in groups that fit, then summed again (Concat already
 *   does this in tfjs).
 */
export function installWebgpuKernelFixes(): void {
  if (installed) return;
  const addN = tf.getKernel('AddN', 'webgpu');
  if (!addN) return;
  tf.unregisterKernel('AddN', 'webgpu');
  tf.registerKernel({
    kernelName: 'AddN',
    backendName: 'webgpu',
    kernelFunc: (args) => {
      const { inputs, backend } = args as unknown as { inputs: tf.TensorInfo[]; backend: tf.KernelBackend & { device: { limits: Record<string, number> } } };
      const maxIn = Math.max(2, backend.device.limits.maxStorageBuffersPerShaderStage - 1);
      if (inputs.length <= maxIn) return addN.kernelFunc(args);
      let level = inputs;
      while (level.length > maxIn) {
        const next: tf.TensorInfo[] = [];
        for (let i = 0; i < level.length; i += maxIn) {
          const group = level.slice(i, i + maxIn);
          next.push(group.length === 1 ? group[0] : (addN.kernelFunc({ ...args, inputs: group } as never) as tf.TensorInfo));
        }
        // Intermediate sums (not the caller's inputs) are released once summed again.
        const previous = level;
        level = next;
        if (previous !== inputs) for (const t of previous) if (!next.includes(t)) backend.disposeData(t.dataId);
      }
      const out = addN.kernelFunc({ ...args, inputs: level } as never) as tf.TensorInfo;
      for (const t of level) if (!inputs.includes(t)) backend.disposeData(t.dataId);
      return out;
    },
  });
  installed = true;
}
