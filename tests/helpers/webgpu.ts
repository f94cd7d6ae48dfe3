import { chooseAdapter, dawnBackendOrder, findAdapters, loadDawn } from '../../src/engine/webgpu-adapters.js';
import { prepareDawnEnv } from '../../src/engine/webgpu-env.js';

/**
 * Whether a WebGPU adapter (Mesa's llvmpipe counts) exists here, and if not why. WebGPU tests
 * skip with this reason in their title when it is missing and CI is unset; under CI=true they
 * run and fail, because CI installs Mesa (.ci/run).
 */
export async function webgpuAvailability(): Promise<{ ok: boolean; reason: string }> {
  const dawn = await loadDawn();
  if (!dawn.ok) return { ok: false, reason: dawn.reason };
  prepareDawnEnv();
  const found = await findAdapters(dawn.module, dawnBackendOrder());
  const chosen = chooseAdapter(found, true);
  if (!chosen) return { ok: false, reason: 'Dawn finds no WebGPU adapter (install libegl1 libgles2 libegl-mesa0 libgl1-mesa-dri for llvmpipe)' };
  return { ok: true, reason: '' };
}

export const webgpu = await webgpuAvailability();
/** Skip only outside CI: under CI=true a missing adapter must fail the run. */
export const skipWebgpu = !webgpu.ok && !process.env.CI;
export const webgpuTitle = (title: string): string => (skipWebgpu ? `${title} (skipped: ${webgpu.reason})` : title);
