import * as tf from '@tensorflow/tfjs-core';
import { LoraStudyError } from '../util/errors.js';
import { silentLogger, type Logger } from '../util/logger.js';
import { loadCpu } from './load-cpu.js';
import type { BackendLoad } from './load-result.js';
import { loadTensorflow } from './load-tensorflow.js';
import { loadWasm } from './load-wasm.js';
import { loadWebgpu } from './load-webgpu.js';
import { loadNativeAddon, NATIVE_ADDON_HINT } from './native-addon.js';
import { resolveNativeMatmulMode, type NativeMatmulMode } from './native-matmul.js';
import { resolveNativeLibmMode } from './native-libm.js';
import { resolveNativeOpsOverride } from './native-ops.js';
import { resolveSplitUnaryMode } from './wasm-split-unary.js';
import {
  AUTO_ORDER,
  BACKEND_NAMES,
  type BackendAttempt,
  type BackendName,
  type EngineInfo,
  type InitEngineOptions,
} from './types.js';

/** A backend named with `--backend` could not be used here. */
export class BackendUnavailableError extends LoraStudyError {
  readonly backend: BackendName;
  readonly reason: string;
  constructor(backend: BackendName, reason: string, hint: string) {
    super(`backend "${backend}" is not usable here: ${reason}`, { hint });
    this.backend = backend;
    this.reason = reason;
  }
}

const HINTS: Record<BackendName, string> = {
  tensorflow:
    'install @tensorflow/tfjs-node-gpu (CUDA) or @tensorflow/tfjs-node (CPU) as the reason says, ' +
    'run `lora-study doctor` to check the machine, or use `--backend wasm` (works everywhere, offline)',
  webgpu:
    'run `lora-study doctor`: it lists every WebGPU adapter and what is missing (Vulkan loader, GPU driver, EGL), ' +
    'set LORA_STUDY_WEBGPU=vulkan|opengles to force one Dawn backend, or use `--backend wasm`',
  wasm: 'reinstall the project (`npm install`) so @tensorflow/tfjs-backend-wasm and its .wasm files are complete, or use `--backend cpu`',
  cpu: 'reinstall the project (`npm install`) so @tensorflow/tfjs-backend-cpu is complete',
};

/** `explicit`: the backend was named with `--backend` (webgpu then accepts a software adapter). */
export type BackendLoader = (opts: { threads?: number; logger: Logger; explicit?: boolean; nativeMatmul?: NativeMatmulMode }) => Promise<BackendLoad>;

export const LOADERS: Record<BackendName, BackendLoader> = {
  tensorflow: loadTensorflow,
  webgpu: loadWebgpu,
  wasm: loadWasm,
  cpu: loadCpu,
};

/**
 * Chooses and starts the tfjs backend. `auto` tries tensorflow, webgpu (hardware adapters only),
 * wasm, cpu in that order and
 * keeps the first that loads and multiplies a test matrix correctly; a named backend that
 * fails throws {@link BackendUnavailableError}. Safe to call again: tfjs keeps one instance per
 * backend per process, so a repeat call switches to it (wasm keeps its first thread count).
 */
export async function initEngine(opts: InitEngineOptions): Promise<EngineInfo> {
  const logger = opts.logger ?? silentLogger;
  if (opts.backend !== 'auto' && !BACKEND_NAMES.includes(opts.backend)) {
    throw new LoraStudyError(`unknown backend "${String(opts.backend)}"`, {
      hint: `use one of: auto, ${BACKEND_NAMES.join(', ')}`,
    });
  }
  const nativeMatmul = resolveNativeMatmulMode(opts.nativeMatmul);
  resolveNativeOpsOverride();
  resolveSplitUnaryMode();
  resolveNativeLibmMode();
  if (nativeMatmul === 'on') {
    const addon = loadNativeAddon();
    if (!addon.ok) throw new LoraStudyError(`--native-matmul on: ${addon.reason}`, { hint: NATIVE_ADDON_HINT });
  }
  const order = opts.backend === 'auto' ? AUTO_ORDER : [opts.backend];
  const attempts: BackendAttempt[] = [];
  for (const backend of order) {
    let result: BackendLoad;
    try {
      result = await LOADERS[backend]({ threads: opts.threads, logger, explicit: opts.backend !== 'auto', nativeMatmul });
    } catch (err) {
      result = { ok: false, reason: (err as Error).message };
    }
    attempts.push({ backend, ok: result.ok, reason: result.reason });
    if (result.ok) {
      const info: EngineInfo = {
        backend,
        device: result.device,
        threads: result.threads,
        simd: result.simd,
        ...(result.nativeMatmul ? { nativeMatmul: result.nativeMatmul } : {}),
        tfjsVersion: tf.version_core,
        attempts,
      };
      logger.info({ backend, device: info.device, threads: info.threads }, 'engine ready');
      return info;
    }
    logger.debug({ backend, reason: result.reason }, 'backend unavailable');
  }
  const last = attempts[attempts.length - 1];
  if (opts.backend !== 'auto') throw new BackendUnavailableError(last.backend, last.reason, HINTS[last.backend]);
  throw new LoraStudyError(
    `no tfjs backend works here: ${attempts.map((a) => `${a.backend}: ${a.reason}`).join('; ')}`,
    { hint: HINTS.cpu },
  );
}
