import * as tf from '@tensorflow/tfjs-core';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import type { Logger } from '../util/logger.js';
import { cpuModel } from './load-cpu.js';
import type { BackendLoad } from './load-result.js';
import { queryGpus } from './nvidia-smi.js';
import { backendInstance } from './tf-registry.js';
import { checkMatmul } from './verify-backend.js';

/** The native packages, best first: both register tfjs's `tensorflow` backend. */
export const TENSORFLOW_PACKAGES = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'] as const;
export type TensorflowPackage = (typeof TENSORFLOW_PACKAGES)[number];

export function installHint(pkg: TensorflowPackage): string {
  return (
    `run \`npm install ${pkg}\` in the project folder with network access ` +
    `(npm 11 runs no install scripts until allowed: \`npm install-scripts approve ${pkg}\` first)`
  );
}

export interface PackageProbe {
  pkg: TensorflowPackage;
  installed: boolean;
  version: string | null;
  /** Why it is absent; null when installed. */
  reason: string | null;
}

/** Whether a native package is in node_modules, without loading its binary. */
export function probePackage(pkg: TensorflowPackage): PackageProbe {
  const require = createRequire(import.meta.url);
  try {
    const manifest = require.resolve(`${pkg}/package.json`);
    const version = (JSON.parse(readFileSync(manifest, 'utf8')) as { version?: string }).version ?? null;
    return { pkg, installed: true, version, reason: null };
  } catch {
    return {
      pkg,
      installed: false,
      version: null,
      reason:
        `${pkg} is not installed: it is an optional dependency whose install downloads libtensorflow, ` +
        `so an offline \`npm install\` skips it; ${installHint(pkg)}`,
    };
  }
}

/** Turns an import failure into a reason with what to do next. */
export function explainImportError(pkg: TensorflowPackage, err: unknown): string {
  const message = ((err as Error)?.message ?? String(err)).split('\n').slice(0, 3).join(' ').trim();
  if (/lib(cudart|cublas|cudnn|cufft|curand|cusolver|cusparse)[^ ]*\.so/.test(message)) {
    return `${pkg} is installed but cannot load the CUDA libraries it needs (${message}); run \`lora-study doctor\` for the missing files and how to install them`;
  }
  if (/tfjs_binding\.node|native addon/i.test(message)) {
    return `${pkg} is installed but its native addon was never built or downloaded (${message}); ${installHint(pkg)}, or \`npm rebuild ${pkg}\``;
  }
  if (/libtensorflow/.test(message)) {
    return `${pkg} is installed but libtensorflow failed to load (${message}); reinstall it: ${installHint(pkg)}`;
  }
  return `${pkg} failed to load: ${message}`;
}

interface NodeBackendFlags {
  isGPUPackage?: boolean;
  isUsingGpuDevice?: boolean;
}

/**
 * Loads tfjs-node-gpu, else tfjs-node. Both are imported dynamically so that their absence (the
 * usual case offline) costs nothing; whichever loads registers `tensorflow` with the shared tfjs-core.
 */
export async function loadTensorflow(opts: { logger: Logger }): Promise<BackendLoad> {
  const reasons: string[] = [];
  for (const pkg of TENSORFLOW_PACKAGES) {
    const probe = probePackage(pkg);
    if (!probe.installed) {
      reasons.push(probe.reason!);
      continue;
    }
    // Without it TensorFlow reserves nearly all GPU memory at start, starving anything else on the card.
    if (pkg === '@tensorflow/tfjs-node-gpu') process.env.TF_FORCE_GPU_ALLOW_GROWTH ??= 'true';
    try {
      await import(pkg);
    } catch (err) {
      reasons.push(explainImportError(pkg, err));
      continue;
    }
    if (tf.findBackendFactory('tensorflow') === null) {
      reasons.push(
        `${pkg} ${probe.version} loaded but registered its backend with another copy of @tensorflow/tfjs-core ` +
          `than this project's ${tf.version_core}; install matching versions so npm shares one copy`,
      );
      continue;
    }
    if (!(await tf.setBackend('tensorflow'))) {
      reasons.push(`${pkg} ${probe.version} loaded but its backend failed to initialise`);
      continue;
    }
    const bad = await checkMatmul();
    if (bad) {
      reasons.push(`${pkg} ${probe.version}: ${bad}`);
      continue;
    }
    const flags = backendInstance<NodeBackendFlags>('tensorflow') ?? {};
    let device: string;
    if (flags.isUsingGpuDevice) {
      const gpu = queryGpus()?.[0];
      device = `CUDA: ${gpu?.name ?? 'NVIDIA GPU'}`;
    } else {
      device = `CPU: ${cpuModel()} (libtensorflow)`;
      if (flags.isGPUPackage) {
        opts.logger.warn(
          'tfjs-node-gpu found no usable GPU and runs on the CPU; `lora-study doctor` shows which CUDA libraries are missing',
        );
        device += ', no GPU found by tfjs-node-gpu';
      }
    }
    return { ok: true, reason: `${pkg} ${probe.version}`, device, threads: os.availableParallelism(), simd: true };
  }
  if (TENSORFLOW_PACKAGES.every((pkg) => !probePackage(pkg).installed)) {
    return {
      ok: false,
      reason:
        `${TENSORFLOW_PACKAGES.join(' and ')} are not installed: they are optional dependencies whose install ` +
        'downloads libtensorflow, so an offline `npm install` skips them; with network access run ' +
        '`npm install @tensorflow/tfjs-node-gpu` (CUDA) or `npm install @tensorflow/tfjs-node` (CPU) ' +
        '(npm 11 runs no install scripts until allowed: `npm install-scripts approve <package>` first)',
    };
  }
  return { ok: false, reason: reasons.join('; ') };
}
