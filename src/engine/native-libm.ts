/**
 * The wasm backend's Exp kernel run natively with the stock kernel's bits: glibc's non-FMA expf
 * (`__expf_sse2`, linked from the static libm into lora-study-native's exact_libm addon,
 * native/sgemm/src/libm_exact.cc). The stock kernel calls the expf Emscripten compiled into
 * tfjs-backend-wasm, the same algorithm with one IEEE operation at a time; glibc's variant gives
 * the same float32 on all 2^32 inputs here (scripts/check-native-libm.ts runs that comparison).
 *
 * Because another C library, or another build of it, could round differently, Exp is registered
 * natively only after a start-up probe: both kernels run on {@link libmProbeInputs} (~65K inputs:
 * special values, the overflow and underflow edges, a dense sweep, pseudo-random bit patterns) and
 * every result must match bit for bit (any NaN equals any NaN). Otherwise, or where the addon has
 * no such kernels (macOS, musl, arm64: see libm-probe.cjs), Exp stays the stock wasm kernel split
 * over wasm instances (wasm-split-unary.ts). Registered with the native ops (native-ops.ts), so
 * LORA_STUDY_NATIVE_OPS=off and --native-matmul off turn it off too; {@link NATIVE_LIBM_ENV} alone.
 *
 * Log is not registered: its only training-path calls (the loss's per-row log Σ) have a few hundred
 * elements, where a native call saves nothing.
 */
import * as tf from '@tensorflow/tfjs-core';
import { LoraStudyError } from '../util/errors.js';
import { resolveEnvMode } from './env-mode.js';
import { NATIVE_ADDON_HINT, NATIVE_ADDON_PATH_ENV } from './native-addon.js';
import { backendInstance } from './tf-registry.js';
import { elementCount, heapOffset, type WasmHeapBackend } from './wasm-heap.js';
import { siblingAddonLoader, type SiblingAddonLoad } from './sibling-addon.js';
import { overrideWasmKernel, type RestoreKernel } from './wasm-kernel-override.js';
import { checkValues } from './wasm-split-unary.js';

/** The exact_libm addon (native/sgemm/src/libm_exact.cc, loaded by native/sgemm/libm.cjs). */
export interface NativeLibmAddon {
  /** params: op (0 exp, 1 log), outOff, xOff (byte offsets into heap), n. Throws when built without the kernels. */
  unary(heap: Uint8Array, params: Float64Array): void;
  setThreads(n: number): number;
  /** The calling convention ({@link NATIVE_LIBM_API}). */
  api?: number;
  /** Whether the kernels were compiled in; when not, `reason` says why (the build-time probe's finding). */
  available?: boolean;
  reason?: string;
}

export const NATIVE_LIBM_API = 1;
export const LIBM_OPS = { Exp: 0, Log: 1 } as const;
export type LibmKernel = keyof typeof LIBM_OPS;

export type NativeLibmLoad = SiblingAddonLoad<NativeLibmAddon>;

const libmLoader = siblingAddonLoader<NativeLibmAddon>({
  file: 'libm.cjs',
  name: 'libm',
  entry: 'unary',
  api: NATIVE_LIBM_API,
  apiWhenAbsent: 'none',
  unusable: (addon) => (addon.available ? null : `lora-study-native was built without glibc's non-FMA expf: ${addon.reason ?? 'no reason recorded'}`),
});

/** Loads `lora-study-native/libm.cjs` (beside {@link NATIVE_ADDON_PATH_ENV}'s module when that is set, as loadNativeOps does). */
export function loadNativeLibm(): NativeLibmLoad {
  return libmLoader.load();
}

/** Forgets the cached load (tests that switch {@link NATIVE_ADDON_PATH_ENV}). */
export function resetNativeLibmCache(): void {
  libmLoader.reset();
}

/** auto (unset or empty): native Exp where the addon has it and the probe passes; off: never; on: required (an error otherwise). */
export const NATIVE_LIBM_ENV = 'LORA_STUDY_NATIVE_LIBM';

/** {@link NATIVE_LIBM_ENV}'s mode; any other value is an error (checked before a backend starts, so that it is reported). */
export function resolveNativeLibmMode(env: NodeJS.ProcessEnv = process.env): 'auto' | 'on' | 'off' {
  return resolveEnvMode(env, NATIVE_LIBM_ENV, ['auto', 'on', 'off'], 'unset it to run Exp natively where glibc\'s non-FMA expf gives the stock wasm kernel\'s bits');
}

const PROBE_SIZE = 1 << 16;

/** The start-up probe's inputs: checkValues' classes (~65K) and every float within 8 ulps of expf's overflow and underflow edges. */
export function libmProbeInputs(): Float32Array {
  // Bit patterns of the edges: overflow above 88.7228394 (0x42b17218), results leave the normals
  // near -87.3365 (0xc2aeac50) and reach 0 below -103.972 (0xc2cff1b5).
  const edges = [0x42b17218, 0xc2aeac50, 0xc2cff1b5];
  const near = new Uint32Array(edges.length * 17);
  let k = 0;
  for (const e of edges) for (let d = -8; d <= 8; d++) near[k++] = e + d;
  const base = checkValues(PROBE_SIZE - near.length);
  const out = new Float32Array(base.length + near.length);
  out.set(base);
  out.set(new Float32Array(near.buffer), base.length);
  return out;
}

export interface LibmMismatch {
  /** The input, and the input's and both results' bit patterns (hex). */
  x: number;
  bits: string;
  native: string;
  stock: string;
}

export interface LibmComparison {
  inputs: number;
  mismatches: number;
  /** Inputs where both results are NaN with different bits (not counted as mismatches). */
  nanBitsDiffer: number;
  /** The first few mismatching inputs. */
  examples: LibmMismatch[];
}

const hex = (u: number): string => `0x${(u >>> 0).toString(16).padStart(8, '0')}`;
const isNaN32 = (u: number): boolean => (u & 0x7f800000) === 0x7f800000 && (u & 0x007fffff) !== 0;

/**
 * Runs `inputs` through the native kernel and the stock one (`stock`: the wasm kernel function) on
 * the wasm heap and compares the results' bits; any NaN equals any NaN (the stock kernel does not
 * promise a payload). Leaves no tensor behind.
 */
export function compareLibm(addon: NativeLibmAddon, backend: WasmHeapBackend, kernel: LibmKernel, stock: tf.KernelFunc, inputs: Float32Array, keep = 8): LibmComparison {
  const n = inputs.length;
  const x = backend.makeOutput([n], 'float32');
  const nat = backend.makeOutput([n], 'float32');
  let stockOut: tf.TensorInfo | null = null;
  try {
    const heap0 = backend.wasm.HEAPU8;
    new Float32Array(heap0.buffer, heap0.byteOffset + heapOffset(backend, x), n).set(inputs);
    stockOut = stock({ inputs: { x }, backend: backend as never, attrs: {} }) as tf.TensorInfo;
    addon.unary(backend.wasm.HEAPU8, Float64Array.of(LIBM_OPS[kernel], heapOffset(backend, nat), heapOffset(backend, x), n));
    // Views after both calls: an allocation may have grown (and so replaced) the heap.
    const heap = backend.wasm.HEAPU8;
    const a = new Uint32Array(heap.buffer, heap.byteOffset + heapOffset(backend, nat), n);
    const b = new Uint32Array(heap.buffer, heap.byteOffset + heapOffset(backend, stockOut), n);
    const xs = new Uint32Array(inputs.buffer, inputs.byteOffset, n);
    let mismatches = 0;
    let nanBitsDiffer = 0;
    const examples: LibmMismatch[] = [];
    for (let i = 0; i < n; i++) {
      if (a[i] === b[i]) continue;
      if (isNaN32(a[i]) && isNaN32(b[i])) {
        nanBitsDiffer++;
        continue;
      }
      mismatches++;
      if (examples.length < keep) examples.push({ x: inputs[i], bits: hex(xs[i]), native: hex(a[i]), stock: hex(b[i]) });
    }
    return { inputs: n, mismatches, nanBitsDiffer, examples };
  } finally {
    backend.disposeData(x.dataId);
    backend.disposeData(nat.dataId);
    if (stockOut) backend.disposeData(stockOut.dataId);
  }
}

/** What the native Exp is doing, for the device string, doctor and tests. */
export interface NativeLibmStatus {
  /** on: registered; off: not asked for (or not tried yet); unavailable: no addon or no kernels in it; failed: the probe found differences. */
  state: 'on' | 'off' | 'unavailable' | 'failed';
  reason: string;
  /** Calls the native Exp has run (including those inside the fused loss). */
  calls: number;
}

let restore: RestoreKernel | null = null;
let registeredAddon: NativeLibmAddon | null = null;
let state: NativeLibmStatus = { state: 'off', reason: '', calls: 0 };
/** The probe's verdict per addon and wasm backend instance (null: passed, else why not). */
const probed = new WeakMap<object, WeakMap<object, string | null>>();
let params = new Float64Array(4);

function nativeExp(addon: NativeLibmAddon): (args: Parameters<tf.KernelFunc>[0], stock: tf.KernelFunc) => ReturnType<tf.KernelFunc> {
  return (args, stock) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    const backend = args.backend as unknown as WasmHeapBackend;
    const n = elementCount(x.shape);
    if (x.dtype !== 'float32' || n === 0) return stock(args);
    const out = backend.makeOutput(x.shape.slice(), 'float32');
    params[0] = LIBM_OPS.Exp;
    params[1] = heapOffset(backend, out);
    params[2] = heapOffset(backend, x);
    params[3] = n;
    // Read HEAPU8 after makeOutput: an allocation may have grown (and so replaced) the heap.
    addon.unary(backend.wasm.HEAPU8, params);
    state.calls++;
    return out;
  };
}

/** The probe against the stock Exp registered now; null when every result matches, else why not. */
function probe(addon: NativeLibmAddon, backend: WasmHeapBackend): string | null {
  let verdicts = probed.get(addon);
  if (!verdicts) probed.set(addon, (verdicts = new WeakMap()));
  const known = verdicts.get(backend);
  if (known !== undefined) return known;
  const stock = tf.getKernel('Exp', 'wasm');
  let verdict: string | null;
  if (!stock) verdict = 'the wasm backend has no Exp kernel';
  else {
    try {
      const r = compareLibm(addon, backend, 'Exp', stock.kernelFunc, libmProbeInputs(), 3);
      verdict = r.mismatches === 0
        ? null
        : `the start-up probe found ${r.mismatches} of ${r.inputs} results differing from the stock wasm Exp (${r.examples.map((e) => `x=${e.x} (${e.bits}): native ${e.native}, stock ${e.stock}`).join('; ')})`;
    } catch (err) {
      verdict = `the start-up probe failed: ${(err as Error).message}`;
    }
  }
  verdicts.set(backend, verdict);
  return verdict;
}

/** Puts back the Exp registered before (idempotent). */
export function disableNativeLibm(reason: { state: NativeLibmStatus['state']; reason: string } = { state: 'off', reason: '' }): void {
  if (restore) restore();
  restore = null;
  registeredAddon = null;
  state = { ...reason, calls: state.calls };
}

/**
 * Registers the native Exp over the wasm backend's Exp as {@link NATIVE_LIBM_ENV} says, once the
 * probe passed against the Exp registered now (the caller takes other Exp overrides off first: the
 * split). Idempotent; `threads` for large calls. Returns whether the native Exp is registered.
 */
export function applyNativeLibm(threads: number, env: NodeJS.ProcessEnv = process.env): boolean {
  const mode = resolveNativeLibmMode(env);
  if (mode === 'off') {
    disableNativeLibm({ state: 'off', reason: `${NATIVE_LIBM_ENV}=off` });
    return false;
  }
  const load = loadNativeLibm();
  if (!load.ok) return refuse(mode, 'unavailable', load.reason);
  return enableNativeLibm(load.addon, threads, mode);
}

function refuse(mode: 'auto' | 'on', s: 'unavailable' | 'failed', reason: string): false {
  disableNativeLibm({ state: s, reason });
  if (mode === 'on') throw new LoraStudyError(`${NATIVE_LIBM_ENV}=on: ${reason}`, { hint: NATIVE_ADDON_HINT });
  return false;
}

/** {@link applyNativeLibm} with a given addon (tests pass one that differs from the stock kernel). */
export function enableNativeLibm(addon: NativeLibmAddon, threads: number, mode: 'auto' | 'on' = 'auto'): boolean {
  addon.setThreads(threads);
  if (restore && registeredAddon === addon) return true;
  disableNativeLibm();
  const backend = backendInstance<WasmHeapBackend>('wasm');
  if (!backend) return refuse(mode, 'unavailable', 'the wasm backend is not running');
  const bad = probe(addon, backend);
  if (bad) return refuse(mode, 'failed', bad);
  restore = overrideWasmKernel('Exp', nativeExp(addon));
  if (!restore) return refuse(mode, 'unavailable', 'the wasm backend has no Exp kernel');
  registeredAddon = addon;
  state = { state: 'on', reason: `glibc's non-FMA expf (__expf_sse2 from the static libm), bit-identical to the stock wasm Exp on the start-up probe's ${PROBE_SIZE} inputs`, calls: state.calls };
  return true;
}

export function nativeLibmStatus(): NativeLibmStatus {
  return { ...state };
}

/** For the device string: ", native Exp (glibc non-FMA expf)" while it is registered. */
export function describeNativeLibm(): string {
  return restore ? ', native Exp (glibc non-FMA expf, probe-checked)' : '';
}
