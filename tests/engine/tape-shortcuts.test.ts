import * as tf from '@tensorflow/tfjs-core';
import '../../src/util/tfjs-setup.js';
import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import { initEngine } from '../../src/engine/backend.js';
import { engineMismatch, installTapeShortcuts, setTapeShortcutParts, tapeShortcutsStatus, uninstallTapeShortcuts } from '../../src/engine/tape-shortcuts.js';
import { overrideWasmKernel } from '../../src/engine/wasm-kernel-override.js';
import { promptMasked, tinyLoraRun } from '../helpers/tiny-lora-run.js';

beforeAll(async () => {
  await initEngine({ backend: 'wasm', threads: 1, nativeMatmul: 'off' });
});

afterEach(async () => {
  await tf.setBackend('wasm');
  installTapeShortcuts('wasm');
});

const buffers = () => tf.engine().backend.numDataIds();
const bits = (t: tf.Tensor) => Array.from(new Uint32Array(Float32Array.from(t.dataSync()).buffer));

/** Runs `f` with the shortcuts on (the engine's default) or taken off, and puts them back. */
function withShortcuts<T>(on: boolean, f: () => T): T {
  if (!on) uninstallTapeShortcuts();
  try {
    return f();
  } finally {
    installTapeShortcuts(tf.getBackend());
  }
}

/** Counts the wasm kernels `f` runs by name. */
function countKernels(names: string[], f: () => void): Record<string, number> {
  const counts: Record<string, number> = Object.fromEntries(names.map((n) => [n, 0]));
  const restore = names.map((n) => overrideWasmKernel(n, (args, stock) => (counts[n]++, stock(args))));
  try {
    f();
  } finally {
    restore.forEach((r) => r?.());
  }
  return counts;
}

/**
 * A loss touching what the shortcuts touch: saved inputs and outputs (Multiply, Exp, MatMul),
 * broadcasting Add/Sub (reduced gradients), Mean, Square, a float32 Cast, a customGrad that
 * saves an intermediate the forward pass then disposes.
 */
function lossOf(x: tf.Tensor2D, w: tf.Tensor2D, bias: tf.Tensor1D): tf.Scalar {
  const expSum = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const a = args[0] as tf.Tensor;
    const save = args[1] as tf.GradSaveFunc;
    const e = tf.exp(a); // disposed when the forward's tidy ends: only the saved copy lives on
    save([e]);
    return { value: tf.sum(e, -1), gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(tf.reshape(dy, [-1, 1]), saved[0]) };
  });
  // Reshapes (one inferred), a same-dtype cast and a clone on the tape, between kernels that save their inputs.
  const h = tf.reshape(tf.clone(tf.add(tf.reshape(tf.matMul(x, w), [3, -1]), tf.tile(tf.reshape(bias, [1, 4]), [1, 2]))), [6, 4]);
  const g = tf.sub(tf.mul(h, tf.cast(h, 'float32')), tf.mean(h, -1, true));
  return tf.sum(tf.add(tf.square(g), tf.reshape(expSum(tf.mul(h, 0.1)) as tf.Tensor, [-1, 1]))) as tf.Scalar;
}

function inputs() {
  return {
    x: tf.randomNormal([6, 5], 0, 1, 'float32', 11) as tf.Tensor2D,
    w: tf.randomNormal([5, 4], 0, 1, 'float32', 12) as tf.Tensor2D,
    bias: tf.randomNormal([4], 0, 1, 'float32', 13) as tf.Tensor1D,
  };
}

/** Gradient bits, and the engine's and backend's counts before, at the end of the forward pass, and after. */
function gradRun(on: boolean) {
  const { x, w, bias } = inputs();
  const before = { ...tf.memory(), buffers: buffers() };
  let inForward: ReturnType<typeof tf.memory> & { buffers: number } = { ...before };
  const out = withShortcuts(on, () =>
    tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => {
      const l = lossOf(a as tf.Tensor2D, b as tf.Tensor2D, c as tf.Tensor1D);
      inForward = { ...tf.memory(), buffers: buffers() };
      return l;
    })([x, w, bias]),
  );
  const grads = out.map(bits);
  tf.dispose(out);
  const after = { ...tf.memory(), buffers: buffers() };
  tf.dispose([x, w, bias]);
  const count = (m: typeof before) => ({ numTensors: m.numTensors, numBytes: m.numBytes, numDataBuffers: m.numDataBuffers, buffers: m.buffers });
  return { grads, forward: count(inForward), before: count(before), after: count(after) };
}

describe.each(['wasm', 'cpu'])('on %s', (backend) => {
  beforeAll(async () => {
    if (backend === 'cpu') await initEngine({ backend: 'cpu' });
  });

  test('the shortcuts are on, and gradients, tensor counts, bytes and buffers are those of the stock engine', async () => {
    await tf.setBackend(backend);
    expect(installTapeShortcuts(backend)).toEqual({ installed: true, backends: expect.arrayContaining([backend]) });
    const stock = gradRun(false);
    const short = gradRun(true);
    const prev = setTapeShortcutParts({ leanKernels: false, leanGradients: false });
    const shortcutsAlone = gradRun(true);
    setTapeShortcutParts(prev);
    for (const run of [short, shortcutsAlone]) {
      expect(run.grads).toEqual(stock.grads);
      expect(run.forward).toEqual(stock.forward);
      expect(run.before).toEqual(stock.before);
      expect(run.after).toEqual(run.before);
    }
    expect(stock.after).toEqual(stock.before);
  });
});

test('with the shortcuts a gradient runs no Identity, Reshape or same-dtype Cast kernel (stock: dozens), and outside a tape neither', () => {
  const { x, w, bias } = inputs();
  const names = ['Identity', 'Reshape', 'Cast'];
  const run = (on: boolean) =>
    countKernels(names, () => withShortcuts(on, () => tf.dispose(tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => lossOf(a as tf.Tensor2D, b as tf.Tensor2D, c as tf.Tensor1D))([x, w, bias]))));
  const stock = run(false);
  expect(stock.Identity).toBeGreaterThan(10);
  expect(stock.Reshape).toBeGreaterThan(5);
  expect(stock.Cast).toBeGreaterThan(2);
  expect(run(true)).toEqual({ Identity: 0, Reshape: 0, Cast: 0 });
  const outside = countKernels(names, () => tf.dispose(tf.tidy(() => [tf.reshape(x, [6, 5]), tf.reshape(x, [-1]), tf.cast(x, 'float32'), tf.clone(x)])));
  expect(outside).toEqual({ Identity: 0, Reshape: 0, Cast: 0 });
  // A cast that converts is a real kernel still.
  expect(countKernels(names, () => tf.dispose(tf.cast(x, 'int32'))).Cast).toBe(1);
  tf.dispose([x, w, bias]);
});

test('an invalid reshape throws the stock error, on and off the tape', () => {
  const x = tf.tensor1d([1, 2, 3, 4, 5, 6]);
  expect(() => tf.reshape(x, [4])).toThrow('Size(6) must match the product of shape 4');
  expect(() => tf.reshape(x, [-1, -1])).toThrow('Shapes can only have 1 implicit size');
  expect(() => tf.grad((a: tf.Tensor) => tf.sum(tf.reshape(a, [4, -1])))(x)).toThrow("The implicit shape can't be a fractional number");
  expect(tf.reshape(x, [2, -1]).shape).toEqual([2, 3]);
  x.dispose();
});

test('a skipped no-op shares the buffer, which lives until the last of its tensors is disposed', () => {
  const base = buffers();
  const x = tf.tensor2d([1.5, -2, 3, 4.25], [2, 2]);
  const r = tf.reshape(x, [2, 2]);
  const c = tf.cast(x, 'float32');
  expect(r.dataId).toBe(x.dataId);
  expect(c.dataId).toBe(x.dataId);
  expect(buffers()).toBe(base + 1);
  x.dispose();
  r.dispose();
  expect(c.arraySync()).toEqual([[1.5, -2], [3, 4.25]]);
  c.dispose();
  expect(buffers()).toBe(base);
});

test('a tensor whose data another backend holds is reshaped and cloned the stock way (moved first)', async () => {
  await initEngine({ backend: 'cpu' });
  const onCpu = tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]);
  await tf.setBackend('wasm');
  const r = tf.reshape(onCpu, [3, 2]);
  const g = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.reshape(a, [-1]), tf.reshape(a, [6]))))(onCpu);
  expect(r.arraySync()).toEqual([[1, 2], [3, 4], [5, 6]]);
  expect(Array.from(g.dataSync())).toEqual([2, 4, 6, 8, 10, 12]);
  tf.dispose([onCpu, r, g]);
});

test('second-order gradients still see the saved tensors (nested tapes keep the stock clone)', () => {
  const x = tf.tensor1d([0.5, -1.25, 2]);
  const d2 = tf.grad((a: tf.Tensor) => tf.sum(tf.grad((b: tf.Tensor) => tf.sum(tf.mul(tf.mul(b, b), b)))(a)))(x); // d²/dx² Σx³ = 6x
  expect(Array.from(d2.dataSync())).toEqual([3, -7.5, 12]);
  tf.dispose([x, d2]);
});

test('tf.profile sees the stock kernels (its kernel list and peak stay as they were)', async () => {
  const { x, w, bias } = inputs();
  const f = () => tf.dispose(tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => lossOf(a as tf.Tensor2D, b as tf.Tensor2D, c as tf.Tensor1D))([x, w, bias]));
  const stock = withShortcuts(false, () => tf.profile(f));
  const short = await tf.profile(f);
  const s = await stock;
  expect(short.kernels.map((k) => k.name)).toEqual(s.kernels.map((k) => k.name));
  expect(short.peakBytes).toBe(s.peakBytes);
  tf.dispose([x, w, bias]);
});

test('a tiny-llama LoRA run has bit-identical losses and weights with and without the shortcuts, and leaks nothing', async () => {
  const examples = [[10, 11, 12, 40, 41, 42, 43, 200], [20, 21, 22, 50, 51, 200], [30, 31, 32, 33, 60, 61, 62, 63, 64, 200], [9, 8, 7, 70, 200]].map(promptMasked);
  const run = async (on: boolean) => {
    if (!on) uninstallTapeShortcuts();
    try {
      return await tinyLoraRun({ modelType: 'llama', lora: { r: 8, lora_alpha: 16 }, config: { maxSteps: 5, learningRate: 4e-3 }, examples });
    } finally {
      installTapeShortcuts('wasm');
    }
  };
  const stock = await run(false);
  const short = await run(true);
  expect(short.losses.length).toBe(5);
  expect(short.losses).toEqual(stock.losses);
  expect(short.weights).toEqual(stock.weights);
  expect(short.grew).toBe(stock.grew);
});

test('an engine that does not look like tfjs-core 4.22 is refused and keeps the stock path', () => {
  const real = tf.engine() as unknown as NonNullable<Parameters<typeof engineMismatch>[0]>;
  expect(engineMismatch(real)).toBeNull();
  expect(engineMismatch(real, '4.23.0')).toMatch(/tfjs-core 4\.23\.0 \(the shortcuts are written for 4\.22\.0\)/);
  const renamed = Object.create(real, { clone: { value: (x: tf.Tensor) => x } });
  expect(engineMismatch(renamed)).toMatch(/Engine\.clone is not/);
  const noState = Object.create(real, { state: { value: {} } });
  expect(engineMismatch(noState)).toMatch(/engine state lacks/);
});

test('a backend whose kernels are not known to share buffers stays on the stock path', () => {
  const status = installTapeShortcuts('webgpu');
  expect(status.backends).not.toContain('webgpu');
  expect(status.refused).toMatch(/webgpu: .*\(stock path kept\)/);
  expect(tapeShortcutsStatus().installed).toBe(true);
});
