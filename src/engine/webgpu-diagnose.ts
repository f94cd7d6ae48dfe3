import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { parseLdconfig, readLdconfig } from './cuda-libs.js';
import type { WebgpuAdapterInfo } from './webgpu-adapters.js';

/** One thing Dawn needs on this machine, whether it is there, and what to do when it is not. */
export interface WebgpuRequirement {
  name: string;
  ok: boolean;
  /** What was found, or what is missing. */
  detail: string;
  /** The fix; null when ok or when it does not matter here. */
  fix: string | null;
}

export interface WebgpuProbeFacts {
  /** ldconfig -p output, null when unreadable. */
  ldconfig: string | null;
  env: NodeJS.ProcessEnv;
  /** Files/folders that exist (ICD manifests, device nodes). */
  exists(p: string): boolean;
  list(dir: string): string[];
  /** Whether an NVIDIA GPU is present (nvidia-smi listed one or /dev/nvidia0 exists). */
  nvidiaGpu: boolean;
}

export function defaultFacts(nvidiaGpu: boolean): WebgpuProbeFacts {
  return {
    ldconfig: readLdconfig(),
    env: process.env,
    exists: existsSync,
    list: (dir) => {
      try {
        return readdirSync(dir);
      } catch {
        return [];
      }
    },
    nvidiaGpu,
  };
}

const ICD_DIRS = ['/usr/share/vulkan/icd.d', '/etc/vulkan/icd.d', '/usr/local/share/vulkan/icd.d'];

function libFound(facts: WebgpuProbeFacts, soname: string): string | null {
  const cache = facts.ldconfig ? parseLdconfig(facts.ldconfig) : new Map<string, string[]>();
  const hit = cache.get(soname)?.[0];
  if (hit) return hit;
  const dirs = [
    ...(facts.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean),
    '/usr/lib/x86_64-linux-gnu',
    '/usr/lib/aarch64-linux-gnu',
    '/usr/lib64',
    '/usr/lib',
  ];
  for (const d of dirs) if (facts.exists(path.join(d, soname))) return path.join(d, soname);
  return null;
}

/**
 * What Dawn's two Linux backends need, checked without loading anything: the Vulkan loader and a
 * driver (ICD) for the GPU, the container's driver capabilities, and EGL + a GLES driver for the
 * OpenGL ES backend. Each missing piece comes with the command that fixes it.
 */
export function webgpuRequirements(facts: WebgpuProbeFacts): WebgpuRequirement[] {
  const reqs: WebgpuRequirement[] = [];
  const vulkan = libFound(facts, 'libvulkan.so.1');
  reqs.push({
    name: 'libvulkan.so.1 (Vulkan loader)',
    ok: vulkan !== null,
    detail: vulkan ?? 'not found: Dawn cannot use Vulkan',
    fix: vulkan ? null : 'install the Vulkan loader: `apt-get install libvulkan1` (Debian/Ubuntu) or `dnf install vulkan-loader`',
  });
  const icds = ICD_DIRS.flatMap((d) => facts.list(d).filter((f) => f.endsWith('.json')).map((f) => path.join(d, f)));
  const nvidiaIcd = icds.find((f) => /nvidia/i.test(path.basename(f)));
  if (facts.nvidiaGpu) {
    reqs.push({
      name: 'NVIDIA Vulkan driver (ICD)',
      ok: nvidiaIcd !== undefined,
      detail: nvidiaIcd ?? `no nvidia_icd.json in ${ICD_DIRS.join(', ')}${icds.length ? ` (only ${icds.map((f) => path.basename(f)).join(', ')})` : ''}`,
      fix: nvidiaIcd
        ? null
        : 'install the driver\'s Vulkan part (`apt-get install libnvidia-gl-<driver major>`, or the .run installer without --no-opengl-files); in a container it comes from the host through the NVIDIA container toolkit when the graphics capability is on',
    });
    const caps = facts.env.NVIDIA_DRIVER_CAPABILITIES;
    if (caps !== undefined) {
      const list = caps.split(',').map((s) => s.trim());
      const ok = list.includes('all') || list.includes('graphics');
      reqs.push({
        name: 'container driver capabilities',
        ok,
        detail: `NVIDIA_DRIVER_CAPABILITIES=${caps}`,
        fix: ok ? null : 'start the container with NVIDIA_DRIVER_CAPABILITIES=compute,utility,graphics (or all): without `graphics` the NVIDIA Vulkan and EGL libraries are not mounted',
      });
    }
  } else {
    reqs.push({
      name: 'Vulkan drivers (ICDs)',
      ok: icds.length > 0,
      detail: icds.length ? icds.join(', ') : `none in ${ICD_DIRS.join(', ')}`,
      fix: icds.length ? null : 'install your GPU\'s Vulkan driver (`apt-get install mesa-vulkan-drivers` for AMD/Intel)',
    });
  }
  const egl = libFound(facts, 'libEGL.so.1');
  reqs.push({
    name: 'libEGL.so.1 (for the OpenGL ES backend)',
    ok: egl !== null,
    detail: egl ?? 'not found: Dawn cannot use OpenGL ES',
    fix: egl ? null : 'install EGL: `apt-get install libegl1 libgles2 libegl-mesa0 libgl1-mesa-dri` (Mesa; llvmpipe runs without a GPU)',
  });
  const vendors = ['/usr/share/glvnd/egl_vendor.d', '/etc/glvnd/egl_vendor.d'].flatMap((d) => facts.list(d));
  const eglNvidia = vendors.some((f) => /nvidia/i.test(f));
  const eglMesa = vendors.some((f) => /mesa/i.test(f));
  reqs.push({
    name: 'EGL driver',
    ok: facts.nvidiaGpu ? eglNvidia : eglNvidia || eglMesa,
    detail: vendors.length ? vendors.join(', ') : 'no EGL vendor file in /usr/share/glvnd/egl_vendor.d',
    fix: (facts.nvidiaGpu ? eglNvidia : eglNvidia || eglMesa)
      ? null
      : facts.nvidiaGpu
        ? 'NVIDIA\'s EGL (10_nvidia.json, libEGL_nvidia.so.0) is missing: install libnvidia-gl-<driver major>; in a container enable the graphics capability'
        : 'install Mesa\'s EGL: `apt-get install libegl-mesa0 libgl1-mesa-dri`',
  });
  return reqs;
}

/** Why no adapter was found, in one sentence built from the requirements that failed. */
export function explainNoAdapter(reqs: WebgpuRequirement[], adapters: WebgpuAdapterInfo[], software: boolean): string {
  if (adapters.length > 0 && adapters.every((a) => a.software) && !software) {
    return `only software adapters (${adapters.map((a) => a.architecture || a.description || a.dawnBackend).join(', ')}) were found; \`auto\` does not use a CPU rasteriser (ask for it with --backend webgpu)`;
  }
  const missing = reqs.filter((r) => !r.ok);
  if (missing.length === 0) return 'Dawn found no WebGPU adapter although Vulkan and EGL libraries are present; run `lora-study doctor` for details';
  return `Dawn found no WebGPU adapter: ${missing.map((r) => `${r.name}: ${r.detail}`).join('; ')}`;
}
