/**
 * Runs the wasm backend's hot non-matmul kernels natively (native/sgemm/src/ops.cc), in place on
 * the wasm heap, multi-threaded above a size threshold, with results BIT-IDENTICAL to the stock
 * wasm kernels (tfjs-backend-wasm 4.22): IEEE elementwise arithmetic with broadcasting (Add, Sub,
 * Multiply, RealDiv, Neg, Square), reductions that keep the stock accumulation order (Sum, Mean,
 * Max: per output one sequential chain from 0, over the reduced axes in the order given; ArgMax,
 * ArgMin: the stock scan), and data
 * movement (Transpose, Slice, SplitV, Concat, GatherV2, PadV2, Tile). Any dtype, shape or attribute these do not
 * reproduce exactly goes to the stock kernel. Exp runs natively, with the stock kernel's bits,
 * where glibc's non-FMA expf is linked in and passes the start-up probe (native-libm.ts), else as
 * the stock kernel split over wasm instances (wasm-split-unary.ts); the other transcendental
 * kernels (Log, Tanh, ...) stay wasm.
 */
import * as tf from '@tensorflow/tfjs-core';
import { LoraStudyError } from '../util/errors.js';
import { NATIVE_ADDON_HINT, NATIVE_ADDON_PATH_ENV } from './native-addon.js';
import { disableNativeFused, enableNativeFused } from './native-fused.js';
import { applyNativeLibm, disableNativeLibm } from './native-libm.js';
import { elementCount, heapOffset, type WasmHeapBackend, type WasmKernelArgs } from './wasm-heap.js';
import { siblingAddonLoader, type SiblingAddonLoad } from './sibling-addon.js';
import { overrideWasmKernel, type RestoreKernel } from './wasm-kernel-override.js';
import { applySplitUnary, disableSplitUnary } from './wasm-split-unary.js';

/** The ops addon's API (native/sgemm/src/ops.cc). Offsets in params are bytes; shapes and strides count elements. */
export interface NativeOpsAddon {
  binary(heap: Uint8Array, params: Float64Array): void;
  unary(heap: Uint8Array, params: Float64Array): void;
  reduce(heap: Uint8Array, params: Float64Array): void;
  copy(heap: Uint8Array, params: Float64Array): void;
  /** -1, or the position of the first out-of-range index (then nothing was written). */
  gather(heap: Uint8Array, params: Float64Array): number;
  /** params: elemBytes (1 or 4), dstOff, n, the element's bit pattern. */
  fill(heap: Uint8Array, params: Float64Array): void;
  setThreads(n: number): number;
  /** The fused layer kernels (native-fused.ts); absent in builds from before them. */
  fused?(heap: Uint8Array, params: Float64Array): void;
  /** The calling convention the build implements ({@link NATIVE_OPS_API}); absent before 2. */
  api?: number;
}

/** The ops addon API this code calls: 2 = with fill() and ArgMax/ArgMin in reduce(); 3 = with fused() and fused.cc's layer ops; 4 = with its loss and AdamW ops too; 5 = with the loss's forward row skip; 6 = with the LayerNorm and gelu_new ops. */
export const NATIVE_OPS_API = 6;

export type NativeOpsLoad = SiblingAddonLoad<NativeOpsAddon>;

const opsLoader = siblingAddonLoader<NativeOpsAddon>({ file: 'ops.cjs', name: 'ops', entry: 'binary', api: NATIVE_OPS_API, apiWhenAbsent: '1' });

/**
 * Loads `lora-study-native/ops.cjs` (beside the matmul addon, or beside {@link NATIVE_ADDON_PATH_ENV}'s
 * module: pointing that at a missing path, as tests do to simulate a failed build, takes both away).
 */
export function loadNativeOps(): NativeOpsLoad {
  return opsLoader.load();
}

/** Forgets the cached load (tests that switch {@link NATIVE_ADDON_PATH_ENV}). */
export function resetNativeOpsCache(): void {
  opsLoader.reset();
}

type Impl = (addon: NativeOpsAddon, args: WasmKernelArgs, stock: tf.KernelFunc) => tf.TensorInfo | tf.TensorInfo[];

const DTYPE_CODE: Partial<Record<tf.DataType, number>> = { float32: 0, int32: 1, bool: 2 };
const ELEM_BYTES: Partial<Record<tf.DataType, number>> = { float32: 4, int32: 4, bool: 1 };
const MAX_RANK = 12;

let params = new Float64Array(256);
function paramsOf(n: number): Float64Array {
  if (params.length < n) params = new Float64Array(Math.max(n, params.length * 2));
  return params;
}

const stridesOf = (shape: readonly number[]): number[] => {
  const s = new Array<number>(shape.length);
  for (let i = shape.length - 1, acc = 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
};

const BINARY_OPS: Record<string, number> = { Add: 0, Sub: 1, Multiply: 2, RealDiv: 3 };

/** Add/Sub/Multiply/RealDiv: float32 (XNNPACK's one IEEE op per element), int32 (wrapping) and bool; RealDiv float32 only. */
function binary(kernel: string): Impl {
  const op = BINARY_OPS[kernel];
  return (addon, args, stock) => {
    const { a, b } = args.inputs;
    const { backend } = args;
    const code = DTYPE_CODE[a.dtype];
    if (code === undefined || a.dtype !== b.dtype || (kernel === 'RealDiv' && a.dtype !== 'float32')) return stock(args as never);
    const outShape = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
    const rank = outShape.length;
    if (rank > MAX_RANK || elementCount(outShape) === 0) return stock(args as never);
    const out = backend.makeOutput(outShape, a.dtype);
    const p = paramsOf(6 + 3 * rank);
    p[0] = op;
    p[1] = code;
    p[2] = heapOffset(backend, out);
    p[3] = heapOffset(backend, a);
    p[4] = heapOffset(backend, b);
    p[5] = rank;
    const as = stridesOf(a.shape);
    const bs = stridesOf(b.shape);
    for (let i = 0; i < rank; i++) {
      p[6 + i] = outShape[i];
      const ai = i - (rank - a.shape.length);
      const bi = i - (rank - b.shape.length);
      p[6 + rank + i] = ai < 0 || a.shape[ai] === 1 ? 0 : as[ai];
      p[6 + 2 * rank + i] = bi < 0 || b.shape[bi] === 1 ? 0 : bs[bi];
    }
    // Read HEAPU8 after makeOutput: an allocation may have grown (and so replaced) the heap.
    addon.binary(backend.wasm.HEAPU8, p);
    return out;
  };
}

/** Neg (float32: a sign flip) and Square (float32 x*x, int32 wrapping). */
function unary(kernel: 'Neg' | 'Square'): Impl {
  return (addon, args, stock) => {
    const { x } = args.inputs;
    const { backend } = args;
    const ok = x.dtype === 'float32' || (kernel === 'Square' && x.dtype === 'int32');
    const n = elementCount(x.shape);
    if (!ok || n === 0) return stock(args as never);
    const out = backend.makeOutput(x.shape.slice(), x.dtype);
    const p = paramsOf(5);
    p[0] = kernel === 'Neg' ? 0 : 1;
    p[1] = DTYPE_CODE[x.dtype]!;
    p[2] = heapOffset(backend, out);
    p[3] = heapOffset(backend, x);
    p[4] = n;
    addon.unary(backend.wasm.HEAPU8, p);
    return out;
  };
}

/** The dims of x not in `axes`, in order (the output's dims). */
const keptDims = (rank: number, axes: readonly number[]): number[] => {
  const kept: number[] = [];
  for (let i = 0; i < rank; i++) if (!axes.includes(i)) kept.push(i);
  return kept;
};

/** reduce(heap, [op, dtype, outOff, xOff, nk, keptShape, keptStrides, nr, redShape, redStrides]): reduces x over `axes`, in that order, into out. */
function runReduce(addon: NativeOpsAddon, backend: WasmHeapBackend, op: number, x: tf.TensorInfo, out: tf.TensorInfo, axes: readonly number[]): void {
  const xs = stridesOf(x.shape);
  const kept = keptDims(x.shape.length, axes);
  const nk = kept.length;
  const nr = axes.length;
  const p = paramsOf(6 + 2 * nk + 2 * nr);
  p[0] = op;
  p[1] = DTYPE_CODE[x.dtype]!;
  p[2] = heapOffset(backend, out);
  p[3] = heapOffset(backend, x);
  p[4] = nk;
  for (let i = 0; i < nk; i++) {
    p[5 + i] = x.shape[kept[i]];
    p[5 + nk + i] = xs[kept[i]];
  }
  p[5 + 2 * nk] = nr;
  for (let i = 0; i < nr; i++) {
    p[6 + 2 * nk + i] = x.shape[axes[i]];
    p[6 + 2 * nk + nr + i] = xs[axes[i]];
  }
  addon.reduce(backend.wasm.HEAPU8, p);
}

/**
 * Sum/Mean/Max. The stock kernel transposes the reduced axes innermost, in the order given
 * (getAxesPermutation), then per output accumulates them in row-major order; the native kernel
 * reads the same elements in the same order straight from the untransposed input.
 */
function reduce(kernel: 'Sum' | 'Mean' | 'Max'): Impl {
  const op = { Sum: 0, Mean: 1, Max: 2 }[kernel];
  return (addon, args, stock) => {
    const { x } = args.inputs;
    const { backend, attrs } = args;
    const ok = x.dtype === 'float32' || (x.dtype === 'int32' && kernel !== 'Mean');
    const rank = x.shape.length;
    if (!ok || rank > MAX_RANK || elementCount(x.shape) === 0) return stock(args as never);
    const axes = tf.util.parseAxisParam((kernel === 'Max' ? attrs.reductionIndices : attrs.axis) as number | number[], x.shape);
    if (new Set(axes).size !== axes.length) return stock(args as never);
    const out = backend.makeOutput(keptDims(rank, axes).map((i) => x.shape[i]), kernel === 'Mean' ? 'float32' : x.dtype);
    runReduce(addon, backend, op, x, out, axes);
    if (attrs.keepDims) out.shape = tf.backend_util.expandShapeToKeepDim(out.shape, axes);
    return out;
  };
}

/** ArgMax/ArgMin over one axis: the stock scan (first of equal values; NaN only at index 0), output int32. */
function argReduce(kernel: 'ArgMax' | 'ArgMin'): Impl {
  return (addon, args, stock) => {
    const { x } = args.inputs;
    const { backend, attrs } = args;
    const rank = x.shape.length;
    const code = DTYPE_CODE[x.dtype];
    if (code === undefined || rank === 0 || rank > MAX_RANK || elementCount(x.shape) === 0) return stock(args as never);
    const axes = tf.util.parseAxisParam(attrs.axis as number | number[], x.shape);
    if (axes.length !== 1) return stock(args as never);
    const out = backend.makeOutput(keptDims(rank, axes).map((i) => x.shape[i]), 'int32');
    runReduce(addon, backend, kernel === 'ArgMax' ? 3 : 4, x, out, axes);
    return out;
  };
}

/** One strided copy in a `copy` params block: elemBytes, rank, srcOff, dstOff, shape, srcStrides, dstStrides. */
interface CopySpec {
  shape: readonly number[];
  src: number;
  srcStrides: readonly number[];
  dst: number;
  dstStrides: readonly number[];
}

function runCopies(addon: NativeOpsAddon, backend: WasmHeapBackend, elemBytes: number, copies: CopySpec[]): void {
  let n = 1;
  for (const c of copies) n += 4 + 3 * c.shape.length;
  const p = paramsOf(n);
  p[0] = copies.length;
  let at = 1;
  for (const c of copies) {
    const r = c.shape.length;
    p[at] = elemBytes;
    p[at + 1] = r;
    p[at + 2] = c.src;
    p[at + 3] = c.dst;
    for (let i = 0; i < r; i++) {
      p[at + 4 + i] = c.shape[i];
      p[at + 4 + r + i] = c.srcStrides[i];
      p[at + 4 + 2 * r + i] = c.dstStrides[i];
    }
    at += 4 + 3 * r;
  }
  addon.copy(backend.wasm.HEAPU8, p);
}

const transpose: Impl = (addon, args, stock) => {
  const { x } = args.inputs;
  const { backend } = args;
  const perm = args.attrs.perm as number[];
  const es = ELEM_BYTES[x.dtype];
  const rank = x.shape.length;
  // A permutation that only moves size-1 dims is the stock kernel's zero-copy identity.
  const moved = perm.filter((d) => x.shape[d] !== 1);
  const noop = moved.every((d, i) => i === 0 || d > moved[i - 1]);
  if (es === undefined || rank > MAX_RANK || noop || elementCount(x.shape) === 0) return stock(args as never);
  const outShape = perm.map((d) => x.shape[d]);
  const out = backend.makeOutput(outShape, x.dtype);
  const xs = stridesOf(x.shape);
  const xOff = heapOffset(backend, x);
  runCopies(addon, backend, es, [{ shape: outShape, src: xOff, srcStrides: perm.map((d) => xs[d]), dst: heapOffset(backend, out), dstStrides: stridesOf(outShape) }]);
  return out;
};

const slice: Impl = (addon, args, stock) => {
  const { x } = args.inputs;
  const { backend, attrs } = args;
  const es = ELEM_BYTES[x.dtype];
  if (es === undefined || x.shape.length > MAX_RANK) return stock(args as never);
  const [begin, sz] = tf.slice_util.parseSliceParams(x as tf.Tensor, attrs.begin as number[], attrs.size as number[]);
  if (elementCount(sz) === 0) return stock(args as never);
  const out = backend.makeOutput(sz, x.dtype);
  const xs = stridesOf(x.shape);
  let flat = 0;
  for (let i = 0; i < begin.length; i++) flat += begin[i] * xs[i];
  runCopies(addon, backend, es, [{ shape: sz, src: heapOffset(backend, x) + flat * es, srcStrides: xs, dst: heapOffset(backend, out), dstStrides: stridesOf(sz) }]);
  return out;
};

const splitV: Impl = (addon, args, stock) => {
  const { x } = args.inputs;
  const { backend, attrs } = args;
  const es = ELEM_BYTES[x.dtype];
  if (es === undefined || x.shape.length > MAX_RANK || elementCount(x.shape) === 0) return stock(args as never);
  const axis = tf.util.parseAxisParam(attrs.axis as number, x.shape)[0];
  const sizes = tf.backend_util.prepareSplitSize(x as tf.Tensor, attrs.numOrSizeSplits as number[] | number, axis);
  const xs = stridesOf(x.shape);
  const xOff = heapOffset(backend, x);
  const outs: tf.TensorInfo[] = [];
  const copies: CopySpec[] = [];
  let begin = 0;
  for (const s of sizes) {
    const shape = x.shape.slice();
    shape[axis] = s;
    const out = backend.makeOutput(shape, x.dtype);
    outs.push(out);
    if (elementCount(shape) > 0) copies.push({ shape, src: xOff + begin * xs[axis] * es, srcStrides: xs, dst: heapOffset(backend, out), dstStrides: stridesOf(shape) });
    begin += s;
  }
  if (copies.length) runCopies(addon, backend, es, copies);
  return outs;
};

const concat: Impl = (addon, args, stock) => {
  const inputs = Object.values(args.inputs) as tf.TensorInfo[];
  const { backend } = args;
  const dtype = inputs[0].dtype;
  const es = ELEM_BYTES[dtype];
  if (es === undefined || inputs.some((t) => t.dtype !== dtype)) return stock(args as never);
  const axis = tf.util.parseAxisParam(args.attrs.axis as number, inputs[0].shape)[0];
  tf.backend_util.assertParamsConsistent(inputs.map((t) => t.shape), axis);
  const outShape = tf.backend_util.computeOutShape(inputs.map((t) => t.shape), axis);
  const nonEmpty = inputs.filter((t) => elementCount(t.shape) > 0);
  // One non-empty input: the stock kernel's zero-copy identity.
  if (nonEmpty.length <= 1 || elementCount(outShape) === 0) return stock(args as never);
  const out = backend.makeOutput(outShape, dtype);
  const batch = elementCount(nonEmpty[0].shape.slice(0, axis));
  const inner = nonEmpty.map((t) => elementCount(t.shape.slice(axis)));
  const total = inner.reduce((s, v) => s + v, 0);
  const outOff = heapOffset(backend, out);
  let col = 0;
  const copies = nonEmpty.map((t, i) => {
    const c: CopySpec = { shape: [batch, inner[i]], src: heapOffset(backend, t), srcStrides: [inner[i], 1], dst: outOff + col * es, dstStrides: [total, 1] };
    col += inner[i];
    return c;
  });
  runCopies(addon, backend, es, copies);
  return out;
};

/**
 * PadV2: the stock kernel takes the constant as a C float (float32: that value; int32: truncated;
 * bool: non-zero), fills the padding and copies x inside. Constants an int32 cannot hold exactly go to stock.
 */
const padV2: Impl = (addon, args, stock) => {
  const { x } = args.inputs;
  const { backend, attrs } = args;
  const es = ELEM_BYTES[x.dtype];
  const paddings = attrs.paddings as Array<[number, number]>;
  const c = Math.fround(Number(attrs.constantValue ?? 0));
  const rank = x.shape.length;
  if (es === undefined || rank > MAX_RANK || elementCount(x.shape) === 0) return stock(args as never);
  let bitsOf: number;
  if (x.dtype === 'float32') {
    // The stock kernel caches XNNPACK pad operators in a std::map keyed by the float constant, where
    // NaN is equivalent to every key and -0 to +0: it pads with whichever equivalent constant it
    // cached first (NaN after -7 pads -7). Those constants go to the stock kernel.
    if (Number.isNaN(c) || Object.is(c, -0)) return stock(args as never);
    bitsOf = new Uint32Array(Float32Array.of(c).buffer)[0];
  }
  else if (x.dtype === 'int32') {
    if (!Number.isFinite(c) || Math.abs(c) >= 2 ** 31) return stock(args as never);
    bitsOf = Math.trunc(c) >>> 0;
  } else bitsOf = c !== 0 ? 1 : 0; // NaN counts as true, as static_cast<bool>
  const outShape = paddings.map((p, i) => p[0] + x.shape[i] + p[1]);
  const out = backend.makeOutput(outShape, x.dtype);
  const outOff = heapOffset(backend, out);
  const os = stridesOf(outShape);
  const p = paramsOf(4);
  p[0] = es;
  p[1] = outOff;
  p[2] = elementCount(outShape);
  p[3] = bitsOf;
  addon.fill(backend.wasm.HEAPU8, p);
  let inner = 0;
  for (let i = 0; i < rank; i++) inner += paddings[i][0] * os[i];
  runCopies(addon, backend, es, [{ shape: x.shape, src: heapOffset(backend, x), srcStrides: stridesOf(x.shape), dst: outOff + inner * es, dstStrides: os }]);
  return out;
};

/** Tile: one strided copy over the view [reps0, x0, reps1, x1, …] of the output (x's strides, 0 across reps). */
const tile: Impl = (addon, args, stock) => {
  const { x } = args.inputs;
  const { backend } = args;
  const reps = args.attrs.reps as number[];
  const es = ELEM_BYTES[x.dtype];
  const rank = x.shape.length;
  const outShape = x.shape.map((d, i) => d * reps[i]);
  if (es === undefined || 2 * rank > MAX_RANK || elementCount(outShape) === 0) return stock(args as never);
  const out = backend.makeOutput(outShape, x.dtype);
  const xs = stridesOf(x.shape);
  const view: number[] = [];
  const src: number[] = [];
  for (let i = 0; i < rank; i++) {
    view.push(reps[i], x.shape[i]);
    src.push(0, xs[i]);
  }
  runCopies(addon, backend, es, [{ shape: view, src: heapOffset(backend, x), srcStrides: src, dst: heapOffset(backend, out), dstStrides: stridesOf(view) }]);
  return out;
};

const gatherV2: Impl = (addon, args, stock) => {
  const { x, indices } = args.inputs;
  const { backend, attrs } = args;
  const es = ELEM_BYTES[x.dtype];
  if (es === undefined || indices.dtype !== 'int32' || Number(attrs.batchDims ?? 0) !== 0 || elementCount(x.shape) === 0) return stock(args as never);
  const axis = tf.util.parseAxisParam(attrs.axis as number, x.shape)[0];
  const outShape = [...x.shape.slice(0, axis), ...indices.shape, ...x.shape.slice(axis + 1)];
  const out = backend.makeOutput(outShape, x.dtype);
  const nIdx = elementCount(indices.shape);
  const p = paramsOf(8);
  p[0] = es;
  p[1] = heapOffset(backend, x);
  p[2] = heapOffset(backend, indices);
  p[3] = heapOffset(backend, out);
  p[4] = elementCount(x.shape.slice(0, axis));
  p[5] = x.shape[axis];
  p[6] = elementCount(x.shape.slice(axis + 1));
  p[7] = nIdx;
  const bad = addon.gather(backend.wasm.HEAPU8, p);
  if (bad >= 0) {
    const heap = backend.wasm.HEAPU8;
    const value = new Int32Array(heap.buffer, heap.byteOffset + heapOffset(backend, indices) + 4 * bad, 1)[0];
    backend.disposeData(out.dataId);
    // The stock kernel's message (tfjs-backend-wasm GatherV2.ts).
    throw new Error(`GatherV2: the index value ${value} is not in [0, ${x.shape[axis] - 1}]`);
  }
  return out;
};

/** The kernels that run natively, and how. */
export const NATIVE_OP_KERNELS: Readonly<Record<string, Impl>> = {
  Add: binary('Add'),
  Sub: binary('Sub'),
  Multiply: binary('Multiply'),
  RealDiv: binary('RealDiv'),
  Neg: unary('Neg'),
  Square: unary('Square'),
  Sum: reduce('Sum'),
  Mean: reduce('Mean'),
  Max: reduce('Max'),
  ArgMax: argReduce('ArgMax'),
  ArgMin: argReduce('ArgMin'),
  Transpose: transpose,
  Slice: slice,
  SplitV: splitV,
  Concat: concat,
  GatherV2: gatherV2,
  PadV2: padV2,
  Tile: tile,
};

let restore: Map<string, RestoreKernel> | null = null;

/**
 * Registers the native kernels for the wasm backend (idempotent), with `threads` threads for large
 * calls, and with all of them the fused layer kernels (native-fused.ts).
 */
export function enableNativeOps(addon: NativeOpsAddon, threads: number, only?: readonly string[]): void {
  addon.setThreads(threads);
  if (!only) enableNativeFused(addon, threads);
  if (!only) {
    // Exp: natively where the probe passes (run against the stock kernel: the split taken off
    // first), else the stock kernel split over wasm instances.
    disableSplitUnary();
    if (!applyNativeLibm(threads)) applySplitUnary(threads);
  }
  if (restore) return;
  restore = new Map();
  for (const [name, impl] of Object.entries(NATIVE_OP_KERNELS)) {
    if (only && !only.includes(name)) continue;
    const undo = overrideWasmKernel(name, (args, stock) => impl(addon, args as unknown as WasmKernelArgs, stock));
    if (undo) restore.set(name, undo);
  }
}

/** Puts back the stock kernels. */
export function disableNativeOps(): void {
  disableNativeFused();
  disableNativeLibm();
  disableSplitUnary();
  if (!restore) return;
  for (const undo of restore.values()) undo();
  restore = null;
}

/** The kernels now running natively (empty when off). */
export function nativeOpsEnabled(): string[] {
  return restore ? [...restore.keys()] : [];
}

/** Sets the native non-matmul kernels apart from `--native-matmul` (on | off), to tell their effect from the matmul's. */
export const NATIVE_OPS_ENV = 'LORA_STUDY_NATIVE_OPS';

/**
 * {@link NATIVE_OPS_ENV}: on | off, or undefined when unset or empty (the kernels then follow
 * `--native-matmul`). Any other value is an error, checked before a backend starts so that it is
 * reported rather than taken for a broken backend.
 */
export function resolveNativeOpsOverride(env: NodeJS.ProcessEnv = process.env): 'on' | 'off' | undefined {
  const override = env[NATIVE_OPS_ENV];
  if (override === undefined || override === '') return undefined;
  if (override !== 'on' && override !== 'off') {
    throw new LoraStudyError(`${NATIVE_OPS_ENV} must be on or off; got "${override}"`, {
      hint: `unset it to have the native non-matmul kernels follow --native-matmul`,
    });
  }
  return override;
}

/**
 * Follows `--native-matmul` (native-matmul.ts's applyNativeMatmul calls this): off = stock
 * kernels; auto/on = native when the ops addon loaded (`on` is enforced by the matmul addon,
 * built by the same `npm install`). {@link NATIVE_OPS_ENV} overrides the mode for these kernels.
 */
export function applyNativeOps(mode: 'auto' | 'on' | 'off', threads: number, env: NodeJS.ProcessEnv = process.env): string[] {
  const override = resolveNativeOpsOverride(env);
  const wanted = override ?? mode;
  if (wanted === 'off') {
    disableNativeOps();
    return [];
  }
  const load = loadNativeOps();
  if (!load.ok) {
    disableNativeOps();
    if (override === 'on') throw new LoraStudyError(`${NATIVE_OPS_ENV}=on: ${load.reason}`, { hint: NATIVE_ADDON_HINT });
    return [];
  }
  enableNativeOps(load.addon, threads);
  return nativeOpsEnabled();
}
