import * as tf from '@tensorflow/tfjs-core';
import { existsSync, readdirSync } from 'node:fs';
import type { Logger } from '../util/logger.js';
import { setBackendBufferLimit } from './buffer-limit.js';
import type { BackendLoad } from './load-result.js';
import { isBackendInitialized } from './tf-registry.js';
import { checkMatmul } from './verify-backend.js';
import {
  adapterLabel,
  chooseAdapter,
  dawnBackendOrder,
  findAdapters,
  loadDawn,
  type FoundAdapter,
  type GPUAdapterLike,
  type WebgpuAdapterInfo,
} from './webgpu-adapters.js';
import { defaultFacts, explainNoAdapter, webgpuRequirements } from './webgpu-diagnose.js';
import { prepareDawnEnv } from './webgpu-env.js';
import { installErrorGuard } from './webgpu-error-guard.js';
import { installHostReads } from './webgpu-host-reads.js';
import { installWebgpuKernelFixes } from './webgpu-kernel-fixes.js';

/** The adapter the tfjs `webgpu` backend of this process runs on, once started. */
let active: WebgpuAdapterInfo | null = null;

export function activeWebgpuAdapter(): WebgpuAdapterInfo | null {
  return active;
}

/** GPU device nodes: without one of these no hardware adapter can exist, so `auto` need not start Dawn. */
export function gpuDeviceNodes(): string[] {
  const nodes: string[] = [];
  try {
    nodes.push(...readdirSync('/dev/dri').filter((f) => f.startsWith('renderD')).map((f) => `/dev/dri/${f}`));
  } catch {
    // no DRM devices
  }
  for (const p of ['/dev/nvidia0', '/dev/dxg']) if (existsSync(p)) nodes.push(p);
  return nodes;
}

/** Limits tfjs-backend-webgpu asks for, raised to the adapter's maxima (the defaults are far lower in compatibility mode). */
const REQUIRED_LIMITS = [
  'maxComputeWorkgroupStorageSize',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupSizeX',
  'maxComputeInvocationsPerWorkgroup',
  'maxStorageBuffersPerShaderStage',
] as const;

/**
 * Starts tfjs-backend-webgpu on Dawn (the `webgpu` npm package). Fills the gaps of tfjs's Node
 * support (its Node path was never merged upstream, tfjs PR 7595) here rather than by patching tfjs:
 * - `navigator.gpu` must exist before the backend module is imported, or it registers nothing;
 * - tfjs requests its adapter without `featureLevel`, so OpenGL ES (compatibility only) finds none,
 *   and it pushes `['bgra8unorm-storage']` (an array) into `requiredFeatures`: the backend factory is
 *   replaced by one that opens the device on the adapter chosen here (Vulkan, then OpenGL ES, or
 *   `LORA_STUDY_WEBGPU`), with string features and the adapter's maximum limits;
 * - kernels that bind more buffers than the adapter allows are split ({@link installWebgpuKernelFixes});
 * - failed GPU commands become errors at the next read-back ({@link installErrorGuard});
 * - synchronous reads work for host-made tensors and fail clearly otherwise ({@link installHostReads}).
 * `explicit` is true when `--backend webgpu` was asked for: only then may a software adapter
 * (llvmpipe, SwiftShader) be used.
 */
export async function loadWebgpu(opts: { logger: Logger; explicit?: boolean }): Promise<BackendLoad> {
  const explicit = opts.explicit ?? false;
  if (isBackendInitialized('webgpu') && active) {
    if (!explicit && active.software) {
      return { ok: false, reason: `the webgpu backend runs on a software adapter (${adapterLabel(active)}); \`auto\` does not use it` };
    }
    if (!(await tf.setBackend('webgpu'))) return { ok: false, reason: 'tf.setBackend("webgpu") returned false' };
    return ready(active);
  }
  if (process.platform !== 'linux') {
    return { ok: false, reason: `the webgpu backend is set up for Linux (Vulkan or OpenGL ES through Dawn); this is ${process.platform}` };
  }
  if (!explicit && gpuDeviceNodes().length === 0) {
    return {
      ok: false,
      reason: 'no GPU device node (/dev/dri/renderD*, /dev/nvidia0): no hardware WebGPU adapter can exist here, and `auto` does not use a software one',
    };
  }
  const dawn = await loadDawn();
  if (!dawn.ok) return { ok: false, reason: dawn.reason };
  const set = prepareDawnEnv();
  if (set.length > 0) opts.logger.debug({ set }, 'environment set for Dawn');
  const found = await findAdapters(dawn.module, dawnBackendOrder());
  const chosen = chooseAdapter(found, explicit);
  if (!chosen) {
    const facts = defaultFacts(existsSync('/dev/nvidia0'));
    return { ok: false, reason: explainNoAdapter(webgpuRequirements(facts), found.map((f) => f.info), explicit) };
  }
  const reason = await startTfjsWebgpu(chosen, opts.logger);
  if (reason) return { ok: false, reason: `${adapterLabel(chosen.info)}: ${reason}` };
  active = chosen.info;
  setBackendBufferLimit('webgpu', Math.min(chosen.info.limits.maxStorageBufferBindingSize, chosen.info.limits.maxBufferSize));
  return ready(chosen.info, dawn.version);
}

async function ready(info: WebgpuAdapterInfo, dawnVersion?: string): Promise<BackendLoad> {
  const bad = await checkMatmul();
  if (bad) return { ok: false, reason: `${adapterLabel(info)}: ${bad}` };
  const pkg = `@tensorflow/tfjs-backend-webgpu ${tf.version_core}${dawnVersion ? ` on webgpu (Dawn) ${dawnVersion}` : ''}`;
  return { ok: true, reason: pkg, device: `WebGPU: ${adapterLabel(info)}`, threads: 1, simd: true };
}

type BackendCtor = new (device: unknown, adapterInfo: unknown) => tf.KernelBackend;

/** Imports the backend with navigator.gpu in place and registers our factory; returns null or why it failed. */
async function startTfjsWebgpu(chosen: FoundAdapter, logger: Logger): Promise<string | null> {
  const gpu = {
    requestAdapter: async () => chosen.adapter,
    getPreferredCanvasFormat: () => 'rgba8unorm',
  };
  const g = globalThis as unknown as { navigator?: Record<string, unknown> };
  if (g.navigator) Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true, writable: true });
  else g.navigator = { gpu, userAgent: `Node.js/${process.versions.node}` };
  let WebGPUBackend: BackendCtor;
  let util: Parameters<typeof installWebgpuKernelFixes>[0];
  try {
    ({ WebGPUBackend, webgpu_util: util } = (await import('@tensorflow/tfjs-backend-webgpu')) as unknown as {
      WebGPUBackend: BackendCtor;
      webgpu_util: typeof util;
    });
  } catch (err) {
    return `@tensorflow/tfjs-backend-webgpu failed to load: ${(err as Error).message}`;
  }
  installWebgpuKernelFixes(util);
  const adapter: GPUAdapterLike = chosen.adapter;
  if (tf.findBackendFactory('webgpu')) tf.removeBackend('webgpu');
  tf.registerBackend(
    'webgpu',
    async () => {
      const requiredLimits = Object.fromEntries(REQUIRED_LIMITS.map((k) => [k, adapter.limits[k]]));
      const requiredFeatures = adapter.features.has('timestamp-query') ? ['timestamp-query'] : [];
      const device = (await adapter.requestDevice({ requiredFeatures, requiredLimits })) as {
        addEventListener(t: string, l: (e: never) => void): void;
        lost?: Promise<{ message?: string }>;
      };
      void device.lost?.then((info) => logger.error({ reason: info?.message }, 'WebGPU device lost'));
      const backend = new WebGPUBackend(device, adapter.info);
      installErrorGuard(device, backend as unknown as { read(id: object): Promise<unknown> });
      installHostReads(backend);
      return backend;
    },
    3,
  );
  const warnings: string[] = [];
  const originalWarn = console.warn;
  console.warn = (...args: unknown[]) => void warnings.push(args.map(String).join(' '));
  let ok = false;
  try {
    ok = await tf.setBackend('webgpu');
  } catch (err) {
    warnings.push((err as Error).message);
  } finally {
    console.warn = originalWarn;
  }
  return ok ? null : warnings.join('; ') || 'tf.setBackend("webgpu") returned false';
}
