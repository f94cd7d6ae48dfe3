/**
 * Runs the wasm backend's matmul kernels (BatchMatMul, _FusedMatMul) on the native SGEMM addon,
 * in place on the wasm module's heap: operands are read at their `memoryOffset`, the output is
 * allocated with `makeOutput` and written there, so nothing is copied. Every other kernel stays
 * wasm.
 *
 * Results are bit-identical to the stock kernels (tfjs-backend-wasm 4.22, batch_mat_mul_impl.cc),
 * as this project runs them (BatchMatMul behind wasm-matmul-transpose.ts, which turns transposed
 * operands into a Transpose and a plain product): the addon computes every output element in the
 * same order of the same rounded operations as the stock path the call would take:
 * - CHAIN, XNNPACK's fully-connected path (both batch sizes 1, and for _FusedMatMul no transposes):
 *   one chain over k from the bias (or +0), multiply and add rounded separately, then its clamp;
 * - BLOCKED, slow_batch_matmul (every other call, e.g. 4-D attention): a chain from +0 per block of
 *   48 k's, the blocks' sums added in order.
 * For _FusedMatMul the bias (rank 1, length N or 1) and relu/relu6 run in the addon; leakyrelu,
 * sigmoid, elu and prelu run the stock wasm kernels on the product (the same code the stock fused
 * kernel calls). Where the stock fused kernel is itself wrong (its slow path adds the bias to every
 * 48-k block and uses bias[N-1] for rows past the first, clamps relu per block, and its XNNPACK path
 * reads a length-1 bias past its end), this computes what tfjs-core defines: product, then bias,
 * then activation; equal, bit for bit, to the stock BatchMatMul, Add and activation kernels in turn.
 * Batch dims broadcast as in tfjs-core (the stock slow path handles only a batch of 1 against n).
 */
import * as tf from '@tensorflow/tfjs-core';
import { LoraStudyError } from '../util/errors.js';
import { loadNativeAddon, NATIVE_ADDON_HINT, type NativeSgemm } from './native-addon.js';
import { applyNativeOps } from './native-ops.js';
import { elementCount, heapOffset, runWasmKernel, type WasmHeapBackend } from './wasm-heap.js';
import { overrideWasmKernel, type RestoreKernel } from './wasm-kernel-override.js';

/** `--native-matmul`: auto = on when the addon loaded; on = refuse to start without it; off = stock wasm. */
export type NativeMatmulMode = 'auto' | 'on' | 'off';
export const NATIVE_MATMUL_MODES: readonly NativeMatmulMode[] = ['auto', 'on', 'off'];
export const NATIVE_MATMUL_ENV = 'LORA_STUDY_NATIVE_MATMUL';
export const NATIVE_MATMUL_HELP = `wasm: matmuls on the native SGEMM addon (bit-identical results), auto|on|off (default: ${NATIVE_MATMUL_ENV}, else auto = on when it built; bench compares both)`;

/** What the engine ended up with, recorded with every run (in its device string). */
export interface NativeMatmulState {
  used: boolean;
  /** Micro-kernel (avx512, avx2, portable) and threads when used; why not otherwise. */
  detail: string;
}

/** The addon's clamp activations (native/sgemm/src/sgemm.cc); the others run the stock wasm kernels after it. */
const CLAMP_ACTIVATIONS: Record<string, number> = { linear: 0, relu: 1, relu6: 2 };
const WASM_ACTIVATIONS: Record<string, string> = { relu: 'Relu', relu6: 'Relu6', leakyrelu: 'LeakyRelu', sigmoid: 'Sigmoid', elu: 'Elu', prelu: 'Prelu' };

/** The per-element order the stock kernel uses: XNNPACK's one chain, or slow_batch_matmul's 48-k blocks. */
export const ORDER_CHAIN = 0;
export const ORDER_BLOCKED = 1;


/**
 * For each output batch (row-major over the broadcast batch dims), the flat batch index of a and
 * of b: a size-1 (or missing, right-aligned) dim of an operand repeats its single entry.
 */
export function broadcastBatchIndices(outerA: readonly number[], outerB: readonly number[], outer: readonly number[]): { a: number[]; b: number[] } {
  const n = elementCount(outer);
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

/** Index arrays of the rare broadcasts that are neither "same batch" nor "one matrix", by shapes. */
const broadcastCache = new Map<string, { a: Uint32Array; b: Uint32Array }>();

function batchIndices(outerA: readonly number[], outerB: readonly number[], outer: readonly number[]): { a: Uint32Array; b: Uint32Array } {
  const key = `${outerA.join(',')}|${outerB.join(',')}`;
  let hit = broadcastCache.get(key);
  if (!hit) {
    const idx = broadcastBatchIndices(outerA, outerB, outer);
    hit = { a: Uint32Array.from(idx.a), b: Uint32Array.from(idx.b) };
    if (broadcastCache.size > 256) broadcastCache.clear();
    broadcastCache.set(key, hit);
  }
  return hit;
}

interface MatmulCall {
  a: tf.TensorInfo;
  b: tf.TensorInfo;
  transposeA: boolean;
  transposeB: boolean;
  /** Rank-1 bias (length N or 1) applied in the addon, else null. */
  bias: tf.TensorInfo | null;
  /** 0 linear, 1 relu, 2 relu6. */
  activation: number;
  /** Whether the stock kernel would run this call on XNNPACK (ORDER_CHAIN) rather than its slow path. */
  chain: (batchA: number, batchB: number) => boolean;
}

function nativeMatmul(addon: NativeSgemm, backend: WasmHeapBackend, call: MatmulCall, kernelName: string): tf.TensorInfo {
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
  tf.util.assert(
    K === kb,
    () => `Error in matMul: inner shapes (${K}) and (${kb}) of Tensors with shapes ${a.shape} and ${b.shape} and transposeA=${transposeA} and transposeB=${transposeB} must match.`,
  );
  let outer: number[];
  let batchA = 1;
  let batchB = 1;
  if (ra === 2 && rb === 2) {
    outer = [];
  } else {
    const outerA = a.shape.slice(0, -2);
    const outerB = b.shape.slice(0, -2);
    outer = tf.broadcast_util.assertAndGetBroadcastShape(outerA, outerB);
    batchA = elementCount(outerA);
    batchB = elementCount(outerB);
  }
  const batch = elementCount(outer);
  outer.push(M, N);
  const out = backend.makeOutput(outer, 'float32');
  if (M * N === 0 || batch === 0) return out;
  // Batch b reads a's matrix b (same batch), 0 (one matrix) or from index arrays (other broadcasts).
  let aStep = batchA === batch ? 1 : 0;
  let bStep = batchB === batch ? 1 : 0;
  let aIndex: Uint32Array | null = null;
  let bIndex: Uint32Array | null = null;
  if ((batchA !== batch && batchA !== 1) || (batchB !== batch && batchB !== 1)) {
    const idx = batchIndices(a.shape.slice(0, -2), b.shape.slice(0, -2), outer.slice(0, -2));
    aIndex = idx.a;
    bIndex = idx.b;
    aStep = bStep = 0;
  }
  const offA = heapOffset(backend, a) / 4;
  const offB = heapOffset(backend, b) / 4;
  const cOff = heapOffset(backend, out) / 4;
  const biasOff = call.bias ? heapOffset(backend, call.bias) / 4 : -1;
  const biasLen = call.bias ? elementCount(call.bias.shape) : 0;
  const order = call.chain(batchA, batchB) ? ORDER_CHAIN : ORDER_BLOCKED;
  // Read HEAPF32 after makeOutput: an allocation may have grown (and so replaced) the heap.
  addon.matmul(backend.wasm.HEAPF32, offA, offB, cOff, batch, aStep, bStep, aIndex, bIndex, M, N, K, transposeA, transposeB, order, biasOff, biasLen, call.activation);
  return out;
}

interface KernelArgs {
  inputs: Record<string, tf.TensorInfo | null | undefined>;
  backend: WasmHeapBackend;
  attrs: Record<string, unknown>;
}

/**
 * _FusedMatMul: a rank-1 bias (length N or 1) and relu/relu6 run in the addon; other activations
 * and other biases run the stock wasm kernels after it.
 */
function fusedMatmul(addon: NativeSgemm, args: KernelArgs): tf.TensorInfo {
  const { inputs, backend, attrs } = args;
  const a = inputs.a!;
  const b = inputs.b!;
  const bias = inputs.bias ?? null;
  const prelu = inputs.preluActivationWeights ?? null;
  const activation = String(attrs.activation ?? 'linear');
  const transposeA = Boolean(attrs.transposeA);
  const transposeB = Boolean(attrs.transposeB);
  if (activation !== 'linear' && WASM_ACTIVATIONS[activation] === undefined) throw new Error(`${activation} activation not yet supported for _FusedMatMul`);
  const N = transposeB ? b.shape[b.shape.length - 2] : b.shape[b.shape.length - 1];
  const biasInKernel = bias === null || (bias.shape.length === 1 && (bias.shape[0] === N || bias.shape[0] === 1));
  const clamp = biasInKernel ? CLAMP_ACTIVATIONS[activation] : undefined;
  let out = nativeMatmul(
    addon,
    backend,
    {
      a, b, transposeA, transposeB,
      bias: biasInKernel ? bias : null,
      activation: clamp ?? 0,
      // The stock fused kernel is not behind the transpose wrapper: a transposed operand takes its slow path.
      chain: (batchA, batchB) => batchA === 1 && batchB === 1 && !transposeA && !transposeB,
    },
    '_FusedMatMul',
  );
  const replace = (next: tf.TensorInfo): void => {
    backend.disposeData(out.dataId);
    out = next;
  };
  if (!biasInKernel) replace(runWasmKernel('Add', backend, { a: out, b: bias! }));
  if (clamp === undefined && activation !== 'linear') {
    const name = WASM_ACTIVATIONS[activation];
    const inputs: Record<string, tf.TensorInfo> = name === 'Prelu' ? { x: out, alpha: prelu! } : { x: out };
    replace(runWasmKernel(name, backend, inputs, name === 'LeakyRelu' ? { alpha: Number(attrs.leakyreluAlpha) || 0 } : {}));
  }
  return out;
}

const batchChain = (batchA: number, batchB: number): boolean => batchA === 1 && batchB === 1;

let restore: RestoreKernel[] | null = null;

/** Registers the native kernels for the wasm backend (idempotent), with `threads` compute threads. */
export function enableNativeMatmul(addon: NativeSgemm, threads: number): void {
  addon.setThreads(threads);
  if (restore) return;
  if (!tf.getKernel('BatchMatMul', 'wasm') || !tf.getKernel('_FusedMatMul', 'wasm')) {
    throw new Error('the wasm backend has no BatchMatMul/_FusedMatMul kernel to replace');
  }
  restore = [
    overrideWasmKernel('BatchMatMul', (args) => {
      const { inputs, backend, attrs } = args as unknown as KernelArgs;
      // Stands in for wasm-matmul-transpose.ts + the stock kernel: a Transpose, then a plain
      // product, on XNNPACK exactly when both batch sizes are 1.
      const call = { a: inputs.a!, b: inputs.b!, transposeA: Boolean(attrs.transposeA), transposeB: Boolean(attrs.transposeB), bias: null, activation: 0, chain: batchChain };
      return nativeMatmul(addon, backend, call, 'BatchMatMul');
    })!,
    overrideWasmKernel('_FusedMatMul', (args) => fusedMatmul(addon, args as unknown as KernelArgs))!,
  ];
}

/** Puts back the kernels that were registered before {@link enableNativeMatmul}. */
export function disableNativeMatmul(): void {
  if (!restore) return;
  for (const undo of restore) undo();
  restore = null;
}

export function nativeMatmulEnabled(): boolean {
  return restore !== null;
}

/**
 * The mode from the flag, else {@link NATIVE_MATMUL_ENV}, else `fallback` (auto): the native
 * kernels give the stock kernels' results bit for bit, so runs use them whenever the addon built.
 */
export function resolveNativeMatmulMode(
  flag: NativeMatmulMode | undefined,
  env: NodeJS.ProcessEnv = process.env,
  fallback: NativeMatmulMode = 'auto',
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
