import { existsSync } from 'node:fs';
import { DAWN_BACKENDS, dawnBackendOrder, findAdapters, loadDawn, WEBGPU_ENV, type WebgpuAdapterInfo } from './webgpu-adapters.js';
import { defaultFacts, webgpuRequirements, type WebgpuProbeFacts, type WebgpuRequirement } from './webgpu-diagnose.js';
import { prepareDawnEnv, type DawnEnvSetting } from './webgpu-env.js';
import { gpuDeviceNodes } from './load-webgpu.js';

/** What `doctor` says about WebGPU: the package, every adapter on every Dawn backend, and what is missing. */
export interface WebgpuReport {
  /** The `webgpu` package (dawn.node): its version, or why it is unusable. */
  dawn: { ok: boolean; version: string | null; reason: string | null };
  /** Environment variables the engine sets for Dawn in this process. */
  envSet: DawnEnvSetting[];
  /** `LORA_STUDY_WEBGPU` when set. */
  forced: string | null;
  deviceNodes: string[];
  adapters: WebgpuAdapterInfo[];
  requirements: WebgpuRequirement[];
}

/**
 * Lists every adapter on both Dawn backends (whatever LORA_STUDY_WEBGPU says, so the report shows
 * what forcing the other one would give) and checks the machine for the pieces Dawn needs.
 */
export async function probeWebgpu(opts: { nvidiaGpu: boolean; facts?: WebgpuProbeFacts }): Promise<WebgpuReport> {
  const facts = opts.facts ?? defaultFacts(opts.nvidiaGpu || existsSync('/dev/nvidia0'));
  let forced: string | null = process.env[WEBGPU_ENV] ?? null;
  const requirements = webgpuRequirements(facts);
  try {
    dawnBackendOrder();
  } catch (err) {
    requirements.unshift({ name: WEBGPU_ENV, ok: false, detail: (err as Error).message, fix: `set ${WEBGPU_ENV}=vulkan or opengles, or unset it` });
    forced = null;
  }
  const report: WebgpuReport = { dawn: { ok: false, version: null, reason: null }, envSet: [], forced, deviceNodes: gpuDeviceNodes(), adapters: [], requirements };
  const dawn = await loadDawn();
  if (!dawn.ok) {
    report.dawn.reason = dawn.reason;
    return report;
  }
  report.dawn = { ok: true, version: dawn.version, reason: null };
  report.envSet = prepareDawnEnv();
  report.adapters = (await findAdapters(dawn.module, [...DAWN_BACKENDS])).map((f) => f.info);
  return report;
}
