import * as tf from '@tensorflow/tfjs-core';

let installed = false;

interface WebgpuBackendLike extends tf.KernelBackend {
  device: { limits: Record<string, number> };
  runWebGPUProgram(program: object, inputs: tf.TensorInfo[], dtype: tf.DataType): tf.TensorInfo;
}

interface WebgpuUtil {
  flatDispatchLayout(shape: number[]): { x: number[] };
  computeDispatch(layout: { x: number[] }, shape: number[], workgroupSize: [number, number, number]): [number, number, number];
}

/** WGSL for `r = a OP b` on i32, with tfjs's floor semantics for division and modulo. */
const INT_OPS: Record<string, string> = {
  Add: 'return a + b;',
  Sub: 'return a - b;',
  Mod: 'var r = a % b; if (r != 0 && ((r < 0) != (b < 0))) { r = r + b; } return r;',
  FloorDiv: 'var q = a / b; if ((a % b) != 0 && ((a < 0) != (b < 0))) { q = q - 1; } return q;',
};

/** Elementwise int32 binary op; `b` (or `a`) may be a single value, broadcast. */
class Int32BinaryProgram {
  variableNames = ['A', 'B'];
  size = true;
  workgroupSize: [number, number, number] = [64, 1, 1];
  outputShape: number[];
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  shaderKey: string;
  constructor(
    util: WebgpuUtil,
    outputShape: number[],
    private readonly op: string,
    private readonly aScalar: boolean,
    private readonly bScalar: boolean,
  ) {
    this.outputShape = outputShape;
    this.dispatchLayout = util.flatDispatchLayout(outputShape);
    this.dispatch = util.computeDispatch(this.dispatchLayout, outputShape, this.workgroupSize);
    this.shaderKey = `lora_study_int32_${op}_${aScalar}_${bScalar}`;
  }
  getUserCode(): string {
    return `
      fn intOp(a : i32, b : i32) -> i32 { ${INT_OPS[this.op]} }
      fn main(index : i32) {
        if (index < uniforms.size) {
          result[index] = intOp(A[${this.aScalar ? '0' : 'index'}], B[${this.bScalar ? '0' : 'index'}]);
        }
      }`;
  }
}

/**
 * Kernel gaps of tfjs-backend-webgpu 4.22, fixed by wrapping its registered kernels:
 * - AddN binds every input at once, so summing more than `maxStorageBuffersPerShaderStage - 1`
 *   tensors (autodiff adds one gradient per use of a tensor: a tied embedding, the RoPE tables)
 *   fails validation. Larger sums are done in groups that fit, then summed again (Concat already
 *   does this in tfjs).
 * - Add, Sub, Mod and FloorDiv on int32 run through float32 in its shaders, so they are wrong
 *   above 2^24 (the packed words of quantized weights use all 32 bits: `mod(2147483647, 256)` gave
 *   0). They get exact i32 programs for equal shapes or a single-value operand; other shapes keep
 *   tfjs's kernel.
 * - BatchMatMul dispatches one workgroup row per batch entry and fails an assertion when the
 *   batch exceeds `maxComputeWorkgroupsPerDimension` (65535: blockwise dequantization multiplies
 *   one scale per 64-weight block, 68k blocks for one Qwen2.5-0.5B MLP weight). Such batches are
 *   multiplied in slices and concatenated.
 */
export function installWebgpuKernelFixes(util: WebgpuUtil): void {
  if (installed) return;
  for (const op of Object.keys(INT_OPS)) {
    const original = tf.getKernel(op, 'webgpu');
    if (!original) continue;
    tf.unregisterKernel(op, 'webgpu');
    tf.registerKernel({
      kernelName: op,
      backendName: 'webgpu',
      kernelFunc: (args) => {
        const { inputs, backend } = args as unknown as { inputs: { a: tf.TensorInfo; b: tf.TensorInfo }; backend: WebgpuBackendLike };
        const { a, b } = inputs;
        const size = (t: tf.TensorInfo) => t.shape.reduce((x, y) => x * y, 1);
        const same = a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i]);
        if (a.dtype !== 'int32' || b.dtype !== 'int32' || !(same || size(a) === 1 || size(b) === 1)) return original.kernelFunc(args);
        const outShape = size(b) === 1 && !same ? a.shape : size(a) === 1 && !same ? b.shape : a.shape;
        if (size({ shape: outShape } as tf.TensorInfo) === 0) return original.kernelFunc(args);
        const program = new Int32BinaryProgram(util, outShape, op, size(a) === 1 && !same, size(b) === 1 && !same);
        return backend.runWebGPUProgram(program, [a, b], 'int32');
      },
    });
  }
  installBatchedMatMulSlices();
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

type KernelFn = (args: { inputs: Record<string, tf.TensorInfo>; backend: tf.KernelBackend; attrs?: Record<string, unknown> }) => tf.TensorInfo;

function installBatchedMatMulSlices(): void {
  const matmul = tf.getKernel('BatchMatMul', 'webgpu');
  const slice = tf.getKernel('Slice', 'webgpu')?.kernelFunc as KernelFn | undefined;
  const concat = tf.getKernel('Concat', 'webgpu')?.kernelFunc as unknown as ((args: { inputs: tf.TensorInfo[]; backend: tf.KernelBackend; attrs: { axis: number } }) => tf.TensorInfo) | undefined;
  const reshape = tf.getKernel('Reshape', 'webgpu')?.kernelFunc as KernelFn | undefined;
  if (!matmul || !slice || !concat || !reshape) return;
  tf.unregisterKernel('BatchMatMul', 'webgpu');
  tf.registerKernel({
    kernelName: 'BatchMatMul',
    backendName: 'webgpu',
    kernelFunc: (args) => {
      const { inputs, backend, attrs } = args as unknown as { inputs: { a: tf.TensorInfo; b: tf.TensorInfo }; backend: WebgpuBackendLike; attrs: { transposeA: boolean; transposeB: boolean } };
      const { a, b } = inputs;
      const outer = (t: tf.TensorInfo) => t.shape.slice(0, -2);
      const batch = outer(a).reduce((x, y) => x * y, 1);
      const maxBatch = backend.device.limits.maxComputeWorkgroupsPerDimension;
      const sameOuter = outer(a).length === outer(b).length && outer(a).every((d, i) => d === outer(b)[i]);
      if (batch <= maxBatch || !sameOuter) return matmul.kernelFunc(args);
      const temps: tf.TensorInfo[] = [];
      const keep = <T extends tf.TensorInfo>(t: T): T => (temps.push(t), t);
      const as3 = (t: tf.TensorInfo) => keep(reshape({ inputs: { x: t }, backend, attrs: { shape: [batch, ...t.shape.slice(-2)] } }));
      const [a3, b3] = [as3(a), as3(b)];
      const parts: tf.TensorInfo[] = [];
      for (let start = 0; start < batch; start += maxBatch) {
        const n = Math.min(maxBatch, batch - start);
        const part = (t: tf.TensorInfo) => keep(slice({ inputs: { x: t }, backend, attrs: { begin: [start, 0, 0], size: [n, -1, -1] } }));
        parts.push(keep(matmul.kernelFunc({ ...args, inputs: { a: part(a3), b: part(b3) } } as never) as tf.TensorInfo));
      }
      const joined = keep(concat({ inputs: parts, backend, attrs: { axis: 0 } }));
      const out = reshape({ inputs: { x: joined }, backend, attrs: { shape: [...outer(a), ...joined.shape.slice(1)] } });
      for (const t of temps) backend.disposeData(t.dataId);
      return out;
    },
  });
}
