import * as tf from '@tensorflow/tfjs-core';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import '../../src/util/tfjs-setup.js';
import { initEngine } from '../../src/engine/backend.js';
import { bufferLimitBytes } from '../../src/engine/buffer-limit.js';
import { runDoctor } from '../../src/engine/doctor.js';
import { formatDoctorReport } from '../../src/engine/doctor-format.js';
import { activeWebgpuAdapter } from '../../src/engine/load-webgpu.js';
import { chooseAdapter, dawnBackendOrder, isSoftwareAdapter, type WebgpuAdapterInfo } from '../../src/engine/webgpu-adapters.js';
import { webgpuRequirements, type WebgpuProbeFacts } from '../../src/engine/webgpu-diagnose.js';
import { prepareDawnEnv } from '../../src/engine/webgpu-env.js';
import { skipWebgpu, webgpuTitle } from '../helpers/webgpu.js';

const limits = {
  maxStorageBufferBindingSize: 2 ** 27,
  maxBufferSize: 2 ** 31,
  maxComputeWorkgroupStorageSize: 32768,
  maxComputeInvocationsPerWorkgroup: 1024,
  maxComputeWorkgroupSizeX: 1024,
  maxComputeWorkgroupsPerDimension: 65535,
  maxStorageBuffersPerShaderStage: 8,
};
const adapter = (dawnBackend: 'vulkan' | 'opengles', software: boolean, device: string): { info: WebgpuAdapterInfo } => ({
  info: { dawnBackend, featureLevel: 'core', vendor: '', architecture: '', device, description: '', software, limits, features: [] },
});

describe('adapter choice', () => {
  it('takes the first hardware adapter; a software one only when webgpu was named', () => {
    const llvm = adapter('opengles', true, 'llvmpipe');
    const nv = adapter('opengles', false, 'NVIDIA H200');
    expect(chooseAdapter([llvm, nv], false)).toBe(nv);
    expect(chooseAdapter([llvm], false)).toBeNull();
    expect(chooseAdapter([llvm], true)).toBe(llvm);
    expect(chooseAdapter([adapter('vulkan', false, 'a'), nv], false)?.info.device).toBe('a');
  });

  it('recognises CPU rasterisers by name, fallback flag or type', () => {
    expect(isSoftwareAdapter({ architecture: 'llvmpipe-llvm-15-0-6-256-bits-' })).toBe(true);
    expect(isSoftwareAdapter({ description: 'SwiftShader Device (Subzero)' })).toBe(true);
    expect(isSoftwareAdapter({ isFallbackAdapter: true })).toBe(true);
    expect(isSoftwareAdapter({ vendor: 'nvidia', device: 'NVIDIA H200', adapterType: 'discrete GPU' })).toBe(false);
  });

  it('tries Vulkan then OpenGL ES, or the one LORA_STUDY_WEBGPU forces', () => {
    expect(dawnBackendOrder({})).toEqual(['vulkan', 'opengles']);
    expect(dawnBackendOrder({ LORA_STUDY_WEBGPU: 'OpenGLES' })).toEqual(['opengles']);
    expect(dawnBackendOrder({ LORA_STUDY_WEBGPU: 'vulkan' })).toEqual(['vulkan']);
    expect(() => dawnBackendOrder({ LORA_STUDY_WEBGPU: 'metal' })).toThrow(/LORA_STUDY_WEBGPU=metal is not a Dawn backend/);
  });
});

describe('what Dawn needs', () => {
  const facts = (files: string[], env: NodeJS.ProcessEnv, nvidiaGpu: boolean): WebgpuProbeFacts => ({
    ldconfig: '',
    env,
    exists: (p) => files.includes(p),
    list: (dir) => files.filter((f) => path.dirname(f) === dir).map((f) => path.basename(f)),
    nvidiaGpu,
  });

  it('on an NVIDIA container without graphics: names the Vulkan loader, the ICD and the capability, with fixes', () => {
    const reqs = webgpuRequirements(facts([], { NVIDIA_DRIVER_CAPABILITIES: 'compute,utility' }, true));
    const failed = Object.fromEntries(reqs.filter((r) => !r.ok).map((r) => [r.name, r.fix]));
    expect(failed['libvulkan.so.1 (Vulkan loader)']).toContain('apt-get install libvulkan1');
    expect(failed['NVIDIA Vulkan driver (ICD)']).toContain('libnvidia-gl');
    expect(failed['container driver capabilities']).toContain('NVIDIA_DRIVER_CAPABILITIES=compute,utility,graphics');
    expect(failed['libEGL.so.1 (for the OpenGL ES backend)']).toContain('apt-get install libegl1');
    expect(failed['EGL driver']).toContain('NVIDIA');
  });

  it('is satisfied when the loader, NVIDIA ICD and EGL are present', () => {
    const files = [
      '/usr/lib/x86_64-linux-gnu/libvulkan.so.1',
      '/usr/lib/x86_64-linux-gnu/libEGL.so.1',
      '/usr/share/vulkan/icd.d/nvidia_icd.json',
      '/usr/share/glvnd/egl_vendor.d/10_nvidia.json',
    ];
    const reqs = webgpuRequirements(facts(files, { NVIDIA_DRIVER_CAPABILITIES: 'all' }, true));
    expect(reqs.filter((r) => !r.ok)).toEqual([]);
  });

  it('sets EGL_PLATFORM and a private runtime dir only where unset', () => {
    const env: NodeJS.ProcessEnv = {};
    const set = prepareDawnEnv(env);
    expect(env.EGL_PLATFORM).toBe('surfaceless');
    expect(set.map((s) => s.name)).toEqual(['EGL_PLATFORM', 'XDG_RUNTIME_DIR']);
    const mine = mkdtempSync(path.join(os.tmpdir(), 'xdg-'));
    const kept: NodeJS.ProcessEnv = { EGL_PLATFORM: 'x11', XDG_RUNTIME_DIR: mine };
    expect(prepareDawnEnv(kept)).toEqual([]);
    expect(kept).toEqual({ EGL_PLATFORM: 'x11', XDG_RUNTIME_DIR: mine });
  });
});

describe.skipIf(skipWebgpu)(webgpuTitle('webgpu backend on this machine'), () => {
  it('starts when named, computes a matmul and its gradient like cpu, and knows its binding limit', async () => {
    const info = await initEngine({ backend: 'webgpu' });
    expect(info.backend).toBe('webgpu');
    expect(info.device).toMatch(/^WebGPU: /);
    expect(bufferLimitBytes()).toBe(Math.min(activeWebgpuAdapter()!.limits.maxStorageBufferBindingSize, activeWebgpuAdapter()!.limits.maxBufferSize));
    const av = Array.from({ length: 33 * 17 }, (_, i) => Math.sin(i));
    const bv = Array.from({ length: 17 * 9 }, (_, i) => Math.cos(i));
    // Tensors belong to the backend they were made on: build them afresh on each.
    const grad = () => tf.grad((x: tf.Tensor) => tf.sum(tf.square(tf.matMul(x, tf.tensor2d(bv, [17, 9])))))(tf.tensor2d(av, [33, 17]));
    const gGpu = await grad().data();
    await initEngine({ backend: 'cpu' });
    const gCpu = grad().dataSync();
    gCpu.forEach((v, i) => expect(gGpu[i]).toBeCloseTo(v, 4));
    expect(bufferLimitBytes()).toBe(Number.POSITIVE_INFINITY);
  });

  it('multiplies batches larger than one dispatch dimension, and int32 arithmetic exactly', async () => {
    await initEngine({ backend: 'webgpu' });
    const B = activeWebgpuAdapter()!.limits.maxComputeWorkgroupsPerDimension + 7;
    const av = Float32Array.from({ length: B * 2 }, (_, i) => (i % 13) - 6);
    const bv = Float32Array.from({ length: B * 2 }, (_, i) => (i % 7) - 3);
    const before = tf.memory().numTensors;
    const c = tf.matMul(tf.tensor3d(av, [B, 1, 2]), tf.tensor3d(bv, [B, 2, 1])); // [B, 1, 1]
    expect(c.shape).toEqual([B, 1, 1]);
    const got = await c.data();
    for (const i of [0, 1, 65534, 65535, B - 1]) expect(got[i]).toBe(av[2 * i] * bv[2 * i] + av[2 * i + 1] * bv[2 * i + 1]);
    tf.dispose(c);
    expect(tf.memory().numTensors).toBe(before + 2); // the two inputs only
    // tfjs computes these in float32, which rounds above 2^24; the engine's kernels are exact.
    const w = tf.tensor1d([2147483647, -2147483648, 16777217, -7], 'int32');
    expect(Array.from(await tf.mod(w, tf.scalar(256, 'int32')).data())).toEqual([255, 0, 1, 249]);
    expect(Array.from(await tf.sub(w, tf.scalar(1, 'int32')).data())).toEqual([2147483646, 2147483647, 16777216, -8]);
    expect(Array.from(await tf.floorDiv(w, tf.scalar(65536, 'int32')).data())).toEqual([32767, -32768, 256, -1]);
  });

  it('turns a binding over the limit into an error at read-back instead of zeros', async () => {
    await initEngine({ backend: 'webgpu' });
    const limit = activeWebgpuAdapter()!.limits.maxStorageBufferBindingSize;
    const n = Math.ceil((limit * 1.05) / 4);
    const big = tf.ones([n]);
    await expect(tf.sum(big).data()).rejects.toThrow(/WebGPU command failed.*maximum storage buffer binding size/);
    big.dispose();
  });

  it('doctor lists the adapter with its limits and marks a software one', async () => {
    const r = await runDoctor({ skipTiming: true });
    expect(r.webgpu.dawn.ok).toBe(true);
    expect(r.webgpu.adapters.length).toBeGreaterThan(0);
    const a = r.webgpu.adapters[0];
    expect(a.limits.maxStorageBufferBindingSize).toBeGreaterThan(0);
    expect(['core', 'compatibility']).toContain(a.featureLevel);
    const check = r.backends.find((b) => b.backend === 'webgpu')!;
    expect(check.ok).toBe(true);
    if (a.software) expect(r.auto?.backend).not.toBe('webgpu');
    expect(formatDoctorReport(r)).toMatch(/WebGPU \(Dawn [\d.]+/);
    expect(JSON.parse(JSON.stringify(r))).toEqual(r);
  });
});
