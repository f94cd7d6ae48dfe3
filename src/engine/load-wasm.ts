import * as tf from '@tensorflow/tfjs-core';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from '../util/logger.js';
import { cpuModel } from './load-cpu.js';
import type { BackendLoad } from './load-result.js';
import { backendInstance, isBackendInitialized } from './tf-registry.js';
import { checkMatmul } from './verify-backend.js';
import { installThreadShim, unrefWorkers, type ThreadShim } from './wasm-node-threads.js';
import { installWasmTransposedMatmul } from './wasm-matmul-transpose.js';
import { installWasmSharingIdentity } from './wasm-identity.js';
import { installTapeShortcuts } from './tape-shortcuts.js';
import { installWasmSlice } from './wasm-slice.js';
import { applyNativeMatmul, type NativeMatmulMode } from './native-matmul.js';
import { loadNativeAddon } from './native-addon.js';
import { nativeOpsEnabled } from './native-ops.js';
import { describeSplitUnary } from './wasm-split-unary.js';
import { describeNativeLibm } from './native-libm.js';

type WasmModule = typeof import('@tensorflow/tfjs-backend-wasm');

/**
 * backend.cc caps XNNPACK's pool at 8 threads and Emscripten pre-starts 8 workers
 * (tfjs-backend-wasm 4.22), so asking for more gives 8.
 */
export const MAX_WASM_THREADS = 8;

/** The default thread count: every logical core this process may use. */
export function defaultThreads(): number {
  return Math.min(MAX_WASM_THREADS, os.availableParallelism());
}

let wasmPathsSet = false;

/**
 * Points the backend at its own dist/ folder: it would otherwise look beside whichever file
 * bundled it, which breaks as soon as the CLI is bundled or run from another folder.
 */
function setWasmPathsOnce(wasm: WasmModule): void {
  if (wasmPathsSet) return;
  const require = createRequire(import.meta.url);
  const dist = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm'));
  wasm.setWasmPaths(`${dist}${path.sep}`);
  wasmPathsSet = true;
}

function describe(simd: boolean, threads: number): string {
  const isa = simd ? 'SIMD' : 'no SIMD';
  const par = threads > 1 ? `+threads x${threads}` : ', 1 thread';
  return `CPU: wasm ${isa}${par} (${cpuModel()})`;
}

/**
 * The wasm backend's own thread pool size. With the native matmul in use (mode not off and the addon
 * loads) the native kernels bring their own threads, and what is left on wasm's pool (XNNPACK's
 * Softmax and Sigmoid) hands each call to a pooled worker: on tiny tensors that handoff costs more
 * than the work (tiny-llama: 16–17 ms a step with 2 wasm threads, 11 ms with 1; results are
 * bit-identical either way). So wasm then runs on one thread; otherwise on `threads`.
 */
export function wasmPoolThreads(threads: number, nativeMatmul: NativeMatmulMode): number {
  return nativeMatmul !== 'off' && loadNativeAddon().ok ? 1 : threads;
}

/** Sets up the wasm backend, threaded when more than one thread is wanted and the build allows it. */
export async function loadWasm(opts: { threads?: number; logger: Logger; nativeMatmul?: NativeMatmulMode }): Promise<BackendLoad> {
  const wasm: WasmModule = await import('@tensorflow/tfjs-backend-wasm');
  const simd = Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'));

  // tfjs builds a backend once per process; a second init reuses it and its thread count.
  if (!isBackendInitialized('wasm')) {
    const hooks = snapshotProcessHooks();
    setWasmPathsOnce(wasm);
    const wanted = wasmPoolThreads(Math.min(MAX_WASM_THREADS, Math.max(1, opts.threads ?? defaultThreads())), opts.nativeMatmul ?? 'auto');
    let threadedError: string | null = null;
    // Only a SIMD+threads build exists, so threads need SIMD.
    if (wanted > 1 && simd) {
      threadedError = await initThreaded(wasm, wanted);
      if (threadedError !== null) {
        opts.logger.warn({ reason: threadedError }, 'threaded wasm failed to start; using the single-threaded build');
      }
    }
    if (!isBackendInitialized('wasm')) {
      tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
      const ok = await tf.setBackend('wasm');
      hooks.removeAdded();
      if (!ok) {
        return { ok: false, reason: `the wasm backend failed to initialise${threadedError ? ` (threaded: ${threadedError})` : ''}` };
      }
    }
    hooks.removeAdded();
  }
  if (!(await tf.setBackend('wasm'))) return { ok: false, reason: 'tf.setBackend("wasm") returned false' };
  // Every x·Wᵀ and weight gradient is a transposed matmul, which wasm runs ~10× slower in place.
  installWasmTransposedMatmul();
  // Gradient tapes clone every saved tensor (Identity): share the buffer instead of copying it.
  installWasmSharingIdentity();
  // ...and skip the kernel path for those clones and for no-op Reshape/Cast (same values, fewer kernels).
  const shortcuts = installTapeShortcuts('wasm');
  if (!shortcuts.backends.includes('wasm')) opts.logger.debug({ reason: shortcuts.refused }, 'engine shortcuts off: stock kernel path for clones and reshapes');
  // The stock Slice/SplitV read the whole input back on every call: copy only the slice.
  installWasmSlice();
  // BatchMatMul/_FusedMatMul on the native SGEMM addon when it built (auto) or when asked (on).
  const wasmThreads = wasm.getThreadsCount();
  const computeThreads = Math.max(1, opts.threads ?? defaultThreads());
  const nativeMatmul = applyNativeMatmul(opts.nativeMatmul ?? 'auto', computeThreads);
  const bad = await checkMatmul();
  if (bad) return { ok: false, reason: bad };
  const ops = nativeOpsEnabled().length;
  // The run's compute threads: the native kernels' when they are in use (wasm's pool is then 1, see wasmPoolThreads).
  const threads = nativeMatmul.used ? computeThreads : wasmThreads;
  const device = `${describe(simd, wasmThreads)}${nativeMatmul.used ? `, native matmul (${nativeMatmul.detail})` : ops ? `, ${ops} bit-exact native ops` : ''}${describeNativeLibm()}${describeSplitUnary()}`;
  return { ok: true, reason: `@tensorflow/tfjs-backend-wasm ${wasm.version_wasm}`, device, threads, simd, nativeMatmul };
}

/** How long the threaded build may take to start before the single-threaded one is used instead. */
export const DEFAULT_THREAD_START_TIMEOUT_MS = 30_000;
export const THREAD_START_TIMEOUT_ENV = 'LORA_STUDY_WASM_THREAD_START_TIMEOUT_MS';

/** The threaded start's time limit: {@link THREAD_START_TIMEOUT_ENV} when set to a positive number. */
export function threadStartTimeoutMs(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[THREAD_START_TIMEOUT_ENV];
  const ms = raw === undefined || raw.trim() === '' ? NaN : Number(raw);
  return Number.isFinite(ms) && ms > 0 ? ms : DEFAULT_THREAD_START_TIMEOUT_MS;
}

/** Resolves with the promise's value, or with `onTimeout()` once `ms` have passed first. */
export async function settleWithin<T>(promise: Promise<T>, ms: number, onTimeout: () => T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  // A referenced timer also keeps Node alive while the start is stuck, instead of exiting 13.
  const timeout = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(onTimeout()), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Returns null on success, else why the threaded build did not start. */
async function initThreaded(wasm: WasmModule, threads: number): Promise<string | null> {
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  wasm.setThreadsCount(threads);
  // tfjs reports a failed backend init with console.warn and `false`; catch the text for the reason.
  const warnings: string[] = [];
  const originalWarn = console.warn;
  let shim: ThreadShim | null = null;
  let ok = false;
  const limitMs = threadStartTimeoutMs();
  try {
    shim = installThreadShim(threads);
    console.warn = (...args: unknown[]) => void warnings.push(args.map(String).join(' '));
    ok = await settleWithin(tf.setBackend('wasm'), limitMs, () => {
      // The next tf.setBackend('wasm') supersedes this pending init; its late result is ignored.
      warnings.push(`did not start within ${limitMs} ms (${THREAD_START_TIMEOUT_ENV} sets the limit)`);
      return false;
    });
  } catch (err) {
    warnings.push((err as Error).message);
  } finally {
    console.warn = originalWarn;
    shim?.restore();
  }
  if (!ok) {
    // Workers of a failed or abandoned start would keep the process alive.
    for (const w of shim?.workers ?? []) void w.terminate();
    return warnings.join('; ') || 'tf.setBackend("wasm") returned false';
  }
  unrefWorkers(backendInstance<{ wasm?: unknown }>('wasm')?.wasm);
  return null;
}

const PROCESS_EVENTS = ['uncaughtException', 'unhandledRejection'] as const;

/**
 * Emscripten's Node glue adds `uncaughtException` and `unhandledRejection` handlers that rethrow,
 * so every later crash in the process is reported at a line of the minified module and prints
 * all of it. They serve Emscripten's own exit() handling, which tfjs never uses; removing them
 * restores Node's normal crash reports.
 */
function snapshotProcessHooks(): { removeAdded(): void } {
  // Typed loosely: the two events' listener types differ and only identity matters here.
  type Listener = (...args: unknown[]) => void;
  const emitter = process as unknown as {
    listeners(event: string): Listener[];
    removeListener(event: string, listener: Listener): unknown;
  };
  const before = new Map(PROCESS_EVENTS.map((e) => [e, new Set(emitter.listeners(e))]));
  return {
    removeAdded() {
      for (const event of PROCESS_EVENTS) {
        for (const listener of emitter.listeners(event)) {
          if (!before.get(event)!.has(listener)) emitter.removeListener(event, listener);
        }
      }
    },
  };
}
