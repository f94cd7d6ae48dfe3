import type { Logger } from '../util/logger.js';
import type { NativeMatmulMode, NativeMatmulState } from './native-matmul.js';

/** What `--backend` accepts: `auto` tries each real backend in {@link AUTO_ORDER}. */
export type BackendRequest = 'auto' | BackendName;

/** A tfjs backend this project can run on. */
export type BackendName = 'tensorflow' | 'webgpu' | 'wasm' | 'cpu';

export const BACKEND_NAMES: readonly BackendName[] = ['tensorflow', 'webgpu', 'wasm', 'cpu'];

/**
 * `auto` takes the first of these that loads and computes a correct matmul; `webgpu` counts only
 * on a hardware adapter (a software one such as llvmpipe is used only when asked for by name).
 */
export const AUTO_ORDER: readonly BackendName[] = ['tensorflow', 'webgpu', 'wasm', 'cpu'];

/** One try at bringing up a backend, kept so runs and `doctor` can say why others were skipped. */
export interface BackendAttempt {
  backend: BackendName;
  ok: boolean;
  /** Why it failed, or what was loaded when it worked (e.g. `@tensorflow/tfjs-node-gpu 4.22.0`). */
  reason: string;
}

/** The backend and device a process really runs on; every run records this. */
export interface EngineInfo {
  backend: BackendName;
  /** Human description of the hardware, e.g. `CUDA: NVIDIA H100 80GB HBM3`, `WebGPU: NVIDIA … (vulkan, core)`, `CPU: wasm SIMD+threads x2`. */
  device: string;
  /** Threads the backend computes with (1 where it is single-threaded). */
  threads: number;
  /** Whether the backend uses SIMD instructions (wasm SIMD; native code counts as true). */
  simd: boolean;
  /** wasm only: whether BatchMatMul/_FusedMatMul run on the native SGEMM addon, and which kernel or why not. */
  nativeMatmul?: NativeMatmulState;
  /** Version of @tensorflow/tfjs-core in this process. */
  tfjsVersion: string;
  attempts: BackendAttempt[];
}

export interface InitEngineOptions {
  backend: BackendRequest;
  /** Compute threads for wasm; default: the number of logical cores. Fixed at the first wasm init of a process. */
  threads?: number;
  logger?: Logger;
  /** wasm: run matmuls on the native SGEMM addon (`--native-matmul`); default: LORA_STUDY_NATIVE_MATMUL, else off. */
  nativeMatmul?: NativeMatmulMode;
}
