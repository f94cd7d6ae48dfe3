/**
 * Runs the wasm backend's matmul kernels (BatchMatMul, _FusedMatMul) on the native SGEMM addon,
 * in place on the wasm module's heap: operands are read at their `memoryOffset`, the output is
 * allocated with `makeOutput` and written there, so nothing is copied. Every other kernel stays
 * wasm. Semantics are tfjs-core's (as the cpu backend computes them): any batch dims broadcast,
 * both transposes, and for the fused kernel a bias broadcast to the output, then the activation.
 */
import * as tf from '@tensorflow/tfjs-core';
import { LoraStudyError } from '../util/errors.js';
import { loadNativeAddon, NATIVE_ADDON_HINT, type NativeSgemm } from './native-addon.js';
import { applyNativeOps } from './native-ops.js';

/** `--native-matmul`: auto = on when the addon loaded; on = refuse to start without it; off = stock wasm. */
export type NativeMatmulMode = 'auto' | 'on' | 'off';
export const NATIVE_MATMUL_MODES: readonly NativeMatmulMode[] = ['auto', 'on', 'off'];
export const NATIVE_MATMUL_ENV = 'LORA_STUDY_NATIVE_MATMUL';
export const NATIVE_MATMUL_HELP = `wasm: matmuls on the native SGEMM addon, auto|on|off (default: ${NATIVE_MATMUL_ENV}, else off; auto = on when it built; bench defaults to auto and compares both)`;

/** What the engine ended up with, recorded with every run (in its device string). */
export interface NativeMatmulState {
  used: boolean;
  /** Micro-kernel (avx512, avx2, portable) and threads when used; why not otherwise. */
  detail: string;
}

interface WasmBackendLike {
  wasm: { HEAPF32: Float32Array };
  dataIdMap: { get(dataId: object): { memoryOffset: number } };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  disposeData(dataId: object): void;
}

/** The activation codes of native/sgemm/src/sgemm.cc's epilogue. */
const ACTIVATIONS: Record<string, number> = { linear: 0, relu: 1, relu6: 2, leakyrelu: 3, sigmoid: 4, elu: 5 };

const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/**
 * For each output batch (row-major over the broadcast batch dims), the flat batch index of a and
 * of b: a size-1 (or missing, right-aligned) dim of an operand repeats its single entry.
 */
export function broadcastBatchIndices(outerA: readonly number[], outerB: readonly number[], outer: readonly number[]): { a: number[]; b: number[] } {
  const n = size(outer);
  const a: number[] = new Array(n);
  const b: number[] = new Array(n);
  const index = (dims: readonly number[], coord: number[]): number => {
    let flat = 0;
    const off = outer.length - dims.length;
    for (let d = 0; d < dims.length; d++) flat = flat * dims[d] + (dims[d] === 1 ? 0 : coord[d + off]);
    return flat;
  };
  const coord = new Array(outer.length).fill(0);
  for (let i = 0; i < n; i++) {
    a[i] = index(outerA, coord);
    b[i] = index(outerB, coord);
    for (let d = outer.length - 1; d >= 0; d--) {
      if (++coord[d] < outer[d]) break;
      coord[d] = 0;
    }
  }
  return { a, b };
}

interface MatmulCall {
  a: tf.TensorInfo;
  b: tf.TensorInfo;
  transposeA: boolean;
  transposeB: boolean;
  /** Rank-1 bias (length N or 1) applied in the kernel, else null. */
  bias: tf.TensorInfo | null;
  activation: number;
  alpha: number;
}

function nativeMatmul(addon: NativeSgemm, backend: WasmBackendLike, call: MatmulCall, kernelName: string): tf.TensorInfo {
  const { a, b, transposeA, transposeB } = call;
  if (a.dtype !== 'float32' || b.dtype !== 'float32') {
    throw new Error(`${kernelName} for non non-float32 tensors not yet supported.`);
  }
  const ra = a.shape.length;
  const rb = b.shape.length;
  const K = transposeA ? a.shape[ra - 2] : a.shape[ra - 1];
  const kb = transposeB ? b.shape[rb - 1] : b.shape[rb - 2];
  const M = transposeA ? a.shape[ra - 1] : a.shape[ra - 2];
  const N = transposeB ? b.shape[rb - 2] : b.shape[rb - 1];
  const outerA = a.shape.slice(0, -2);
  const outerB = b.shape.slice(0, -2);
  const outer = tf.broadcast_util.assertAndGetBroadcastShape(outerA, outerB);
  tf.util.assert(
    K === kb,
    () => `Error in matMul: inner shapes (${K}) and (${kb}) of Tensors with shapes ${a.shape} and ${b.shape} and transposeA=${transposeA} and transposeB=${transposeB} must match.`,
  );
  const out = backend.makeOutput([...outer, M, N], 'float32');
  const batch = size(outer);
  if (batch * M * N === 0) return out;
  const idx = broadcastBatchIndices(outerA, outerB, outer);
  const offA = backend.dataIdMap.get(a.dataId).memoryOffset / 4;
  const offB = backend.dataIdMap.get(b.dataId).memoryOffset / 4;
  const aOffsets = Uint32Array.from(idx.a, (i) => offA + i * M * K);
  const bOffsets = Uint32Array.from(idx.b, (i) => offB + i * K * N);
  const cOff = backend.dataIdMap.get(out.dataId).memoryOffset / 4;
  const biasOff = call.bias ? backend.dataIdMap.get(call.bias.dataId).memoryOffset / 4 : -1;
  const biasLen = call.bias ? size(call.bias.shape) : 0;
  // Read HEAPF32 after makeOutput: an allocation may have grown (and so replaced) the heap.
  addon.matmul(backend.wasm.HEAPF32, aOffsets, bOffsets, cOff, M, N, K, transposeA, transposeB, biasOff, biasLen, call.activation, call.alpha);
  return out;
}

interface KernelArgs {
  inputs: Record<string, tf.TensorInfo | null | undefined>;
  backend: WasmBackendLike;
  attrs: Record<string, unknown>;
}

function runWasmKernel(name: string, backend: WasmBackendLike, inputs: Record<string, tf.TensorInfo>, attrs: Record<string, unknown> = {}): tf.TensorInfo {
  const k = tf.getKernel(name, 'wasm');
  if (!k) throw new Error(`the wasm backend has no ${name} kernel`);
  return k.kernelFunc({ inputs, backend, attrs } as never) as tf.TensorInfo;
}

/** _FusedMatMul: a rank-1 bias and every activation but prelu run in the kernel; the rest as tfjs-core defines them. */
function fusedMatmul(addon: NativeSgemm, args: KernelArgs): tf.TensorInfo {
  const { inputs, backend, attrs } = args;
  const a = inputs.a!;
  const b = inputs.b!;
  const bias = inputs.bias ?? null;
  const prelu = inputs.preluActivationWeights ?? null;
  const activation = String(attrs.activation ?? 'linear');
  const alpha = Number(attrs.leakyreluAlpha ?? 0.2);
  const N = attrs.transposeB ? b.shape[b.shape.length - 2] : b.shape[b.shape.length - 1];
  const biasInKernel = bias === null || (bias.shape.length <= 1 && (size(bias.shape) === N || size(bias.shape) === 1));
  const actCode = ACTIVATIONS[activation];
  if (activation !== 'prelu' && actCode === undefined) throw new Error(`${activation} activation not yet supported for _FusedMatMul`);
  const actInKernel = biasInKernel && actCode !== undefined;
  let out = nativeMatmul(
    addon,
    backend,
    {
      a, b,
      transposeA: Boolean(attrs.transposeA),
      transposeB: Boolean(attrs.transposeB),
      bias: biasInKernel ? bias : null,
      activation: actInKernel ? actCode : 0,
      alpha,
    },
    '_FusedMatMul',
  );
  const replace = (next: tf.TensorInfo): void => {
    backend.disposeData(out.dataId);
    out = next;
  };
  if (!biasInKernel) replace(runWasmKernel('Add', backend, { a: out, b: bias! }));
  if (activation === 'prelu') replace(runWasmKernel('Prelu', backend, { x: out, alpha: prelu! }));
  else if (!actInKernel && activation !== 'linear') {
    const name = { relu: 'Relu', relu6: 'Relu6', leakyrelu: 'LeakyRelu', sigmoid: 'Sigmoid', elu: 'Elu' }[activation]!;
    replace(runWasmKernel(name, backend, { x: out }, name === 'LeakyRelu' ? { alpha } : {}));
  }
  return out;
}

let saved: { batch: tf.KernelConfig; fused: tf.KernelConfig } | null = null;

function swapKernel(name: string, config: tf.KernelConfig): void {
  tf.unregisterKernel(name, 'wasm');
  tf.registerKernel(config);
}

/** Registers the native kernels for the wasm backend (idempotent), with `threads` compute threads. */
export function enableNativeMatmul(addon: NativeSgemm, threads: number): void {
  addon.setThreads(threads);
  if (saved) return;
  const batch = tf.getKernel('BatchMatMul', 'wasm');
  const fused = tf.getKernel('_FusedMatMul', 'wasm');
  if (!batch || !fused) throw new Error('the wasm backend has no BatchMatMul/_FusedMatMul kernel to replace');
  saved = { batch, fused };
  swapKernel('BatchMatMul', {
    kernelName: 'BatchMatMul',
    backendName: 'wasm',
    kernelFunc: (args) => {
      const { inputs, backend, attrs } = args as unknown as KernelArgs;
      const call = { a: inputs.a!, b: inputs.b!, transposeA: Boolean(attrs.transposeA), transposeB: Boolean(attrs.transposeB), bias: null, activation: 0, alpha: 0 };
      return nativeMatmul(addon, backend, call, 'BatchMatMul');
    },
  });
  swapKernel('_FusedMatMul', {
    kernelName: '_FusedMatMul',
    backendName: 'wasm',
    kernelFunc: (args) => fusedMatmul(addon, args as unknown as KernelArgs),
  });
}

/** Puts back the kernels that were registered before {@link enableNativeMatmul}. */
export function disableNativeMatmul(): void {
  if (!saved) return;
  swapKernel('BatchMatMul', saved.batch);
  swapKernel('_FusedMatMul', saved.fused);
  saved = null;
}

export function nativeMatmulEnabled(): boolean {
  return saved !== null;
}

/**
 * The mode from the flag, else {@link NATIVE_MATMUL_ENV}, else `fallback`: off for runs, because
 * over a 300-step study the native kernel's different summation order moves eval losses by more
 * than 1e-6 (r=32 seed 0 of the bundled rank study: 1.859 stock, 1.556 native), so the stock
 * kernels stay the default until that is resolved; `bench` passes auto to compare both.
 */
export function resolveNativeMatmulMode(
  flag: NativeMatmulMode | undefined,
  env: NodeJS.ProcessEnv = process.env,
  fallback: NativeMatmulMode = 'off',
): NativeMatmulMode {
  const raw = flag ?? env[NATIVE_MATMUL_ENV];
  if (raw === undefined || raw === '') return fallback;
  if (!(NATIVE_MATMUL_MODES as readonly string[]).includes(raw)) {
    throw new LoraStudyError(`--native-matmul must be one of ${NATIVE_MATMUL_MODES.join(', ')}; got "${raw}"${flag === undefined ? ` (from ${NATIVE_MATMUL_ENV})` : ''}`, {
      hint: 'auto uses the native matmul when its addon built, on requires it, off keeps the stock wasm kernels',
    });
  }
  return raw as NativeMatmulMode;
}

/** Applies the mode to the (already started) wasm backend. */
export function applyNativeMatmul(mode: NativeMatmulMode, threads: number): NativeMatmulState {
  const ops = applyNativeOps(mode, threads);
  if (mode === 'off') {
    disableNativeMatmul();
    return { used: false, detail: `off (--native-matmul off)${ops.length ? `; ${ops.length} bit-exact native ops` : ''}` };
  }
  const load = loadNativeAddon();
  if (!load.ok) {
    disableNativeMatmul();
    if (mode === 'on') throw new LoraStudyError(`--native-matmul on: ${load.reason}`, { hint: NATIVE_ADDON_HINT });
    return { used: false, detail: load.reason };
  }
  enableNativeMatmul(load.addon, threads);
  return { used: true, detail: `${load.kernel}, ${threads} thread${threads === 1 ? '' : 's'}${ops.length ? `, ${ops.length} bit-exact native ops` : ''}` };
}
