/**
 * The fused layer kernels of src/model/layers/fused-ops.ts (and the fused loss and AdamW kernels of
 * src/training/fused-training-ops.ts) for the wasm backend, on the native ops
 * addon's `fused` entry (native/sgemm/src/fused.cc), in place on the wasm heap. Each forward or
 * backward is one engine kernel (one tape node): native passes, with the kernels the composed ops
 * used where they are not reproduced natively called directly inside it: wasm's Sigmoid, Softmax
 * and Pow (XNNPACK, libm), the registered Exp and Log (the loss) and the registered BatchMatMul
 * (the attention block's products).
 * Registered and removed together with the native ops (native-ops.ts), so
 * LORA_STUDY_NATIVE_OPS=off and --native-matmul off keep the composed graph.
 */
import * as tf from '@tensorflow/tfjs-core';
import { FUSED_KERNELS } from '../model/layers/fused-ops.js';
import { TRAINING_KERNELS, type AdamWConstants } from '../training/fused-training-ops.js';
import { LoraStudyError } from '../util/errors.js';
import { elementCount, heapOffset, runWasmKernel, type WasmHeapBackend, type WasmKernelArgs } from './wasm-heap.js';

/** The addon's fused entry: params[0] = kernel (fused.cc's Kernel), params[1] = threads, then the kernel's fields. */
export interface NativeFusedAddon {
  fused(heap: Uint8Array, params: Float64Array): void;
}

const K = { ROPE: 0, ROPE_GRAD: 1, RMS_NORM: 2, RMS_VAR: 3, RMS_NORM_GRAD: 4, RMS_NORM_GRAD_W: 5, SILU_MUL: 6, SILU_MUL_GRAD: 7, SCALE_MASK: 8, SOFTMAX_GRAD: 9, ADD_RMS_NORM: 10, LSM_SHIFT: 11, ROW_SUM: 12, LOSS_PICK: 13, LOSS_GRAD_ROWS: 14, GATHER_ROWS: 15, LOSS_GRAD: 16, ADAMW_NORM: 17, ADAMW_UPDATE: 18, LOSS_FWD_ROWS: 19, LAYER_NORM: 20, LAYER_NORM_GRAD: 21, LAYER_NORM_GRAD_PARAM: 22, GELU_ARG: 23, GELU_OUT: 24, GELU_GRAD: 25 };

let params = new Float64Array(32);

function call(addon: NativeFusedAddon, backend: WasmHeapBackend, threads: number, kernel: number, fields: Array<number | tf.TensorInfo | null>): void {
  if (params.length < 2 + fields.length) params = new Float64Array(2 + fields.length);
  params[0] = kernel;
  params[1] = threads;
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i];
    params[2 + i] = f === null ? -1 : typeof f === 'number' ? f : heapOffset(backend, f);
  }
  // Read HEAPU8 now: an allocation may have grown (and so replaced) the heap.
  addon.fused(backend.wasm.HEAPU8, params);
}

function need(ok: boolean, what: string): void {
  if (!ok) throw new Error(`fused ops: ${what}`);
}

type Impl = (addon: NativeFusedAddon, threads: number, args: WasmKernelArgs) => tf.TensorInfo | tf.TensorInfo[];

/** Where row (b, h, t) of a `[B, H, T, d]` view starts: contiguous, or inside a `[B, T, H·d]` tensor (split heads). */
type Strides = [number, number, number];
/** A tensor, or a byte offset into the heap (a column range of a packed tensor). */
type Operand = tf.TensorInfo | number;
const headsMajor = (H: number, T: number, d: number): Strides => [H * T * d, T * d, d];
const timeMajor = (H: number, T: number, d: number): Strides => [T * H * d, d, H * d];
/** Heads of d inside rows of W floats of a `[B, T, W]` tensor (a column range of packed q|k|v). */
const packedMajor = (W: number, T: number, d: number): Strides => [T * W, d, W];

/**
 * Rotary embedding (or its gradient) of the rows (b, h, t) of d read from `x` at strides `xs` and
 * written to `out` at `os`; without tables the rows are only copied (a transpose).
 */
function ropeRows(addon: NativeFusedAddon, threads: number, backend: WasmHeapBackend, grad: boolean, out: Operand, os: Strides, x: Operand, xs: Strides, [B, H, T, d]: number[], tables: { cos: tf.TensorInfo; sin: tf.TensorInfo } | null): void {
  const cos = tables?.cos ?? x;
  const sin = tables?.sin ?? x;
  const r = tables ? tables.cos.shape[3] : 0;
  const Bt = tables ? tables.cos.shape[0] : 1;
  call(addon, backend, threads, grad ? K.ROPE_GRAD : K.ROPE, [out, x, cos, sin, B, H, T, d, r, Bt, ...xs, ...os]);
}

function rope(grad: boolean): Impl {
  return (addon, threads, args) => {
    const x = grad ? args.inputs.dy : args.inputs.x;
    const { cos, sin } = args.inputs;
    const [B, H, T, d] = x.shape;
    need(x.shape.length === 4 && cos.shape.length === 4, 'rope wants x [B, H, T, d] and tables [B|1, 1, T, r]');
    const out = args.backend.makeOutput(x.shape.slice(), 'float32');
    ropeRows(addon, threads, args.backend, grad, out, headsMajor(H, T, d), x, headsMajor(H, T, d), [B, H, T, d], { cos, sin });
    return out;
  };
}

const rowsOf = (x: tf.TensorInfo): [number, number] => {
  const C = x.shape[x.shape.length - 1];
  return [elementCount(x.shape) / C, C];
};

function rmsNorm(pass: boolean): Impl {
  return (addon, threads, args) => {
    const { x, weight } = args.inputs;
    const [rows, C] = rowsOf(x);
    const y = args.backend.makeOutput(x.shape.slice(), 'float32');
    call(addon, args.backend, threads, K.RMS_NORM, [y, x, weight, rows, C, Math.fround(args.attrs.eps as number)]);
    if (!pass) return y;
    // x itself, one more reference to its buffer (as the wasm Identity does).
    args.backend.incRef(x.dataId);
    return [y, { dataId: x.dataId, shape: x.shape.slice(), dtype: x.dtype }];
  };
}

/** [RMSNorm(a + b), a + b]: a pre-norm block's residual add and the next norm in one pass. */
const addRmsNorm: Impl = (addon, threads, args) => {
  const { a, b, weight } = args.inputs;
  const [rows, C] = rowsOf(a);
  const y = args.backend.makeOutput(a.shape.slice(), 'float32');
  const sum = args.backend.makeOutput(a.shape.slice(), 'float32');
  call(addon, args.backend, threads, K.ADD_RMS_NORM, [y, sum, a, b, weight, rows, C, Math.fround(args.attrs.eps as number)]);
  return [y, sum];
};

/** v = mean(x²) + eps per row, as a `[rows]` tensor the caller disposes. */
function rmsVar(addon: NativeFusedAddon, threads: number, args: WasmKernelArgs, x: tf.TensorInfo): tf.TensorInfo {
  const [rows, C] = rowsOf(x);
  const v = args.backend.makeOutput([rows], 'float32');
  call(addon, args.backend, threads, K.RMS_VAR, [v, x, rows, C, Math.fround(args.attrs.eps as number)]);
  return v;
}

const rmsNormGrad: Impl = (addon, threads, args) => {
  const { dy, dres, x, weight } = args.inputs;
  const [rows, C] = rowsOf(x);
  const v = rmsVar(addon, threads, args, x);
  // Rsqrt's gradient takes v^1.5 from the Pow kernel (libm's powf): run that very kernel.
  const e = args.backend.makeOutput([], 'float32', undefined, Float32Array.of(1.5));
  const p = runWasmKernel('Pow', args.backend, { a: v, b: e });
  const dx = args.backend.makeOutput(x.shape.slice(), 'float32');
  call(addon, args.backend, threads, K.RMS_NORM_GRAD, [dx, dy, dres ?? null, x, weight, v, p, rows, C]);
  for (const t of [v, e, p]) args.backend.disposeData(t.dataId);
  return dx;
};

const rmsNormGradW: Impl = (addon, threads, args) => {
  const { dy, x } = args.inputs;
  const [rows, C] = rowsOf(x);
  const v = rmsVar(addon, threads, args, x);
  const dw = args.backend.makeOutput([C], 'float32');
  call(addon, args.backend, threads, K.RMS_NORM_GRAD_W, [dw, dy, x, v, rows, C]);
  args.backend.disposeData(v.dataId);
  return dw;
};

/**
 * LayerNorm of x (`plain`), also returning x itself (`pass`, for the residual add to read), or of the
 * residual add's sum a + b, returned with it (`add`).
 */
function layerNorm(mode: 'plain' | 'pass' | 'add'): Impl {
  return (addon, threads, args) => {
    const { weight, bias } = args.inputs;
    const a = mode === 'add' ? args.inputs.a : args.inputs.x;
    const [rows, C] = rowsOf(a);
    const y = args.backend.makeOutput(a.shape.slice(), 'float32');
    const sum = mode === 'add' ? args.backend.makeOutput(a.shape.slice(), 'float32') : null;
    call(addon, args.backend, threads, K.LAYER_NORM, [y, sum, a, mode === 'add' ? args.inputs.b : null, weight, bias, rows, C, Math.fround(args.attrs.eps as number)]);
    if (mode === 'plain') return y;
    if (sum) return [y, sum];
    args.backend.incRef(a.dataId);
    return [y, { dataId: a.dataId, shape: a.shape.slice(), dtype: a.dtype }];
  };
}

const layerNormGrad: Impl = (addon, threads, args) => {
  const { dy, dres, x, weight } = args.inputs;
  const [rows, C] = rowsOf(x);
  const dx = args.backend.makeOutput(x.shape.slice(), 'float32');
  call(addon, args.backend, threads, K.LAYER_NORM_GRAD, [dx, dy, dres ?? null, x, weight, rows, C, Math.fround(args.attrs.eps as number)]);
  return dx;
};

/** The gain's (attrs.param 'weight') or the bias's gradient of a LayerNorm. */
const layerNormGradParam: Impl = (addon, threads, args) => {
  const { dy, x } = args.inputs;
  const [rows, C] = rowsOf(x);
  const out = args.backend.makeOutput([C], 'float32');
  call(addon, args.backend, threads, K.LAYER_NORM_GRAD_PARAM, [out, dy, x, rows, C, Math.fround(args.attrs.eps as number), args.attrs.param === 'weight' ? 0 : 1]);
  return out;
};

/** [gelu_new(x), σ(t)]: the sigmoid's argument t natively, wasm's Sigmoid, then x·σ natively; σ kept for the gradient. */
const geluNew: Impl = (addon, threads, args) => {
  const { x } = args.inputs;
  const n = elementCount(x.shape);
  const t = args.backend.makeOutput(x.shape.slice(), 'float32');
  call(addon, args.backend, threads, K.GELU_ARG, [t, x, n, args.attrs.k3 as number, args.attrs.k as number]);
  const s = runWasmKernel('Sigmoid', args.backend, { x: t });
  args.backend.disposeData(t.dataId);
  const out = args.backend.makeOutput(x.shape.slice(), 'float32');
  call(addon, args.backend, threads, K.GELU_OUT, [out, x, s, n]);
  return [out, s];
};

const geluNewGrad: Impl = (addon, threads, args) => {
  const { dy, x, s } = args.inputs;
  const dx = args.backend.makeOutput(x.shape.slice(), 'float32');
  call(addon, args.backend, threads, K.GELU_GRAD, [dx, dy, x, s, elementCount(x.shape), args.attrs.k3x3 as number, args.attrs.k as number]);
  return dx;
};

/** [silu(gate)·up, σ(gate)]: σ from wasm's Sigmoid, kept for the gradient. */
const siluMul: Impl = (addon, threads, args) => {
  const { gate, up } = args.inputs;
  const s = runWasmKernel('Sigmoid', args.backend, { x: gate });
  const out = args.backend.makeOutput(gate.shape.slice(), 'float32');
  call(addon, args.backend, threads, K.SILU_MUL, [out, gate, s, up, elementCount(gate.shape)]);
  return [out, s];
};

const siluMulGrad: Impl = (addon, threads, args) => {
  const { dy, gate, up, s } = args.inputs;
  const dg = args.backend.makeOutput(gate.shape.slice(), 'float32');
  const dup = args.backend.makeOutput(gate.shape.slice(), 'float32');
  call(addon, args.backend, threads, K.SILU_MUL_GRAD, [dg, dup, dy, gate, s, up, elementCount(gate.shape)]);
  return [dg, dup];
};

/** softmax(scores·scale + mask) for scores `[B, Hkv, nRep·T, S]`, mask `[B|1, 1, T, S]`: the scaled, masked logits natively, then wasm's Softmax. */
function maskedSoftmax(addon: NativeFusedAddon, threads: number, args: WasmKernelArgs, scores: tf.TensorInfo, mask: tf.TensorInfo, scale: number, nRep: number): tf.TensorInfo {
  const [B, Hkv, RT, S] = scores.shape;
  const logits = args.backend.makeOutput(scores.shape.slice(), 'float32');
  call(addon, args.backend, threads, K.SCALE_MASK, [logits, scores, mask, B, Hkv, nRep, RT / nRep, S, mask.shape[0], scale]);
  const probs = runWasmKernel('Softmax', args.backend, { logits }, { dim: scores.shape.length - 1 });
  args.backend.disposeData(logits.dataId);
  return probs;
}

const attentionSoftmax: Impl = (addon, threads, args) =>
  maskedSoftmax(addon, threads, args, args.inputs.scores, args.inputs.mask, args.attrs.scale as number, args.attrs.nRep as number);

/** dLogits of softmax(logits·scale + mask) from dProbs and probs (`[…, S]`). */
function softmaxGrad(addon: NativeFusedAddon, threads: number, backend: WasmHeapBackend, dy: tf.TensorInfo, y: tf.TensorInfo, scale: number): tf.TensorInfo {
  const [rows, S] = rowsOf(y);
  const dx = backend.makeOutput(y.shape.slice(), 'float32');
  call(addon, backend, threads, K.SOFTMAX_GRAD, [dx, dy, y, rows, S, scale]);
  return dx;
}

const attentionSoftmaxGrad: Impl = (addon, threads, args) => softmaxGrad(addon, threads, args.backend, args.inputs.dy, args.inputs.y, args.attrs.scale as number);

const view = (t: tf.TensorInfo, shape: number[]): tf.TensorInfo => ({ dataId: t.dataId, shape, dtype: t.dtype });
const matMul = (args: WasmKernelArgs, a: tf.TensorInfo, b: tf.TensorInfo, transposeA: boolean, transposeB: boolean): tf.TensorInfo =>
  runWasmKernel('BatchMatMul', args.backend, { a, b }, { transposeA, transposeB });

interface AttentionDims {
  B: number;
  T: number;
  H: number;
  Hkv: number;
  d: number;
  nRep: number;
}
function attentionDims(x: tf.TensorInfo, args: WasmKernelArgs): AttentionDims {
  const H = args.attrs.heads as number;
  const Hkv = args.attrs.kvHeads as number;
  const [B, T, W] = x.shape;
  const d = args.attrs.packed ? W / (H + 2 * Hkv) : W / H;
  return { B, T, H, Hkv, d, nRep: H / Hkv };
}
const tablesOf = (args: WasmKernelArgs) => (args.inputs.cos ? { cos: args.inputs.cos, sin: args.inputs.sin } : null);

/**
 * Where q, k and v (or their gradients) are: three `[B, T, heads·d]` tensors, or (packed) the column
 * ranges q | k | v of one `[B, T, (H + 2·Hkv)·d]` tensor (as tf.split takes them apart; reading or
 * writing them in place is the split's or its gradient's concat's copy).
 */
function qkvPlaces(backend: WasmHeapBackend, dims: AttentionDims, tensors: [tf.TensorInfo, tf.TensorInfo, tf.TensorInfo] | tf.TensorInfo): Array<[Operand, Strides]> {
  const { T, H, Hkv, d } = dims;
  if (!Array.isArray(tensors)) {
    const W = (H + 2 * Hkv) * d;
    const at = heapOffset(backend, tensors);
    return [0, H * d, (H + Hkv) * d].map((col) => [at + 4 * col, packedMajor(W, T, d)]);
  }
  return [[tensors[0], timeMajor(H, T, d)], [tensors[1], timeMajor(Hkv, T, d)], [tensors[2], timeMajor(Hkv, T, d)]];
}

/**
 * Self-attention from the projections q `[B, T, H·d]`, k and v `[B, T, Hkv·d]` (or packed: one
 * `[B, T, (H + 2·Hkv)·d]` tensor) to the merged heads `[B, T, H·d]` (rope-decoder's chain: split
 * heads, rotary on q and k, q·kᵀ through the BatchMatMul kernel, scale + mask + Softmax, ·v, merge
 * heads). Returns [merged, q', k', v', probs]: the rest is what the gradient reads.
 */
const attention: Impl = (addon, threads, args) => {
  const { q, k, v, qkv, mask } = args.inputs;
  const dims = attentionDims(qkv ?? q, args);
  const { B, T, H, Hkv, d, nRep } = dims;
  const tables = tablesOf(args);
  const mk = (shape: number[]) => args.backend.makeOutput(shape, 'float32');
  const [qs, ks, vs] = qkvPlaces(args.backend, dims, qkv ?? [q, k, v]);
  const qh = mk([B, H, T, d]);
  ropeRows(addon, threads, args.backend, false, qh, headsMajor(H, T, d), qs[0], qs[1], [B, H, T, d], tables);
  const kh = mk([B, Hkv, T, d]);
  ropeRows(addon, threads, args.backend, false, kh, headsMajor(Hkv, T, d), ks[0], ks[1], [B, Hkv, T, d], tables);
  const vh = mk([B, Hkv, T, d]);
  ropeRows(addon, threads, args.backend, false, vh, headsMajor(Hkv, T, d), vs[0], vs[1], [B, Hkv, T, d], null);
  const raw = matMul(args, view(qh, [B, Hkv, nRep * T, d]), kh, false, true);
  const probs = maskedSoftmax(addon, threads, args, raw, mask, args.attrs.scale as number, nRep);
  args.backend.disposeData(raw.dataId);
  const ctx = matMul(args, probs, vh, false, false); // [B, Hkv, nRep·T, d] = [B, H, T, d]
  const merged = mk([B, T, H * d]);
  ropeRows(addon, threads, args.backend, false, merged, timeMajor(H, T, d), ctx, headsMajor(H, T, d), [B, H, T, d], null);
  args.backend.disposeData(ctx.dataId);
  return [merged, qh, kh, vh, probs];
};

/**
 * [dq, dk, dv] (packed: [d(q|k|v)]) of {@link attention}: tfjs's gradient chain (BatchMatMul_grad's
 * products, Softmax_grad, rotary's, the transposes', and the split's concat when packed).
 */
const attentionGrad: Impl = (addon, threads, args) => {
  const { dy, qh, kh, vh, probs } = args.inputs;
  const H = args.attrs.heads as number;
  const Hkv = args.attrs.kvHeads as number;
  const [B, T] = dy.shape;
  const d = qh.shape[3];
  const dims: AttentionDims = { B, T, H, Hkv, d, nRep: H / Hkv };
  const nRep = dims.nRep;
  const tables = tablesOf(args);
  const mk = (shape: number[]) => args.backend.makeOutput(shape, 'float32');
  const dctx = mk([B, Hkv, nRep * T, d]);
  ropeRows(addon, threads, args.backend, false, dctx, headsMajor(H, T, d), dy, timeMajor(H, T, d), [B, H, T, d], null);
  const dprobs = matMul(args, dctx, vh, false, true);
  const dvh = matMul(args, probs, dctx, true, false);
  args.backend.disposeData(dctx.dataId);
  const draw = softmaxGrad(addon, threads, args.backend, dprobs, probs, args.attrs.scale as number);
  args.backend.disposeData(dprobs.dataId);
  const dqg = matMul(args, draw, kh, false, false);
  const dkh = matMul(args, draw, view(qh, [B, Hkv, nRep * T, d]), true, false);
  args.backend.disposeData(draw.dataId);
  const outs = args.attrs.packed ? [mk([B, T, (H + 2 * Hkv) * d])] : [mk([B, T, H * d]), mk([B, T, Hkv * d]), mk([B, T, Hkv * d])];
  const [dqs, dks, dvs] = qkvPlaces(args.backend, dims, outs.length === 1 ? outs[0] : (outs as [tf.TensorInfo, tf.TensorInfo, tf.TensorInfo]));
  ropeRows(addon, threads, args.backend, true, dqs[0], dqs[1], dqg, headsMajor(H, T, d), [B, H, T, d], tables);
  ropeRows(addon, threads, args.backend, true, dks[0], dks[1], dkh, headsMajor(Hkv, T, d), [B, Hkv, T, d], tables);
  ropeRows(addon, threads, args.backend, false, dvs[0], dvs[1], dvh, headsMajor(Hkv, T, d), [B, Hkv, T, d], null);
  for (const t of [dqg, dkh, dvh]) args.backend.disposeData(t.dataId);
  return outs;
};

/** An int32 `[n]` tensor's values, as a view of the heap (valid until the next allocation). */
const int32View = (b: WasmHeapBackend, t: tf.TensorInfo, n: number): Int32Array => new Int32Array(b.wasm.HEAPU8.buffer, heapOffset(b, t), n);

/**
 * Rows whose Exp is worth computing apart: below one skipped row per this many needed ones, Exp
 * runs on the whole tensor (a row copy costs less than its Exp, but not nothing).
 */
const COMPACT_RATIO = 16;

/**
 * wasm's Exp of the rows of `x` `[rows, V]` whose `map` entry (int32, on the heap) is >= 0; null when
 * there are none. Below one skipped row per {@link COMPACT_RATIO} needed ones Exp runs on the whole
 * tensor and map[n] = n for the needed rows (for every row with `mapSkipped`); else the needed rows
 * are gathered first and map is rewritten to index them. `rows` is the result's row count.
 */
function expOfRows(addon: NativeFusedAddon, threads: number, b: WasmHeapBackend, x: tf.TensorInfo, map: tf.TensorInfo, rows: number, V: number, mapSkipped: boolean): { e: tf.TensorInfo; rows: number } | null {
  const rowMap = int32View(b, map, rows);
  let needed = 0;
  for (let n = 0; n < rows; n++) if (rowMap[n] >= 0) needed++;
  if (needed === 0) return null;
  if ((rows - needed) * COMPACT_RATIO < needed) {
    for (let n = 0; n < rows; n++) if (mapSkipped || rowMap[n] >= 0) rowMap[n] = n;
    return { e: runWasmKernel('Exp', b, { x }), rows };
  }
  let k = 0;
  for (let n = 0; n < rows; n++) if (rowMap[n] >= 0) rowMap[n] = k++;
  const packed = b.makeOutput([needed, V], 'float32');
  call(addon, b, threads, K.GATHER_ROWS, [packed, x, map, rows, V, needed]);
  const e = runWasmKernel('Exp', b, { x: packed });
  b.disposeData(packed.dataId);
  return { e, rows: needed };
}

/**
 * log Σ exp of the rows of `shifted` `[rows, V]` whose `map` entry is >= 0 (wasm's Exp, the row sums
 * natively, wasm's Log), then value = shifted − log Σ exp on those rows in place and the loss
 * terms of those rows summed into `loss` (fused.cc's loss_pick). `map` (int32, on the heap) says
 * which rows: -1 = skip; it is rewritten to index the packed rows when packing pays.
 */
function finishRows(addon: NativeFusedAddon, threads: number, args: WasmKernelArgs, shifted: tf.TensorInfo, map: tf.TensorInfo, rows: number, V: number, loss: tf.TensorInfo, target: tf.TensorInfo, mask: tf.TensorInfo, divisor: number): void {
  const b = args.backend;
  const ex = expOfRows(addon, threads, b, shifted, map, rows, V, false);
  let l: tf.TensorInfo | null = null;
  if (ex) {
    const sum = b.makeOutput([ex.rows], 'float32');
    call(addon, b, threads, K.ROW_SUM, [sum, ex.e, ex.rows, V]);
    b.disposeData(ex.e.dataId);
    l = runWasmKernel('Log', args.backend, { x: sum });
    b.disposeData(sum.dataId);
  }
  call(addon, b, threads, K.LOSS_PICK, [shifted, shifted, l, target, mask, loss, rows, V, divisor, map, l ? elementCount(l.shape) : 0]);
  if (l) b.disposeData(l.dataId);
}

/**
 * The causal-LM loss forward (loss.ts's chain): shifted = logits − rowmax natively, wasm's Exp
 * (the registered kernel), Σ per row natively, wasm's Log, then value = shifted − log Σ, the target
 * pick, mask, sum, neg (and / divisor) natively. Rows whose loss term is a zero whatever their
 * value (masked, no NaN, finite target logit: fused.cc's loss_fwd_rows) skip Exp and Log and their
 * value rows stay shifted: the gradient's bits do not depend on them (see causalLmLossGrad).
 * Returns [loss, value].
 */
const causalLmLoss: Impl = (addon, threads, args) => {
  const { logits, target, mask } = args.inputs;
  const [rows, V] = rowsOf(logits);
  const divisor = args.attrs.divisor as number;
  const b = args.backend;
  const ids = int32View(b, target, rows);
  const bad = ids.findIndex((t) => t < 0 || t >= V);
  if (bad >= 0) {
    throw new LoraStudyError(`causal-LM loss: the target token id ${ids[bad]} (position ${bad % target.shape[target.shape.length - 1]} of row ${Math.floor(bad / target.shape[target.shape.length - 1])}) is outside the model's vocabulary of ${V}`, {
      hint: 'the labels were made by another tokenizer than the model\'s, or the model config\'s vocab_size is too small: re-prepare the dataset with the model\'s tokenizer',
    });
  }
  const value = b.makeOutput(logits.shape.slice(), 'float32');
  call(addon, b, threads, K.LSM_SHIFT, [value, logits, rows, V]);
  const rowsMap = b.makeOutput([rows], 'int32');
  call(addon, b, threads, K.LOSS_FWD_ROWS, [rowsMap, value, target, mask, rows, V]);
  const loss = b.makeOutput([], 'float32');
  finishRows(addon, threads, args, value, rowsMap, rows, V, loss, target, mask, divisor);
  b.disposeData(rowsMap.dataId);
  return [loss, value];
};

/**
 * The loss's gradient: per row the pick's gradient dp and its sum s natively; wasm's Exp of value
 * (only the rows whose result reads it: rows with s = ±0 and no NaN get the same bits without it,
 * see fused.cc's loss_grad_rows); then dp·onehot − s·exp(value) natively. A row the forward left
 * unfinished (value = shifted, masked) gives the same bits: its mask is ±0, so dp is ±0 (then s = +0,
 * and the row has no NaN: exp(value) is not read) or NaN (then s is NaN and s·exp(…) is s's NaN
 * whatever the finite exp(shifted) is).
 */
const causalLmLossGrad: Impl = (addon, threads, args) => {
  const { dy, value, target, mask } = args.inputs;
  const [rows, V] = rowsOf(value);
  const b = args.backend;
  const dp = b.makeOutput([rows], 'float32');
  const s = b.makeOutput([rows], 'float32');
  const map = b.makeOutput([rows], 'int32');
  call(addon, b, threads, K.LOSS_GRAD_ROWS, [dp, s, map, dy, mask, value, rows, V, args.attrs.divisor as number, target]);
  // Every row points at its own Exp row when Exp runs on all of them (each reads its own).
  const rowsExp = expOfRows(addon, threads, b, value, map, rows, V, true);
  const ex = rowsExp?.e ?? null;
  const exRows = rowsExp?.rows ?? 0;
  const dx = b.makeOutput(value.shape.slice(), 'float32');
  call(addon, b, threads, K.LOSS_GRAD, [dx, dp, s, map, ex, target, rows, V, exRows]);
  for (const t of [dp, s, map, ...(ex ? [ex] : [])]) b.disposeData(t.dataId);
  return dx;
};

/** AdamW.prepare: [norm, flat per group, squares per group] from the gradients g0…, groups of parameter indices. */
const adamwNorm: Impl = (addon, threads, args) => {
  const groups = args.attrs.groups as number[][];
  const b = args.backend;
  const norm = b.makeOutput([], 'float32');
  const flats: tf.TensorInfo[] = [];
  const squares: tf.TensorInfo[] = [];
  const sizeOf = (i: number) => elementCount(args.inputs[`g${i}`].shape);
  for (const index of groups) {
    const total = index.reduce((a, i) => a + sizeOf(i), 0);
    flats.push(b.makeOutput([total], 'float32'));
    squares.push(b.makeOutput([total], 'float32'));
  }
  // Where each parameter's gradient lands in its group's vectors (byte offsets; they stay put when the heap grows).
  const place: Array<[number, number]> = [];
  groups.forEach((index, k) => {
    const flatOff = heapOffset(b, flats[k]);
    const sqOff = heapOffset(b, squares[k]);
    let at = 0;
    for (const i of index) {
      place[i] = [flatOff + 4 * at, sqOff + 4 * at];
      at += sizeOf(i);
    }
  });
  // In parameter order: the native pass adds the per-parameter sums in the order listed.
  const fields: Array<number | tf.TensorInfo | null> = [norm, place.length];
  place.forEach(([flatOff, sqOff], i) => fields.push(args.inputs[`g${i}`], sizeOf(i), flatOff, sqOff));
  call(addon, b, threads, K.ADAMW_NORM, fields);
  return [norm, ...flats, ...squares];
};

/** One AdamW update of a flat group: [m, v, …params] new, from m, v, g, sq (absent when clipping) and the parameters p0…. */
const adamwUpdate: Impl = (addon, threads, args) => {
  const k = args.attrs as unknown as AdamWConstants & { count: number };
  const { m, v, g, sq } = args.inputs;
  const b = args.backend;
  const n = elementCount(m.shape);
  const mo = b.makeOutput([n], 'float32');
  const vo = b.makeOutput([n], 'float32');
  const ps = Array.from({ length: k.count }, (_, i) => args.inputs[`p${i}`]);
  const outs = ps.map((p) => b.makeOutput(p.shape.slice(), 'float32'));
  const scaled = k.gradScale !== 1;
  const fields: Array<number | tf.TensorInfo | null> = [n, mo, vo, m, v, g, scaled ? null : sq, k.gradScale, k.beta1, k.oneMinusBeta1, k.beta2, k.oneMinusBeta2, k.bc1, k.bc2, k.epsilon, k.keep ?? 1, k.lr, scaled ? 1 : 0, k.keep === null ? 0 : 1, k.count];
  ps.forEach((p, i) => fields.push(p, outs[i], elementCount(p.shape)));
  call(addon, b, threads, K.ADAMW_UPDATE, fields);
  return [mo, vo, ...outs];
};

const IMPLS: Record<string, Impl> = {
  [TRAINING_KERNELS.causalLmLoss]: causalLmLoss,
  [TRAINING_KERNELS.causalLmLossGrad]: causalLmLossGrad,
  [TRAINING_KERNELS.adamwNorm]: adamwNorm,
  [TRAINING_KERNELS.adamwUpdate]: adamwUpdate,
  [FUSED_KERNELS.rope]: rope(false),
  [FUSED_KERNELS.ropeGrad]: rope(true),
  [FUSED_KERNELS.rmsNorm]: rmsNorm(false),
  [FUSED_KERNELS.rmsNormPass]: rmsNorm(true),
  [FUSED_KERNELS.addRmsNorm]: addRmsNorm,
  [FUSED_KERNELS.rmsNormGrad]: rmsNormGrad,
  [FUSED_KERNELS.rmsNormGradW]: rmsNormGradW,
  [FUSED_KERNELS.layerNorm]: layerNorm('plain'),
  [FUSED_KERNELS.layerNormPass]: layerNorm('pass'),
  [FUSED_KERNELS.addLayerNorm]: layerNorm('add'),
  [FUSED_KERNELS.layerNormGrad]: layerNormGrad,
  [FUSED_KERNELS.layerNormGradParam]: layerNormGradParam,
  [FUSED_KERNELS.geluNew]: geluNew,
  [FUSED_KERNELS.geluNewGrad]: geluNewGrad,
  [FUSED_KERNELS.siluMul]: siluMul,
  [FUSED_KERNELS.siluMulGrad]: siluMulGrad,
  [FUSED_KERNELS.attentionSoftmax]: attentionSoftmax,
  [FUSED_KERNELS.attentionSoftmaxGrad]: attentionSoftmaxGrad,
  [FUSED_KERNELS.attention]: attention,
  [FUSED_KERNELS.attentionGrad]: attentionGrad,
};

let registered = false;
let threadCount = 1;

/** Registers the fused kernels for wasm (idempotent; `threads` for large calls); false when the addon build has no `fused` entry (a stale build). */
export function enableNativeFused(addon: Partial<NativeFusedAddon>, threads: number): boolean {
  threadCount = threads;
  if (registered) return true;
  if (typeof addon.fused !== 'function') return false;
  const a = addon as NativeFusedAddon;
  for (const [kernelName, impl] of Object.entries(IMPLS)) {
    tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc: (args) => impl(a, threadCount, args as unknown as WasmKernelArgs) });
  }
  registered = true;
  return true;
}

/** Removes them: the layers go back to their composed ops. */
export function disableNativeFused(): void {
  if (!registered) return;
  for (const kernelName of Object.keys(IMPLS)) tf.unregisterKernel(kernelName, 'wasm');
  registered = false;
}

/** The fused kernels now registered (empty when off). */
export function nativeFusedEnabled(): string[] {
  return registered ? Object.keys(IMPLS) : [];
}
