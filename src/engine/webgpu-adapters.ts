import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { LoraStudyError } from '../util/errors.js';

/** Dawn's native backends this project uses on Linux, in order of preference. */
export type DawnBackend = 'vulkan' | 'opengles';
export const DAWN_BACKENDS: readonly DawnBackend[] = ['vulkan', 'opengles'];

/** The environment variable that forces one Dawn backend. */
export const WEBGPU_ENV = 'LORA_STUDY_WEBGPU';

/** The limits that decide which models fit (bytes unless named otherwise). */
export interface AdapterLimits {
  maxStorageBufferBindingSize: number;
  maxBufferSize: number;
  maxComputeWorkgroupStorageSize: number;
  maxComputeInvocationsPerWorkgroup: number;
  maxComputeWorkgroupSizeX: number;
  maxComputeWorkgroupsPerDimension: number;
  maxStorageBuffersPerShaderStage: number;
}

/** One WebGPU adapter Dawn offers, as `doctor` lists it. */
export interface WebgpuAdapterInfo {
  dawnBackend: DawnBackend;
  /** `core` (full WebGPU) or `compatibility` (the OpenGL ES subset). */
  featureLevel: 'core' | 'compatibility';
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** A CPU rasteriser (llvmpipe, lavapipe, SwiftShader): correct but slow, never picked by `auto`. */
  software: boolean;
  limits: AdapterLimits;
  features: string[];
}

/** An adapter with the live objects needed to open a device on it. */
export interface FoundAdapter {
  info: WebgpuAdapterInfo;
  adapter: GPUAdapterLike;
  gpu: GPULike;
}

/** The parts of the WebGPU API used here (dawn.node implements the full one). */
export interface GPULike {
  requestAdapter(opts?: { featureLevel?: string; powerPreference?: string }): Promise<GPUAdapterLike | null>;
}
export interface GPUAdapterLike {
  features: Set<string>;
  limits: Record<string, number>;
  info?: Record<string, unknown>;
  requestDevice(desc?: { requiredFeatures?: string[]; requiredLimits?: Record<string, number> }): Promise<unknown>;
}

interface DawnModule {
  create(options: string[]): GPULike;
  globals: Record<string, unknown>;
}

/** The `webgpu` npm package (dawn.node), or why it cannot be loaded. */
export type DawnLoad = { ok: true; module: DawnModule; version: string } | { ok: false; reason: string };

let dawnCache: DawnLoad | null = null;

/**
 * Loads dawn.node once per process and installs its WebGPU globals (GPUBufferUsage, GPUMapMode, …),
 * which tfjs-backend-webgpu reads as globals as a browser would provide them.
 */
export async function loadDawn(): Promise<DawnLoad> {
  if (dawnCache) return dawnCache;
  const require = createRequire(import.meta.url);
  let version: string;
  try {
    version = (JSON.parse(readFileSync(require.resolve('webgpu/package.json'), 'utf8')) as { version: string }).version;
  } catch {
    dawnCache = {
      ok: false,
      reason:
        'the `webgpu` package (Dawn for Node) is not installed: it is an optional dependency with a prebuilt ' +
        'dawn.node for linux-x64/arm64, macOS and Windows; run `npm install webgpu` in the project folder',
    };
    return dawnCache;
  }
  try {
    const module = (await import('webgpu')) as unknown as DawnModule;
    Object.assign(globalThis, module.globals);
    dawnCache = { ok: true, module, version };
  } catch (err) {
    const message = ((err as Error).message ?? String(err)).split('\n')[0];
    dawnCache = {
      ok: false,
      reason: `webgpu ${version} is installed but dawn.node failed to load on ${process.platform}-${process.arch} (${message}); reinstall it with \`npm install webgpu\``,
    };
  }
  return dawnCache;
}

const SOFTWARE = /llvmpipe|lavapipe|softpipe|swiftshader|software rasterizer/i;

/** Whether an adapter is a CPU rasteriser (its name, Dawn's fallback flag, or adapter type `cpu`). */
export function isSoftwareAdapter(info: Record<string, unknown>): boolean {
  if (info.isFallbackAdapter === true || info.adapterType === 'cpu') return true;
  return ['vendor', 'architecture', 'device', 'description'].some((k) => SOFTWARE.test(String(info[k] ?? '')));
}

const LIMIT_KEYS: (keyof AdapterLimits)[] = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBuffersPerShaderStage',
];

export function describeAdapter(dawnBackend: DawnBackend, featureLevel: 'core' | 'compatibility', a: GPUAdapterLike): WebgpuAdapterInfo {
  const info = (a.info ?? {}) as Record<string, unknown>;
  const limits = Object.fromEntries(LIMIT_KEYS.map((k) => [k, Number(a.limits[k])])) as unknown as AdapterLimits;
  return {
    dawnBackend,
    featureLevel,
    vendor: String(info.vendor ?? ''),
    architecture: String(info.architecture ?? ''),
    device: String(info.device ?? ''),
    description: String(info.description ?? ''),
    software: isSoftwareAdapter(info),
    limits,
    features: [...a.features].sort(),
  };
}

/** A one-line name for an adapter: `NVIDIA H200 (vulkan, core)`. */
export function adapterLabel(info: WebgpuAdapterInfo): string {
  const name = [info.vendor, info.device || info.architecture, info.device ? '' : info.description]
    .filter((s) => s && s.trim() !== '')
    .join(' ')
    .trim();
  return `${name || 'unnamed adapter'} (${info.dawnBackend}, ${info.featureLevel}${info.software ? ', software' : ''})`;
}

/** Which Dawn backends to try, in order: both, or the one `LORA_STUDY_WEBGPU` forces. */
export function dawnBackendOrder(env: NodeJS.ProcessEnv = process.env): DawnBackend[] {
  const forced = env[WEBGPU_ENV]?.trim().toLowerCase();
  if (!forced) return [...DAWN_BACKENDS];
  if (forced === 'vulkan' || forced === 'opengles') return [forced];
  throw new LoraStudyError(`${WEBGPU_ENV}=${env[WEBGPU_ENV]} is not a Dawn backend`, {
    hint: `set ${WEBGPU_ENV}=vulkan or ${WEBGPU_ENV}=opengles, or unset it to try Vulkan, then OpenGL ES`,
  });
}

const instances = new Map<DawnBackend, GPULike>();

/**
 * Every adapter Dawn offers on each backend in `order`: a full (`core`) adapter where the driver
 * allows one, else a `compatibility` one (OpenGL ES gives only those; tfjs never asks for them,
 * so without asking here an OpenGL ES machine would show no adapter at all).
 */
export async function findAdapters(dawn: DawnModule, order: DawnBackend[]): Promise<FoundAdapter[]> {
  const found: FoundAdapter[] = [];
  for (const backend of order) {
    let gpu = instances.get(backend);
    if (!gpu) {
      gpu = dawn.create([`backend=${backend}`]);
      instances.set(backend, gpu);
    }
    for (const featureLevel of ['core', 'compatibility'] as const) {
      let adapter: GPUAdapterLike | null = null;
      try {
        adapter = await gpu.requestAdapter({ featureLevel, powerPreference: 'high-performance' });
      } catch {
        adapter = null;
      }
      if (adapter) {
        found.push({ info: describeAdapter(backend, featureLevel, adapter), adapter, gpu });
        break;
      }
    }
  }
  return found;
}

/**
 * The adapter to run on: the first hardware one in backend order, else (only when software is
 * allowed, i.e. `--backend webgpu` was asked for) the first software one.
 */
export function chooseAdapter<T extends { info: WebgpuAdapterInfo }>(found: T[], allowSoftware: boolean): T | null {
  return found.find((f) => !f.info.software) ?? (allowSoftware ? found[0] ?? null : null);
}
