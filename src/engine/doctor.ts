import * as tf from '@tensorflow/tfjs-core';
import os from 'node:os';
import { silentLogger, type Logger } from '../util/logger.js';
import { LOADERS } from './backend.js';
import { findCudaLibraries, type CudaLibReport, type CudaSearchOptions } from './cuda-libs.js';
import { cpuModel } from './load-cpu.js';
import { probePackage, TENSORFLOW_PACKAGES, type PackageProbe } from './load-tensorflow.js';
import { activeWebgpuAdapter } from './load-webgpu.js';
import { measureMatmulGflops } from './matmul-peak.js';
import { loadNativeAddon, NATIVE_ADDON_HINT } from './native-addon.js';
import { loadNativeLibm, NATIVE_LIBM_ENV, nativeLibmStatus } from './native-libm.js';
import { loadNativeOps, NATIVE_OP_KERNELS } from './native-ops.js';
import { SPLIT_UNARY_ENV } from './wasm-split-unary.js';
import { queryGpus, runProgram, type GpuInfo, type RunProgram } from './nvidia-smi.js';
import { AUTO_ORDER, type BackendName } from './types.js';
import { adapterLabel } from './webgpu-adapters.js';
import type { WebgpuProbeFacts } from './webgpu-diagnose.js';
import { probeWebgpu, type WebgpuReport } from './webgpu-report.js';

export interface BackendCheck {
  backend: BackendName;
  ok: boolean;
  /** What loaded, or why it did not and what to do. */
  reason: string;
  device?: string;
  threads?: number;
  simd?: boolean;
  /** Quick 256x256x256 matmul rate, a rough comparison between backends. */
  matmulGflops?: number;
  /** webgpu on a CPU rasteriser (llvmpipe): works when named, never picked by `auto`. */
  software?: boolean;
}

export interface DoctorReport {
  node: { version: string; platform: string; arch: string };
  cpu: { model: string; logicalCores: number; availableParallelism: number };
  memory: { totalBytes: number; freeBytes: number };
  tfjsVersion: string;
  backends: BackendCheck[];
  tensorflowPackages: PackageProbe[];
  /** null when nvidia-smi is absent or fails. */
  gpus: GpuInfo[] | null;
  cuda: CudaLibReport;
  /** Every WebGPU adapter Dawn offers and what Dawn is missing here. */
  webgpu: WebgpuReport;
  /** The optional native SGEMM addon that runs wasm's matmuls: which kernel, or why it is absent. */
  nativeMatmul: { ok: boolean; detail: string };
  /** The addon's bit-identical non-matmul kernels for wasm (native/sgemm/src/ops.cc): which, or why absent. */
  nativeOps: { ok: boolean; detail: string };
  /** The native Exp (glibc's non-FMA expf, probe-checked against the stock kernel): in use, or why not. */
  nativeExp: { ok: boolean; detail: string };
  /** What `--backend auto` picks here. */
  auto: { backend: BackendName; device: string } | null;
  /** Things to do, most important first. */
  advice: string[];
}

export interface DoctorOptions {
  logger?: Logger;
  /** Runs nvidia-smi; swappable in tests. */
  run?: RunProgram;
  cuda?: CudaSearchOptions;
  /** Skip the quick matmul timing (tests). */
  skipTiming?: boolean;
  /** Library/ICD facts for the WebGPU checks; default: this machine's. */
  webgpuFacts?: WebgpuProbeFacts;
}

/**
 * Tries every backend in this process, the way `auto` would, and collects the facts needed to
 * explain the outcome: native packages, GPUs, the CUDA 11 / cuDNN 8 libraries tfjs-node-gpu
 * loads. Leaves the last working backend active.
 */
export async function runDoctor(opts: DoctorOptions = {}): Promise<DoctorReport> {
  const logger = opts.logger ?? silentLogger;
  const backends: BackendCheck[] = [];
  for (const backend of AUTO_ORDER) {
    let check: BackendCheck;
    try {
      // webgpu is tried as if named, so a software adapter is reported (and marked) too.
      const r = await LOADERS[backend]({ logger, explicit: backend === 'webgpu' });
      check = r.ok
        ? { backend, ok: true, reason: r.reason, device: r.device, threads: r.threads, simd: r.simd }
        : { backend, ok: false, reason: r.reason };
      if (r.ok && backend === 'webgpu') check.software = activeWebgpuAdapter()?.software ?? false;
    } catch (err) {
      check = { backend, ok: false, reason: (err as Error).message };
    }
    if (check.ok && !opts.skipTiming) {
      check.matmulGflops = (await measureMatmulGflops({ m: 256, k: 256, n: 256, iters: 5, warmup: 2 })).gflops;
    }
    backends.push(check);
  }
  const gpus = queryGpus(opts.run ?? runProgram);
  const cuda = findCudaLibraries(opts.cuda);
  const tensorflowPackages = TENSORFLOW_PACKAGES.map((p) => probePackage(p));
  const webgpu = await probeWebgpu({ nvidiaGpu: (gpus?.length ?? 0) > 0, facts: opts.webgpuFacts });
  const first = backends.find((b) => b.ok && !b.software);
  const addon = loadNativeAddon();
  const nativeMatmul = addon.ok
    ? { ok: true, detail: `${addon.kernel} kernel, up to ${addon.addon.info().hardwareThreads} threads (lora-study-native; --native-matmul off disables it)` }
    : { ok: false, detail: addon.reason };
  const ops = loadNativeOps();
  const nativeOps = ops.ok
    ? {
        ok: true,
        detail: `${Object.keys(NATIVE_OP_KERNELS).join(', ')}, bit-identical to stock wasm (on with the native matmul; LORA_STUDY_NATIVE_OPS=off keeps the stock ones); fused kernels (the addon API this code needs has them): self-attention (GPT-2's from packed q|k|v too), rotary, RMSNorm and LayerNorm with the residual add, SiLU gate, gelu_new, attention softmax, causal-LM loss, AdamW; Exp: natively (next line) or else the stock wasm kernel split over wasm instances in worker threads when measured faster (${SPLIT_UNARY_ENV}=off keeps one)`,
      }
    : { ok: false, detail: ops.reason };
  const nativeExp = describeNativeExp();
  const report: DoctorReport = {
    node: { version: process.version, platform: process.platform, arch: process.arch },
    cpu: { model: cpuModel(), logicalCores: os.cpus().length, availableParallelism: os.availableParallelism() },
    memory: { totalBytes: os.totalmem(), freeBytes: os.freemem() },
    tfjsVersion: tf.version_core,
    backends,
    tensorflowPackages,
    gpus,
    cuda,
    webgpu,
    nativeMatmul,
    nativeOps,
    nativeExp,
    auto: first ? { backend: first.backend, device: first.device! } : null,
    advice: [],
  };
  report.advice = adviseFor(report);
  return report;
}

/** The native Exp's state after the wasm backend started (its probe ran there), or whether it could run at all. */
function describeNativeExp(): { ok: boolean; detail: string } {
  const s = nativeLibmStatus();
  const fallback = 'Exp runs as the stock wasm kernel (split over wasm instances when faster)';
  if (s.state === 'on') return { ok: true, detail: `${s.reason} (${NATIVE_LIBM_ENV}=off turns it off)` };
  if (s.state !== 'off') return { ok: false, detail: `${s.reason}; ${fallback}` };
  if (s.reason) return { ok: false, detail: `${s.reason}; ${fallback}` };
  const load = loadNativeLibm();
  return load.ok
    ? { ok: false, detail: `glibc's non-FMA expf is built in but not in use (it follows the native ops and runs after a start-up probe); ${fallback}` }
    : { ok: false, detail: `unavailable: ${load.reason}; ${fallback}` };
}

function adviseFor(r: DoctorReport): string[] {
  const advice: string[] = [];
  const tensorflow = r.backends.find((b) => b.backend === 'tensorflow')!;
  const gpuPkg = r.tensorflowPackages.find((p) => p.pkg === '@tensorflow/tfjs-node-gpu')!;
  const hasGpu = (r.gpus?.length ?? 0) > 0;
  const onCuda = tensorflow.ok && tensorflow.device?.startsWith('CUDA');

  if (hasGpu && !onCuda) {
    const gpu = r.gpus![0];
    if (!gpuPkg.installed) {
      advice.push(`This machine has ${gpu.name} (driver ${gpu.driverVersion}) but ${gpuPkg.reason}`);
    } else {
      advice.push(`This machine has ${gpu.name} but tfjs-node-gpu does not use it: ${tensorflow.ok ? 'it runs on the CPU' : tensorflow.reason}`);
    }
    if (!r.cuda.allLoadable) {
      advice.push(
        'tfjs-node-gpu 4.x runs libtensorflow 2.9, which needs CUDA 11.x (11.2 or later) and cuDNN 8.x; CUDA 12 or 13 and cuDNN 9 alone are not enough, install 11.x side by side:',
      );
      for (const lib of r.cuda.libs) if (lib.fix) advice.push(`  ${lib.fix}`);
      if (r.cuda.otherMajors.length > 0) {
        advice.push(`  (found only newer, incompatible majors: ${r.cuda.otherMajors.join(', ')})`);
      }
    }
  } else if (!hasGpu && !tensorflow.ok && gpuPkg.installed) {
    advice.push('tfjs-node-gpu is installed but no NVIDIA GPU is visible (nvidia-smi is missing or failed); install the NVIDIA driver, or use @tensorflow/tfjs-node on CPU-only machines');
  }
  if (!tensorflow.ok && !hasGpu && !gpuPkg.installed) {
    advice.push(
      'For faster CPU training, `npm install @tensorflow/tfjs-node` with network access (npm 11: `npm install-scripts approve @tensorflow/tfjs-node` first); wasm is the offline default',
    );
  }
  advice.push(...adviseWebgpu(r, hasGpu));
  if (!r.nativeMatmul.ok) advice.push(`Native matmul unavailable, wasm runs its own (slower) matmuls: ${r.nativeMatmul.detail}; ${NATIVE_ADDON_HINT}`);
  else if (!r.nativeOps.ok) advice.push(`Native non-matmul kernels unavailable, wasm runs its own (slower) ones: ${r.nativeOps.detail}; ${NATIVE_ADDON_HINT}`);
  const wasm = r.backends.find((b) => b.backend === 'wasm');
  if (wasm?.ok && (wasm.threads ?? 1) < Math.min(8, r.cpu.availableParallelism)) {
    advice.push(
      `wasm runs ${wasm.threads} thread(s) on ${r.cpu.availableParallelism} cores; pass --threads to change it (max 8)`,
    );
  }
  return advice;
}

/** WebGPU advice: each missing piece with its fix where a GPU is present, or why only software runs. */
function adviseWebgpu(r: DoctorReport, hasGpu: boolean): string[] {
  const advice: string[] = [];
  const w = r.webgpu;
  if (!w.dawn.ok) {
    advice.push(`WebGPU: ${w.dawn.reason}`);
    return advice;
  }
  const hardware = w.adapters.filter((a) => !a.software);
  const gpuExpected = hasGpu || w.deviceNodes.length > 0;
  if (hardware.length === 0 && gpuExpected) {
    const where = hasGpu ? r.gpus![0].name : w.deviceNodes.join(', ');
    advice.push(`WebGPU: Dawn finds no hardware adapter for ${where}${w.adapters.length ? ` (only ${w.adapters.map(adapterLabel).join(', ')})` : ''}:`);
    for (const req of w.requirements) if (!req.ok && req.fix) advice.push(`  ${req.name}: ${req.detail}; ${req.fix}`);
  } else if (w.adapters.length === 0) {
    advice.push('WebGPU: Dawn finds no adapter at all (not even Mesa\'s llvmpipe for tests):');
    for (const req of w.requirements) if (!req.ok && req.fix) advice.push(`  ${req.name}: ${req.fix}`);
  }
  for (const a of hardware) {
    const mib = a.limits.maxStorageBufferBindingSize / 2 ** 20;
    if (mib < 1024) advice.push(`WebGPU: ${adapterLabel(a)} binds at most ${mib.toFixed(0)} MiB per tensor; larger embeddings and output heads are split by vocabulary`);
  }
  return advice;
}
