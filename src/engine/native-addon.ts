/**
 * Loads the optional native SGEMM addon (`lora-study-native`, built from native/sgemm by
 * `npm install` with node-gyp). It is optional: when the build failed or the package is absent,
 * {@link loadNativeAddon} says why and everything runs on plain wasm.
 */
import { createRequire } from 'node:module';

/** The addon's API (native/sgemm/src/sgemm.cc; typed here so the project compiles without the optional package). Offsets are float indices into `heap`. */
export interface NativeSgemm {
  /**
   * C[b] = op(A[aIndex?.[b] ?? b·aStep]) · op(B[bIndex?.[b] ?? b·bStep]) for b < batch, then the
   * bias (offset -1: none) and activation (0 linear, 1 relu, 2 relu6), in `order`: 0 = one chain
   * over k from the bias (XNNPACK's fully-connected), 1 = a chain per 48-k block, blocks summed
   * (tfjs wasm's slow_batch_matmul).
   */
  matmul(
    heap: Float32Array, aOffset: number, bOffset: number, cOffset: number,
    batch: number, aStep: number, bStep: number, aIndex: Uint32Array | null, bIndex: Uint32Array | null,
    m: number, n: number, k: number, transposeA: boolean, transposeB: boolean,
    order: number, biasOffset: number, biasLength: number, activation: number,
  ): void;
  setThreads(n: number): number;
  setKernel(name: 'auto' | 'avx512' | 'avx2' | 'portable'): boolean;
  /**
   * Forces one of the current kernel's tiles (`info().tiles`; 'auto': the one that pads least, as
   * products run) and A read in place or packed first ('auto': by the product's width), for tests
   * that cover every path; false for a tile the kernel lacks. Absent in builds before the tiles.
   */
  setTile?(tile: string, a: 'in-place' | 'packed' | 'auto'): boolean;
  /** Products below this many flops run on the calling thread (default 3e6); returns the value in effect. Absent in builds before it. */
  setMinParallelFlops?(flops?: number): number;
  /**
   * 'adaptive' (default): above that size and below 64× it, one thread or all, whichever the
   * calling thread has measured faster for products of that size (a loaded machine makes a second
   * thread a loss); larger products always split;
   * 'fixed': always all threads above it (tests that must cover the split). Returns the policy.
   * Absent in builds before it.
   */
  setThreadPolicy?(policy?: 'adaptive' | 'fixed'): 'adaptive' | 'fixed';
  /** `api`: the matmul() calling convention the build implements ({@link NATIVE_ADDON_API}); absent before 2. `tiles`: the kernel's micro-tiles (rows×columns). */
  info(): { kernel: string; threads: number; hardwareThreads: number; api?: number; tiles?: string[] };
}

/** The addon API this code calls: 2 = the exact (stock-order) matmul with 18 arguments. */
export const NATIVE_ADDON_API = 2;

export type NativeAddonLoad = { ok: true; addon: NativeSgemm; kernel: string } | { ok: false; reason: string };

/** Points the loader at another module (tests use a missing path to simulate a failed build). */
export const NATIVE_ADDON_PATH_ENV = 'LORA_STUDY_NATIVE_ADDON';
export const NATIVE_ADDON_HINT =
  'the native matmul is built from native/sgemm by `npm install` (node-gyp: needs g++, make and python3); ' +
  'run `npm rebuild lora-study-native --foreground-scripts` to see the build error. Without it everything runs on plain wasm';

let cached: NativeAddonLoad | null = null;

export function loadNativeAddon(): NativeAddonLoad {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  const id = process.env[NATIVE_ADDON_PATH_ENV] || 'lora-study-native';
  try {
    const addon = require(id) as NativeSgemm;
    if (typeof addon.matmul !== 'function') throw new Error(`${id} does not export matmul()`);
    const info = addon.info();
    // A build left from an older checkout (`git pull` without `npm install`) has another calling convention.
    if (info.api !== NATIVE_ADDON_API) {
      throw new Error(`${id} is a stale build (API ${info.api ?? 1}, this code needs ${NATIVE_ADDON_API}); run \`npm rebuild lora-study-native\``);
    }
    cached = { ok: true, addon, kernel: info.kernel };
  } catch (err) {
    const msg = (err as Error).message.split('\n')[0];
    cached = { ok: false, reason: `the native addon did not load (${msg})` };
  }
  return cached;
}

/** Forgets the cached load (tests that switch {@link NATIVE_ADDON_PATH_ENV}). */
export function resetNativeAddonCache(): void {
  cached = null;
}
