import * as tf from '@tensorflow/tfjs-core';
import '../../src/util/tfjs-setup.js';
import { afterEach, beforeAll, expect, test } from 'vitest';
import { initEngine } from '../../src/engine/backend.js';
import { setTapeShortcutParts, type TapeShortcutParts } from '../../src/engine/tape-shortcuts.js';

beforeAll(async () => {
  await initEngine({ backend: 'wasm', threads: 1, nativeMatmul: 'off' });
});

const ALL_ON: TapeShortcutParts = { leanKernels: true, leanGradients: true };
afterEach(() => {
  setTapeShortcutParts(ALL_ON);
});

const bits = (t: tf.Tensor | null | undefined) => (t == null ? null : Array.from(new Uint32Array(Float32Array.from(t.dataSync()).buffer)));

/** Runs `f` with the given parts of the engine patch, logging every wasm kernel call (name and input shapes) in order. */
function logged<T>(parts: Partial<TapeShortcutParts>, f: () => T): { out: T; calls: string[] } {
  const calls: string[] = [];
  const kernels = tf.getKernelsForBackend('wasm');
  const stock = kernels.map((k) => k.kernelFunc);
  kernels.forEach((k, i) => {
    (k as { kernelFunc: tf.KernelFunc }).kernelFunc = (args) => {
      calls.push(`${k.kernelName}(${Object.values(args.inputs).map((t) => (t ? t.shape.join('x') : '-')).join(',')})`);
      return stock[i](args);
    };
  });
  setTapeShortcutParts({ ...ALL_ON, ...parts });
  try {
    return { out: f(), calls };
  } finally {
    kernels.forEach((k, i) => ((k as { kernelFunc: tf.KernelFunc }).kernelFunc = stock[i]));
    setTapeShortcutParts(ALL_ON);
  }
}

/**
 * A loss with what the tape filter and backprop must get right: a branch that does not depend
 * on the xs, an output that does not lead to y, a multi-output kernel with an unused output (its
 * dy is zeros), an x used several times (gradients summed), a customGrad, a broadcast.
 */
function lossOf(x: tf.Tensor2D, w: tf.Tensor2D, unused: tf.Tensor): tf.Scalar {
  const constant = tf.mul(tf.ones([6, 4]), 0.5); // not from the xs
  tf.exp(x); // from x, but not to y
  const h = tf.add(tf.matMul(x, w), constant);
  const [left, right] = tf.split(h, 2, 1); // right is not used
  void right;
  const scaleGrad = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const a = args[0] as tf.Tensor;
    const save = args[1] as tf.GradSaveFunc;
    save([a]);
    return { value: tf.mul(a, a), gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(dy, tf.mul(saved[0], 2)) };
  });
  const g = tf.add(scaleGrad(left) as tf.Tensor, tf.mul(tf.sum(x), 0.25));
  void unused;
  return tf.sum(tf.add(tf.reshape(g, [-1]), tf.mul(tf.reshape(x, [-1]).slice(0, 12), 0.1))) as tf.Scalar;
}

function inputs() {
  return {
    x: tf.variable(tf.randomNormal([6, 5], 0, 1, 'float32', 21) as tf.Tensor2D),
    w: tf.variable(tf.randomNormal([5, 4], 0, 1, 'float32', 22) as tf.Tensor2D),
    unused: tf.variable(tf.randomNormal([3], 0, 1, 'float32', 23)),
  };
}

test('lean gradients and kernel path run the same kernels in the same order as the engine, with the same gradient bits and no leaks', () => {
  const v = inputs();
  const run = (parts: Partial<TapeShortcutParts>) => {
    const before = tf.memory().numTensors;
    const { out, calls } = logged(parts, () => tf.variableGrads(() => lossOf(v.x as tf.Tensor2D, v.w as tf.Tensor2D, v.unused), [v.x, v.w, v.unused]));
    const res = { value: bits(out.value), grads: Object.fromEntries(Object.entries(out.grads).map(([k, g]) => [k, bits(g)])), calls, names: Object.keys(out.grads) };
    tf.dispose([out.value, ...Object.values(out.grads)]);
    return { ...res, grew: tf.memory().numTensors - before };
  };
  const stock = run({ leanKernels: false, leanGradients: false });
  const lean = run(ALL_ON);
  expect(stock.calls.length).toBeGreaterThan(20);
  expect(lean.calls).toEqual(stock.calls);
  expect(lean.value).toEqual(stock.value);
  expect(lean.grads).toEqual(stock.grads);
  // The variable that y does not depend on gets no gradient, as in the stock engine.
  expect(lean.names).toEqual(stock.names);
  expect(lean.names).not.toContain(v.unused.name);
  expect(lean.grew).toBe(0);
  expect(stock.grew).toBe(0);
  tf.dispose([v.x, v.w, v.unused]);
});

test('tf.grad with a given dy, and tf.grads of several inputs, match the stock engine bit for bit', () => {
  const x = tf.randomNormal([4, 3], 0, 1, 'float32', 5) as tf.Tensor2D;
  const y = tf.randomNormal([3, 2], 0, 1, 'float32', 6) as tf.Tensor2D;
  const dy = tf.randomNormal([4, 2], 0, 1, 'float32', 7);
  const f = (a: tf.Tensor, b: tf.Tensor) => tf.tanh(tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D));
  const both = (parts: Partial<TapeShortcutParts>) =>
    logged(parts, () => {
      const gs = tf.grads(f)([x, y], dy);
      const out = gs.map(bits);
      tf.dispose(gs);
      return out;
    });
  const stock = both({ leanGradients: false, leanKernels: false });
  const lean = both(ALL_ON);
  expect(lean.out).toEqual(stock.out);
  expect(lean.calls).toEqual(stock.calls);
  tf.dispose([x, y, dy]);
});

test('the stock errors: y not a function of x, a non-float32 dy, a kernel without a gradient, an unregistered kernel', () => {
  const x = tf.tensor1d([1, 2, 3]);
  const errors = (parts: Partial<TapeShortcutParts>) => {
    setTapeShortcutParts({ ...ALL_ON, ...parts });
    const caught = (f: () => unknown) => {
      try {
        tf.dispose(f() as tf.Tensor);
        return null;
      } catch (err) {
        return (err as Error).message;
      }
    };
    return [
      caught(() => tf.grad(() => tf.scalar(2))(x)),
      caught(() => tf.grad((a: tf.Tensor) => tf.mul(a, 2))(x, tf.tensor1d([1, 1, 1], 'int32'))),
      caught(() => tf.grad((a: tf.Tensor) => tf.sum(tf.topk(a, 2).values))(x)),
      caught(() => tf.engine().runKernel('LoraStudyNoSuchKernel', { x }, {})),
    ];
  };
  const stock = errors({ leanGradients: false, leanKernels: false });
  const lean = errors(ALL_ON);
  expect(stock.every((m) => typeof m === 'string' && m.length > 0)).toBe(true);
  expect(lean).toEqual(stock);
  x.dispose();
});

test('a kernel that throws leaves the engine outside the kernel, and the next gradient works', () => {
  const name = 'LoraStudyLeanTestThrows';
  tf.registerKernel({
    kernelName: name,
    backendName: 'wasm',
    kernelFunc: () => {
      throw new Error('kernel failed');
    },
  });
  try {
    const x = tf.tensor1d([1, 2]);
    expect(() => tf.grad((a: tf.Tensor) => tf.engine().runKernel(name, { a }, {}) as tf.Tensor)(x)).toThrow('kernel failed');
    const state = (tf.engine() as unknown as { state: { kernelDepth: number; gradientDepth: number } }).state;
    expect(state.kernelDepth).toBe(0);
    expect(state.gradientDepth).toBe(0);
    const g = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(a, a)))(x);
    expect(Array.from(g.dataSync())).toEqual([2, 4]);
    tf.dispose([x, g]);
  } finally {
    tf.unregisterKernel(name, 'wasm');
  }
});
