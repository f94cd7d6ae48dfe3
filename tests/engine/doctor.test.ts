import { describe, expect, it } from 'vitest';
import { formatDoctorReport } from '../../src/engine/doctor-format.js';
import { runDoctor } from '../../src/engine/doctor.js';
import { probePackage } from '../../src/engine/load-tensorflow.js';
import type { RunProgram } from '../../src/engine/nvidia-smi.js';

const nativeInstalled = probePackage('@tensorflow/tfjs-node').installed || probePackage('@tensorflow/tfjs-node-gpu').installed;
const noNvidiaSmi: RunProgram = () => {
  throw new Error('spawn nvidia-smi ENOENT');
};
const h100: RunProgram = (file, args) => {
  expect(file).toBe('nvidia-smi');
  expect(args).toContain('--format=csv,noheader,nounits');
  return 'NVIDIA H100 80GB HBM3, 1, 81559, 550.54.15\n';
};
// No CUDA libraries anywhere, whatever this machine has installed.
const noCuda = { ldconfigOutput: '', ldLibraryPath: '', searchDirs: [] };

describe.skipIf(nativeInstalled)('runDoctor on a machine without tfjs-node', () => {
  it('reports wasm and cpu working, tensorflow not, and what auto picks', async () => {
    const r = await runDoctor({ run: noNvidiaSmi, cuda: noCuda, skipTiming: true });
    expect(r.backends.map((b) => b.backend)).toEqual(['tensorflow', 'webgpu', 'wasm', 'cpu']);
    expect(r.backends.map((b) => b.ok)).toEqual([false, r.backends[1].ok, true, true]);
    // webgpu here is llvmpipe at best: reported, marked software, never what auto picks.
    if (r.backends[1].ok) expect(r.backends[1].software).toBe(true);
    expect(r.webgpu.requirements.length).toBeGreaterThan(0);
    expect(r.backends[0].reason).toMatch(/@tensorflow\/tfjs-node-gpu.*not installed/);
    expect(r.backends[0].reason).toContain('npm install-scripts approve');
    expect(r.backends[2].device).toMatch(/^CPU: wasm SIMD/);
    expect(r.auto?.backend).toBe('wasm');
    // The native Exp: in use (the wasm start ran its probe) or why not, and what runs instead.
    if (r.nativeExp.ok) expect(r.nativeExp.detail).toMatch(/non-FMA expf .*bit-identical to the stock wasm Exp on the start-up probe's 65536 inputs/);
    else expect(r.nativeExp.detail).toMatch(/Exp runs as the stock wasm kernel/);
    expect(formatDoctorReport(r)).toMatch(/native Exp for wasm: (ok|no) {2}\S/);
    expect(r.tensorflowPackages.every((p) => !p.installed)).toBe(true);
    expect(r.gpus).toBeNull();
    expect(r.cuda.allLoadable).toBe(false);
    for (const lib of r.cuda.libs) expect(lib.fix).toMatch(/is missing: install/);
    expect(r.node.version).toBe(process.version);
    expect(r.cpu.logicalCores).toBeGreaterThan(0);
    // Without a GPU there is nothing CUDA-related to advise.
    expect(r.advice.join('\n')).not.toContain('libcudart');
    expect(JSON.parse(JSON.stringify(r))).toEqual(r);
  });

  it('on a GPU machine, says the GPU is unused and lists each missing CUDA library with its fix', async () => {
    const r = await runDoctor({ run: h100, cuda: noCuda, skipTiming: true });
    expect(r.gpus).toEqual([
      { index: 0, name: 'NVIDIA H100 80GB HBM3', memoryUsedMiB: 1, memoryTotalMiB: 81559, driverVersion: '550.54.15' },
    ]);
    const advice = r.advice.join('\n');
    expect(advice).toContain('NVIDIA H100 80GB HBM3');
    expect(advice).toContain('npm install @tensorflow/tfjs-node-gpu');
    expect(advice).toContain('libcudart.so.11.0 (CUDA 11 runtime) is missing');
    expect(advice).toContain('libcudnn.so.8');
    const text = formatDoctorReport(r);
    expect(text).toContain('gpu 0     NVIDIA H100 80GB HBM3, 1/81559 MiB used, driver 550.54.15');
    expect(text).toMatch(/no {2}libcudart\.so\.11\.0 +missing/);
    expect(text).toContain('auto picks: wasm');
  });
});
