import * as tf from '@tensorflow/tfjs-core';
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { initEngine } from '../../src/engine/backend.js';
import { disableNativeOps } from '../../src/engine/native-ops.js';
import { promptMasked, tinyLoraRun } from '../helpers/tiny-lora-run.js';
import {
  checkValues,
  DEFAULT_SPLIT_MIN_ELEMENTS,
  disableSplitUnary,
  enableSplitUnary,
  resolveSplitUnaryMode,
  splitUnaryStatus,
  SPLIT_UNARY_ENV,
  stopSplitWorkers,
  WORKER_SOURCE,
} from '../../src/engine/wasm-split-unary.js';

const MIN = 10_000;

/** Float32 bit patterns of every class: specials, exp/log edges, a dense sweep, random bits. */
function inputs(n: number, seed: number): Float32Array {
  const v = new Float32Array(n);
  const u = new Uint32Array(v.buffer);
  const edges = [0, -0, Infinity, -Infinity, NaN, -NaN, 88.72283, 88.722839, 88.7228394, 89, -87.33654, -88, -103.97208, -103.972084, -104, -149, 1.4e-45, -1.4e-45, 3.4028235e38, -3.4028235e38, 1, -1, -63.09946060180664];
  let i = 0;
  for (const e of edges) if (i < n) v[i++] = e;
  const third = Math.floor(n / 3);
  for (let k = 0; i < 2 * third; k++) v[i++] = -120 + (220 * k) / third; // underflow to overflow, densely
  let s = seed >>> 0 || 1;
  while (i < n) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    u[i++] = s >>> 0;
  }
  return v;
}

const bitsOf = (t: tf.Tensor): Uint32Array => new Uint32Array(Float32Array.from(t.dataSync() as Float32Array).buffer);

/** The workers' source the tests below run (a test may swap in another). */
let workerSource = WORKER_SOURCE;

/** The kernel's output with the split on and with the stock kernel, as bit patterns. */
function splitAndStock(op: (x: tf.Tensor) => tf.Tensor, values: Float32Array, shape: number[]): { split: Uint32Array; stock: Uint32Array } {
  const x = tf.tensor(values, shape, 'float32');
  const threads = splitUnaryStatus().threads;
  enableSplitUnary({ threads, minElements: MIN, choose: 'split', workerSource });
  const ys = op(x);
  enableSplitUnary({ threads, minElements: Infinity, workerSource });
  const yk = op(x);
  enableSplitUnary({ threads, minElements: MIN, choose: 'split', workerSource });
  const out = { split: bitsOf(ys), stock: bitsOf(yk) };
  tf.dispose([x, ys, yk]);
  return out;
}

/** Calls the kernel until the workers have started (or failed): the calls before go to the stock kernel. */
async function waitForWorkers(): Promise<void> {
  const x = tf.zeros([MIN]);
  for (let i = 0; i < 600 && ['idle', 'starting'].includes(splitUnaryStatus().state); i++) {
    tf.exp(x).dispose();
    await new Promise((r) => setTimeout(r, 20));
  }
  x.dispose();
}

describe('stock wasm Exp split over worker threads', () => {
  beforeAll(async () => {
    await initEngine({ backend: 'wasm', threads: 1, nativeMatmul: 'off' });
    disableNativeOps();
    enableSplitUnary({ threads: 2, minElements: MIN, choose: 'split' }, ['Exp', 'Log']);
    await waitForWorkers();
  });
  afterAll(() => {
    disableSplitUnary();
    stopSplitWorkers();
  });

  test('the workers start and pass the start-up check', () => {
    const s = splitUnaryStatus();
    expect(s.state, s.reason).toBe('ready');
    expect(s.kernels).toEqual(['Exp', 'Log']);
    expect(checkValues().length).toBeGreaterThan(DEFAULT_SPLIT_MIN_ELEMENTS);
  });

  test('Exp and Log give the stock bits on every float class, odd sizes and shapes', () => {
    const before = splitUnaryStatus();
    const cases: Array<[number[], number]> = [
      [[MIN - 1], 1], // below the threshold: stock
      [[MIN], 2],
      [[MIN + 1], 3],
      [[65_537], 4],
      [[4, 64, 512], 5],
      [[3, 7, 11, 13, 17], 6], // 51,051
      [[131_071], 7],
      [[2, 1_000_003], 8],
    ];
    for (const [shape, seed] of cases) {
      const n = tf.util.sizeFromShape(shape);
      const values = inputs(n, seed);
      for (const [name, op] of [['Exp', tf.exp], ['Log', tf.log]] as const) {
        const { split, stock } = splitAndStock(op, values, shape);
        let bad = -1;
        for (let i = 0; i < n && bad < 0; i++) if (split[i] !== stock[i]) bad = i;
        expect(bad, `${name} [${shape}] differs at x=${values[bad]}`).toBe(-1);
      }
    }
    const after = splitUnaryStatus();
    expect(after.calls - before.calls).toBe(2 * (cases.length - 1));
    // The workers took part (their chunks are copied, not recomputed, when they finish in time).
    expect(after.workerChunks).toBeGreaterThan(before.workerChunks);
  });

  test('a tiny-llama LoRA run has bit-identical losses and LoRA weights with every Exp and Log split', async () => {
    const examples = [[10, 11, 12, 40, 41, 42, 43, 200], [20, 21, 22, 50, 51, 200], [30, 31, 32, 33, 60, 61, 62, 63, 64, 200], [9, 8, 7, 70, 200]].map(promptMasked);
    const run = () => tinyLoraRun({ modelType: 'llama', lora: { r: 8, lora_alpha: 16 }, config: { maxSteps: 6, learningRate: 4e-3 }, examples });
    enableSplitUnary({ threads: 2, minElements: Infinity });
    const stock = await run();
    enableSplitUnary({ threads: 2, minElements: 1, choose: 'split' });
    const before = splitUnaryStatus().calls;
    const split = await run();
    enableSplitUnary({ threads: 2, minElements: MIN, choose: 'split' });
    expect(splitUnaryStatus().calls).toBeGreaterThan(before);
    expect(split.losses).toEqual(stock.losses);
    expect(split.weights).toEqual(stock.weights);
    expect(split.grew).toBe(stock.grew);
  });

  test('enable starts the workers at once; disable keeps them for the next enable', async () => {
    const calls = splitUnaryStatus().calls;
    disableSplitUnary();
    expect(splitUnaryStatus().state).toBe('off');
    enableSplitUnary({ threads: 2, minElements: MIN, choose: 'split' }, ['Exp', 'Log']);
    expect(splitUnaryStatus()).toMatchObject({ state: 'ready', calls });
    stopSplitWorkers();
    disableSplitUnary();
    enableSplitUnary({ threads: 2, minElements: MIN, choose: 'split' }, ['Exp', 'Log']);
    expect(splitUnaryStatus()).toMatchObject({ state: 'starting', calls: 0 });
    await waitForWorkers();
    expect(splitUnaryStatus().state).toBe('ready');
  });

  test('no tensor or backend data leaks across many calls', () => {
    const x = tf.randomNormal([4, 64, 512]);
    tf.exp(x).dispose();
    const backend = tf.backend() as unknown as { numDataIds(): number };
    const before = { tensors: tf.memory().numTensors, bytes: tf.memory().numBytes, ids: backend.numDataIds() };
    for (let i = 0; i < 100; i++) tf.tidy(() => tf.sum(tf.exp(tf.mul(x, 0.5)))).dispose();
    expect({ tensors: tf.memory().numTensors, bytes: tf.memory().numBytes, ids: backend.numDataIds() }).toEqual(before);
    x.dispose();
  });

  test('the measured choice gives the same bits whichever way it picks', () => {
    enableSplitUnary({ threads: 2, minElements: MIN });
    const x = tf.tensor(inputs(70_001, 11));
    const ref = bitsOf(tf.exp(x));
    for (let i = 0; i < 40; i++) {
      const y = tf.exp(x);
      expect(Buffer.compare(Buffer.from(bitsOf(y).buffer), Buffer.from(ref.buffer))).toBe(0);
      y.dispose();
    }
    x.dispose();
    const s = splitUnaryStatus();
    expect(s.calls + s.stockCalls).toBeGreaterThan(40);
  });

  test('falls back to the stock kernel when a worker cannot start', async () => {
    disableSplitUnary();
    enableSplitUnary({ threads: 2, minElements: MIN, choose: 'split', workerSource: 'throw new Error("no worker today")' });
    await waitForWorkers();
    const s = splitUnaryStatus();
    expect(s.state).toBe('failed');
    const { split, stock } = splitAndStock(tf.exp, inputs(50_000, 9), [50_000]);
    expect(Buffer.compare(Buffer.from(split.buffer), Buffer.from(stock.buffer))).toBe(0);
    expect(splitUnaryStatus().calls).toBe(0);
  });

  test('a worker that fails while it starts says why', async () => {
    const broken = WORKER_SOURCE.replace('const tf = require(d.corePath);', 'throw new Error("no tfjs here");');
    expect(broken).not.toBe(WORKER_SOURCE);
    enableSplitUnary({ threads: 2, minElements: MIN, choose: 'split', workerSource: broken });
    await waitForWorkers();
    for (let i = 0; i < 50 && !/no tfjs here/.test(splitUnaryStatus().reason); i++) await new Promise((r) => setTimeout(r, 10));
    expect(splitUnaryStatus()).toMatchObject({ state: 'failed', reason: 'a worker failed: no tfjs here' });
  });

  test('a worker whose results differ is never used', async () => {
    disableSplitUnary();
    const wrong = WORKER_SOURCE.replace('fns[kernel](xId, 0, outId);', 'fns[kernel](xId, 0, outId); new Uint32Array(wasm.HEAPU8.buffer, outOff, n)[n - 1] ^= 1;');
    expect(wrong).not.toBe(WORKER_SOURCE);
    enableSplitUnary({ threads: 2, minElements: MIN, choose: 'split', workerSource: wrong });
    await waitForWorkers();
    const s = splitUnaryStatus();
    expect(s.state).toBe('failed');
    expect(s.reason).toMatch(/differs from the main backend's/);
    disableSplitUnary();
    enableSplitUnary({ threads: 2, minElements: MIN, choose: 'split' }, ['Exp', 'Log']);
  });

  test('with two workers (threads 3) the bits are the stock ones too', async () => {
    disableSplitUnary();
    enableSplitUnary({ threads: 3, minElements: MIN, choose: 'split' });
    await waitForWorkers();
    expect(splitUnaryStatus().state).toBe('ready');
    for (const [n, seed] of [[300_007, 21], [MIN + 3, 22]]) {
      for (let rep = 0; rep < 5; rep++) {
        const { split, stock } = splitAndStock(tf.exp, inputs(n, seed + rep), [n]);
        expect(Buffer.compare(Buffer.from(split.buffer), Buffer.from(stock.buffer))).toBe(0);
      }
    }
    expect(splitUnaryStatus().calls).toBe(10);
    disableSplitUnary();
    enableSplitUnary({ threads: 2, minElements: MIN, choose: 'split' }, ['Exp', 'Log']);
  });

  test.each([2, 3])('slow workers (threads %i): the main thread computes their unfinished chunks again, and their late results never land', async (threads) => {
    // Each worker chunk takes 3 ms longer, so most calls end before the workers finish what they claimed.
    const slow = WORKER_SOURCE.replace('run(kernel, xin, yout, end - begin);', 'Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 3); run(kernel, xin, yout, end - begin);');
    expect(slow).not.toBe(WORKER_SOURCE);
    workerSource = slow;
    enableSplitUnary({ threads, minElements: MIN, choose: 'split', workerSource });
    await waitForWorkers();
    expect(splitUnaryStatus().state).toBe('ready');
    for (let rep = 0; rep < 12; rep++) {
      const n = 40_000 + 4096 * rep;
      const { split, stock } = splitAndStock(tf.exp, inputs(n, 100 + rep), [n]);
      expect(Buffer.compare(Buffer.from(split.buffer), Buffer.from(stock.buffer)), `call ${rep}`).toBe(0);
    }
    const s = splitUnaryStatus();
    expect(s.calls).toBe(12);
    expect(s.workerChunks).toBeLessThan(12 * 8);
    workerSource = WORKER_SOURCE;
    stopSplitWorkers();
    enableSplitUnary({ threads: 2, minElements: MIN, choose: 'split' });
    await waitForWorkers();
  });

  test(`${SPLIT_UNARY_ENV} takes auto, split or off`, () => {
    expect(resolveSplitUnaryMode({})).toBe('auto');
    expect(resolveSplitUnaryMode({ [SPLIT_UNARY_ENV]: 'off' })).toBe('off');
    expect(() => resolveSplitUnaryMode({ [SPLIT_UNARY_ENV]: 'yes' })).toThrow(/must be auto, split or off/);
  });

  test('a process that used the split exits by itself', () => {
    const url = (p: string) => JSON.stringify(new URL(p, import.meta.url).href);
    const code = `import * as tf from '@tensorflow/tfjs-core';
      import { initEngine } from ${url('../../src/engine/backend.ts')};
      import { enableSplitUnary, splitUnaryStatus } from ${url('../../src/engine/wasm-split-unary.ts')};
      await initEngine({ backend: 'wasm', threads: 1, nativeMatmul: 'off' });
      enableSplitUnary({ threads: 2, minElements: 1000, choose: 'split' });
      const x = tf.randomNormal([4, 64, 512]);
      for (let i = 0; i < 300 && splitUnaryStatus().state !== 'ready'; i++) { tf.exp(x).dispose(); await new Promise((r) => setTimeout(r, 20)); }
      for (let i = 0; i < 10; i++) tf.exp(x).dispose();
      process.stdout.write(splitUnaryStatus().state);`;
    const t0 = Date.now();
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe('ready');
    expect(Date.now() - t0).toBeLessThan(30_000);
  });
});
