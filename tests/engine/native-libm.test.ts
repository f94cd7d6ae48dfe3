import * as tf from '@tensorflow/tfjs-core';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { initEngine } from '../../src/engine/backend.js';
import { NATIVE_ADDON_PATH_ENV } from '../../src/engine/native-addon.js';
import {
  applyNativeLibm,
  compareLibm,
  describeNativeLibm,
  disableNativeLibm,
  enableNativeLibm,
  libmProbeInputs,
  loadNativeLibm,
  NATIVE_LIBM_ENV,
  nativeLibmStatus,
  resetNativeLibmCache,
  resolveNativeLibmMode,
  type NativeLibmAddon,
} from '../../src/engine/native-libm.js';
import { disableNativeOps, enableNativeOps, loadNativeOps } from '../../src/engine/native-ops.js';
import { splitUnaryStatus, stopSplitWorkers } from '../../src/engine/wasm-split-unary.js';
import type { WasmHeapBackend } from '../../src/engine/wasm-heap.js';
import { promptMasked, tinyLoraRun } from '../helpers/tiny-lora-run.js';

const load = loadNativeLibm();
const ops = loadNativeOps();
// glibc's x86-64 libm.a comes with the build toolchain (libc6-dev): on CI (Debian x86-64) the kernels must be there.
const expectKernels = process.env.CI === 'true' && process.platform === 'linux' && process.arch === 'x64';

test('the env switch takes auto, on or off and refuses anything else', () => {
  expect(resolveNativeLibmMode({})).toBe('auto');
  expect(resolveNativeLibmMode({ [NATIVE_LIBM_ENV]: '' })).toBe('auto');
  expect(resolveNativeLibmMode({ [NATIVE_LIBM_ENV]: 'off' })).toBe('off');
  expect(resolveNativeLibmMode({ [NATIVE_LIBM_ENV]: 'on' })).toBe('on');
  expect(() => resolveNativeLibmMode({ [NATIVE_LIBM_ENV]: 'yes' })).toThrow(/LORA_STUDY_NATIVE_LIBM must be auto, on or off; got "yes"/);
});

test.runIf(expectKernels)('on x86-64 Linux with glibc the addon has the libm kernels', () => {
  expect(load.ok, load.ok ? '' : load.reason).toBe(true);
});

test('the build-time probe never fails the build: it prints the archive to link, or nothing and why', () => {
  // A copy of the probe writes its build/libm-probe.json beside itself, not into the real build.
  const dir = mkdtempSync(join(tmpdir(), 'libm-probe-test-'));
  try {
    copyFileSync(join(import.meta.dirname, '..', '..', 'native', 'sgemm', 'libm-probe.cjs'), join(dir, 'libm-probe.cjs'));
    const run = (archive?: string) => {
      const env = { ...process.env, LORA_STUDY_LIBM_ARCHIVE: archive };
      if (archive === undefined) delete env.LORA_STUDY_LIBM_ARCHIVE;
      const r = spawnSync(process.execPath, [join(dir, 'libm-probe.cjs')], { encoding: 'utf8', env });
      return { status: r.status, out: r.stdout, json: JSON.parse(readFileSync(join(dir, 'build', 'libm-probe.json'), 'utf8')) as { ok: boolean; reason: string } };
    };
    const missing = run(join(dir, 'no-such-libm.a'));
    expect(missing).toMatchObject({ status: 0, out: '', json: { ok: false } });
    expect(missing.json.reason).toMatch(/no static libm archive defines glibc's __expf_sse2\/__logf_sse2 \(.*no-such-libm\.a: the test link failed/);
    expect(run('none')).toMatchObject({ status: 0, out: '', json: { ok: false, reason: 'LORA_STUDY_LIBM_ARCHIVE=none at build time' } });
    const found = run();
    expect(found.status).toBe(0);
    if (expectKernels || found.json.ok) {
      expect(found.json.ok, found.json.reason).toBe(true);
      expect(found.out).toMatch(/^\/.*\.a$/);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const bitsOf = (t: tf.Tensor): Uint32Array => new Uint32Array(Float32Array.from(t.dataSync() as Float32Array).buffer);

describe.skipIf(!load.ok || !ops.ok)('native Exp (glibc non-FMA expf)', () => {
  const addon = (load as { addon: NativeLibmAddon }).addon;
  let backend: WasmHeapBackend;
  let stockExp: tf.KernelFunc;

  beforeAll(async () => {
    await initEngine({ backend: 'wasm', threads: 2, nativeMatmul: 'off' });
    disableNativeOps();
    stockExp = tf.getKernel('Exp', 'wasm')!.kernelFunc;
    backend = tf.findBackend('wasm') as unknown as WasmHeapBackend;
    enableNativeOps((ops as { addon: Parameters<typeof enableNativeOps>[0] }).addon, 2);
  });
  afterAll(() => {
    disableNativeOps();
    stopSplitWorkers();
  });

  test('registers over the stock Exp once the start-up probe passes, instead of the split', () => {
    const s = nativeLibmStatus();
    expect(s.state, s.reason).toBe('on');
    expect(describeNativeLibm()).toMatch(/native Exp/);
    expect(splitUnaryStatus().state).toBe('off');
  });

  test('gives the stock bits on the probe set and on dense ranges of 2^23 inputs around the edges', () => {
    const probe = compareLibm(addon, backend, 'Exp', stockExp, libmProbeInputs());
    expect(probe.inputs).toBe(1 << 16);
    expect(probe.mismatches, JSON.stringify(probe.examples)).toBe(0);
    // Dense ranges: x in [-128, -64) (results leave the normals, then reach 0), [64, 128) (overflow), [2^-7, 2) (near 1).
    const ranges = [[0xc2800000, 0xc3000000], [0x42800000, 0x43000000], [0x3c000000, 0x40000000]];
    addon.setThreads(2);
    for (const [from, to] of ranges) {
      const bits = new Uint32Array(Math.min(to - from, 1 << 23));
      for (let i = 0; i < bits.length; i++) bits[i] = from + Math.floor((i * (to - from)) / bits.length);
      const r = compareLibm(addon, backend, 'Exp', stockExp, new Float32Array(bits.buffer));
      expect(r.mismatches, `[0x${from.toString(16)}, 0x${to.toString(16)}): ${JSON.stringify(r.examples)}`).toBe(0);
    }
  });

  test('tf.exp runs natively (threaded above 2^16 elements) with the stock bits, and leaves no tensor or buffer behind', () => {
    const before = nativeLibmStatus().calls;
    const numTensors = tf.memory().numTensors;
    const numDataIds = tf.engine().backend.numDataIds();
    for (const shape of [[1], [7, 9], [4, 64, 512], [3, 70_001]]) {
      const n = tf.util.sizeFromShape(shape);
      const x = tf.tidy(() => tf.randomNormal(shape, 0, 40, 'float32', 11).add(tf.scalar(-20)));
      const y = tf.exp(x);
      const s = stockExp({ inputs: { x }, backend: backend as never, attrs: {} }) as tf.TensorInfo;
      const stock = tf.engine().makeTensorFromTensorInfo(s);
      const got = bitsOf(y);
      const want = bitsOf(stock);
      let bad = -1;
      for (let i = 0; i < n && bad < 0; i++) if (got[i] !== want[i]) bad = i;
      expect(bad, `[${shape}] differs at element ${bad}`).toBe(-1);
      tf.dispose([x, y, stock]);
    }
    // Re-enabling (as each engine start does) reuses the probe's verdict and registers nothing twice.
    enableNativeOps((ops as { addon: Parameters<typeof enableNativeOps>[0] }).addon, 2);
    expect(nativeLibmStatus().calls - before).toBe(4);
    expect(tf.memory().numTensors).toBe(numTensors);
    expect(tf.engine().backend.numDataIds()).toBe(numDataIds);
  });

  test('the fused causal-LM loss calls the registered Exp: a tiny-llama LoRA run is bit-identical to one on the stock Exp', async () => {
    const examples = [[10, 11, 12, 40, 41, 42, 43, 200], [20, 21, 22, 50, 51, 200], [30, 31, 32, 33, 60, 61, 62, 63, 64, 200], [9, 8, 7, 70, 200]].map(promptMasked);
    const run = () => tinyLoraRun({ modelType: 'llama', lora: { r: 8, lora_alpha: 16 }, config: { maxSteps: 4, learningRate: 4e-3 }, examples });
    const before = nativeLibmStatus().calls;
    const native = await run();
    expect(nativeLibmStatus().calls - before).toBeGreaterThanOrEqual(8); // the loss's forward and gradient, each step
    disableNativeLibm();
    const stock = await run();
    expect(applyNativeLibm(2)).toBe(true);
    expect(native.losses).toEqual(stock.losses);
    expect(native.weights).toEqual(stock.weights);
    expect(native.grew).toBe(stock.grew);
  });

  test('a C library that rounds differently fails the probe: Exp stays the stock kernel', () => {
    // The real kernels, with one result's last bit flipped (x = 1).
    const skewed: NativeLibmAddon = {
      ...addon,
      setThreads: (n) => addon.setThreads(n),
      unary(heap, p) {
        addon.unary(heap, p);
        const x = new Float32Array(heap.buffer, heap.byteOffset + p[2], p[3]);
        const out = new Uint32Array(heap.buffer, heap.byteOffset + p[1], p[3]);
        const at = x.indexOf(1);
        if (at >= 0) out[at] ^= 1;
      },
    };
    try {
      expect(enableNativeLibm(skewed, 2)).toBe(false);
      const s = nativeLibmStatus();
      expect(s.state).toBe('failed');
      expect(s.reason).toMatch(/start-up probe found 1 of 65536 results differing .*x=1 \(0x3f800000\): native 0x402df855, stock 0x402df854/);
      expect(tf.getKernel('Exp', 'wasm')!.kernelFunc).toBe(stockExp);
      expect(() => enableNativeLibm(skewed, 2, 'on')).toThrow(/LORA_STUDY_NATIVE_LIBM=on: the start-up probe found/);
    } finally {
      expect(applyNativeLibm(2)).toBe(true);
    }
  });

  test('switched off, or with the addon missing, Exp falls back to the split stock kernel', () => {
    const addonOps = (ops as { addon: Parameters<typeof enableNativeOps>[0] }).addon;
    try {
      vi.stubEnv(NATIVE_LIBM_ENV, 'off');
      enableNativeOps(addonOps, 2);
      expect(nativeLibmStatus()).toMatchObject({ state: 'off', reason: 'LORA_STUDY_NATIVE_LIBM=off' });
      expect(splitUnaryStatus().kernels).toEqual(['Exp']);
      expect(describeNativeLibm()).toBe('');

      vi.stubEnv(NATIVE_LIBM_ENV, '');
      vi.stubEnv(NATIVE_ADDON_PATH_ENV, '/nonexistent/lora-study-native/index.cjs');
      resetNativeLibmCache();
      enableNativeOps(addonOps, 2);
      const s = nativeLibmStatus();
      expect(s.state).toBe('unavailable');
      expect(s.reason).toMatch(/the native libm addon did not load/);
      expect(splitUnaryStatus().kernels).toEqual(['Exp']);
      const x = tf.tensor1d([0, 1, -1]);
      expect(Array.from(tf.exp(x).dataSync())).toEqual([1, Math.fround(Math.E), Math.fround(1 / Math.E)]);
      x.dispose();
      vi.stubEnv(NATIVE_LIBM_ENV, 'on');
      expect(() => applyNativeLibm(2)).toThrow(/LORA_STUDY_NATIVE_LIBM=on: the native libm addon did not load/);
    } finally {
      vi.unstubAllEnvs();
      resetNativeLibmCache();
      enableNativeOps(addonOps, 2);
    }
    expect(nativeLibmStatus().state).toBe('on');
    expect(splitUnaryStatus().state).toBe('off');
  });
});
