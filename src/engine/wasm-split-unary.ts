/**
 * Runs large calls of stock wasm unary kernels (Exp) on two or more instances of the SAME
 * tfjs-backend-wasm binary at once: the main thread's backend and persistent worker threads,
 * each holding its own instance of that module. Every element is computed by the stock kernel
 * code of the binary the main backend runs (same .wasm file, same SIMD variant), so the output is
 * the stock kernel's bit for bit by construction; a start-up check compares a worker's results on
 * every float class with the main backend's before the worker is used.
 *
 * Why: the stock Exp (libm expf compiled to wasm) cannot be reproduced natively bit for bit, and
 * on one thread it is the largest single kernel of a tiny-llama step (the vocabulary log-softmax).
 *
 * How a call runs: the input is cut into chunks; the main thread claims chunks from the front and
 * runs the kernel in place on its heap, the workers claim chunks from the back of the part the
 * main thread copied into a SharedArrayBuffer (the claim is one compare-and-swap on a word holding
 * [call, front, back]), run it on their heap and copy the result back. A worker that is slow to
 * wake (a busy machine) simply claims fewer chunks, and the main thread never waits for one: a
 * chunk a worker has not finished when the two ends meet is computed again on the main thread.
 * Hand-off is Atomics.notify/wait, no message per call. Workers start when the split is enabled
 * over a running wasm backend (else on the first large call), off the main thread's time; until
 * they report ready, and for good once one fails, calls go to the stock kernel. Whether a call is
 * split at all is chosen by measured time ({@link SplitChooser}). Workers are unref'd: they never
 * keep the process alive.
 */
import * as tf from '@tensorflow/tfjs-core';
import { createRequire } from 'node:module';
import path from 'node:path';
import { MessageChannel, type MessagePort, Worker } from 'node:worker_threads';
import { resolveEnvMode } from './env-mode.js';
import { backendInstance } from './tf-registry.js';
import { overrideWasmKernel, type RestoreKernel } from './wasm-kernel-override.js';

/** The unary kernels that can be split (float32 in, float32 out, elementwise). */
export const SPLIT_UNARY_KERNELS = ['Exp', 'Log'] as const;
export type SplitUnaryKernel = (typeof SPLIT_UNARY_KERNELS)[number];

export interface SplitUnaryOptions {
  /** Instances in all, the main thread's included (so threads - 1 workers); 1 = no split. */
  threads: number;
  /** Calls with fewer elements go to the stock kernel. */
  minElements?: number;
  /** measured (default): split or stock per call, whichever has been faster lately; split: always (tests, benchmarks). */
  choose?: 'measured' | 'split';
  /** Test hook: replaces the worker's source (e.g. one that throws, to test the fallback). */
  workerSource?: string;
}

/** Below this many elements the hand-off costs more than half the work (measured: scripts/bench-split-exp.ts). */
export const DEFAULT_SPLIT_MIN_ELEMENTS = 32_768;
/** Elements per chunk: small enough to balance, large enough that a claim's cost is lost in it. */
const MIN_CHUNK = 4096;
/** front and back chunk counters have 12 bits each. */
const MAX_CHUNKS = 4095;
/** The part of a call the workers may take (what the main thread copies for them): their even share and a quarter of the main thread's. */
const workerShare = (workers: number): number => (workers + 0.25) / (workers + 1);
/** How long a call waits for a worker still busy with an earlier call (two or more workers) before giving up on the workers. */
const WORKER_WAIT_MS = 30_000;

// ctrl word indices.
const CMD = 0; // bumped once per call (and to stop): what workers wait on
const WORK = 1; // call(8 bits) | front(12) | back(12)
const P_CALL = 2; // the call's full number (tags the done flags)
const READY = 3; // workers that passed start-up
const FAILED = 4; // non-zero once a worker failed
const STOP = 5;
const P_N = 6; // elements in this call
const P_CHUNK = 7;
const P_TAIL = 8; // first chunk the workers may claim
const P_GEN = 9; // data buffer generation
const P_KERNEL = 10; // index into SPLIT_UNARY_KERNELS
const BUSY = 16; // per worker: 1 while it claims or computes chunks
const MAX_WORKERS = 7;
const CTRL_WORDS = BUSY + MAX_WORKERS + 1; // the last word stays 0: a worker's short sleeps wait on it

interface WasmModuleLike {
  HEAPU8: Uint8Array;
  cwrap(name: string, ret: null, args: string[]): (...a: number[]) => void;
  tfjs: { registerTensor(id: number, size: number, offset: number): void; disposeData(id: number): void };
}

interface WasmBackendLike {
  wasm: WasmModuleLike;
  dataIdMap: { get(dataId: object): { memoryOffset: number } };
  dataIdNextNumber: number;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
}

/** Runs kernel `fn` on [off, off + n) floats of the heap into [outOff, ...), through two registered ids. */
class HeapRunner {
  private readonly fns: Array<(x: number, dtype: number, out: number) => void>;
  private readonly xId: number;
  private readonly outId: number;
  constructor(
    private readonly wasm: WasmModuleLike,
    ids: [number, number],
  ) {
    this.fns = SPLIT_UNARY_KERNELS.map((k) => wasm.cwrap(k, null, ['number', 'number', 'number']));
    [this.xId, this.outId] = ids;
  }
  run(kernel: number, xOff: number, outOff: number, n: number): void {
    const { tfjs } = this.wasm;
    tfjs.registerTensor(this.xId, n, xOff);
    tfjs.registerTensor(this.outId, n, outOff);
    try {
      this.fns[kernel](this.xId, 0 /* float32 */, this.outId);
    } finally {
      tfjs.disposeData(this.xId);
      tfjs.disposeData(this.outId);
    }
  }
}

/** Float values of every class, for the start-up check: specials, edges of exp/log, a sweep, random bits. */
export function checkValues(n = 1 << 16): Float32Array {
  const v = new Float32Array(n);
  const bits = new Uint32Array(v.buffer);
  const specials = [0, -0, Infinity, -Infinity, NaN, 88.72283, 88.7228394, 89, -87.33654, -103.97208, -104, -150, 1e-45, -1e-45, 1, -1, 0.5];
  let i = 0;
  for (const s of specials) v[i++] = s;
  // A dense sweep over [-110, 95] (underflow to overflow of expf), then random bit patterns.
  const sweep = Math.floor((n - i) / 2);
  for (let k = 0; k < sweep; k++) v[i++] = -110 + (205 * k) / sweep;
  let s = 0x9e3779b9;
  while (i < n) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    bits[i++] = s >>> 0;
  }
  return v;
}

// CommonJS, evaluated in each worker; tfjs is required by absolute path so it resolves the same
// under tsx, vitest and the compiled build.
export const WORKER_SOURCE = `
const { workerData: d, receiveMessageOnPort, parentPort } = require('node:worker_threads');
const ctrl = new Int32Array(d.ctrl);
function fail(err) {
  try { parentPort.postMessage({ error: String(err && err.message || err) }); } catch {}
  Atomics.store(ctrl, ${FAILED}, 1);
  Atomics.store(ctrl, ${BUSY} + d.index, 0);
  Atomics.notify(ctrl, ${BUSY} + d.index);
}
(async () => {
  const tf = require(d.corePath);
  const wasmBackend = require(d.wasmPath);
  tf.env().set('WASM_HAS_SIMD_SUPPORT', d.simd);
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  wasmBackend.setWasmPaths(d.distDir);
  if (!(await tf.setBackend('wasm'))) throw new Error('tf.setBackend("wasm") returned false');
  const backend = tf.backend();
  const wasm = backend.wasm;
  if ('PThread' in wasm) throw new Error('the worker loaded the threaded wasm build');
  const fns = d.kernels.map((k) => wasm.cwrap(k, null, ['number', 'number', 'number']));
  const xId = backend.dataIdNextNumber++, outId = backend.dataIdNextNumber++;
  let cap = 0, xOff = 0, outOff = 0;
  function run(kernel, src, dst, n) {
    if (n > cap) {
      if (cap) { wasm._free(xOff); wasm._free(outOff); }
      cap = n; xOff = wasm._malloc(4 * n) >>> 0; outOff = wasm._malloc(4 * n) >>> 0;
    }
    new Float32Array(wasm.HEAPU8.buffer, xOff, n).set(src);
    wasm.tfjs.registerTensor(xId, n, xOff);
    wasm.tfjs.registerTensor(outId, n, outOff);
    fns[kernel](xId, 0, outId);
    wasm.tfjs.disposeData(xId);
    wasm.tfjs.disposeData(outId);
    dst.set(new Float32Array(wasm.HEAPU8.buffer, outOff, n));
  }
  // Start-up check: every kernel on the check values, into this worker's slot.
  const check = new Float32Array(d.check);
  const m = check.length / (1 + d.kernels.length * d.workers);
  const input = check.subarray(0, m);
  for (let k = 0; k < d.kernels.length; k++) {
    const slot = 1 + k * d.workers + d.index;
    run(k, input, check.subarray(slot * m, (slot + 1) * m), m);
  }
  Atomics.add(ctrl, ${READY}, 1);
  Atomics.notify(ctrl, ${READY});
  const done = new Int32Array(d.done);
  let gen = -1, data = null;
  let seen = Atomics.load(ctrl, ${CMD});
  for (;;) {
    Atomics.wait(ctrl, ${CMD}, seen);
    seen = Atomics.load(ctrl, ${CMD});
    if (Atomics.load(ctrl, ${STOP})) return;
    Atomics.store(ctrl, ${BUSY} + d.index, 1);
    for (;;) {
      const v = Atomics.load(ctrl, ${WORK});
      // This call's parameters (written before WORK; a claim below fails if another call began since).
      const callNo = Atomics.load(ctrl, ${P_CALL});
      const n = Atomics.load(ctrl, ${P_N}), chunk = Atomics.load(ctrl, ${P_CHUNK});
      const tail = Atomics.load(ctrl, ${P_TAIL}), kernel = Atomics.load(ctrl, ${P_KERNEL});
      const wantGen = Atomics.load(ctrl, ${P_GEN});
      const front = (v >>> 12) & 0xfff, back = v & 0xfff;
      if (back <= front || back <= tail) break;
      if (Atomics.compareExchange(ctrl, ${WORK}, v, (v & ~0xfff) | (back - 1)) !== v) continue;
      if (Atomics.load(ctrl, ${P_CALL}) !== callNo) continue; // claimed in a later call with stale parameters: leave it to the main thread
      while (gen !== wantGen) {
        const msg = receiveMessageOnPort(d.port);
        if (msg) { gen = msg.message.gen; data = msg.message.buffer; }
        else Atomics.wait(ctrl, ${CTRL_WORDS - 1}, 0, 1);
      }
      const base = tail * chunk;
      const begin = (back - 1) * chunk, end = Math.min(n, begin + chunk);
      const cap = data.byteLength / 8;
      const xin = new Float32Array(data, 4 * (begin - base), end - begin);
      const yout = new Float32Array(data, 4 * (cap + begin - base), end - begin);
      run(kernel, xin, yout, end - begin);
      Atomics.store(done, back - 1, callNo);
    }
    Atomics.store(ctrl, ${BUSY} + d.index, 0);
    Atomics.notify(ctrl, ${BUSY} + d.index);
  }
})().catch(fail);
`;

const GENERIC_FAILURE = 'a worker failed';

/** The workers and the shared state of one split pool (one per process). */
class SplitPool {
  readonly ctrl = new Int32Array(new SharedArrayBuffer(4 * CTRL_WORDS));
  private readonly workers: Worker[] = [];
  private readonly ports: MessagePort[] = [];
  private data: SharedArrayBuffer | null = null;
  private gen = 0;
  private callNo = 0;
  /** Per chunk: the number of the call whose chunk a worker last finished. */
  private readonly done = new Int32Array(new SharedArrayBuffer(4 * MAX_CHUNKS));
  private check: { input: Float32Array; all: Float32Array } | null = null;
  /** starting → ready (check passed) | failed. */
  state: 'starting' | 'ready' | 'failed' = 'starting';
  readonly chooser = new SplitChooser();
  /** Split calls run, and chunks the workers computed in them. */
  calls = 0;
  workerChunks = 0;
  reason = '';
  private readonly runner: HeapRunner;

  constructor(
    readonly backend: WasmBackendLike,
    readonly workerCount: number,
    simd: boolean,
    readonly source: string,
  ) {
    this.runner = new HeapRunner(backend.wasm, [backend.dataIdNextNumber++, backend.dataIdNextNumber++]);
    const require = createRequire(import.meta.url);
    const wasmPath = require.resolve('@tensorflow/tfjs-backend-wasm');
    const input = checkValues();
    const all = new Float32Array(new SharedArrayBuffer(4 * input.length * (1 + SPLIT_UNARY_KERNELS.length * workerCount)));
    all.set(input);
    this.check = { input, all };
    for (let index = 0; index < workerCount; index++) {
      const { port1, port2 } = new MessageChannel();
      port1.unref();
      const worker = new Worker(source, {
        eval: true,
        workerData: {
          ctrl: this.ctrl.buffer, done: this.done.buffer, check: all.buffer, port: port2, index, workers: workerCount, simd,
          kernels: SPLIT_UNARY_KERNELS, corePath: require.resolve('@tensorflow/tfjs-core'), wasmPath,
          distDir: `${path.dirname(wasmPath)}${path.sep}`,
        },
        transferList: [port2],
        // The worker's source is CommonJS: not the parent's flags (\`--input-type=module\`, loaders).
        execArgv: [],
        stdout: false,
        stderr: false,
      });
      worker.on('error', (err) => this.fail(`a worker failed: ${err.message}`));
      worker.on('message', (m: { error?: string }) => {
        if (m.error !== undefined) this.fail(`a worker failed: ${m.error}`, true);
      });
      worker.on('exit', (code) => { if (Atomics.load(this.ctrl, STOP) === 0) this.fail(`a worker exited (code ${code})`); });
      worker.unref();
      this.workers.push(worker);
      this.ports.push(port1);
    }
  }

  /** Stops using the workers; `detailed` replaces a reason given before without the worker's own message. */
  fail(reason: string, detailed = false): void {
    if (this.state === 'failed') {
      if (detailed && this.reason === GENERIC_FAILURE) this.reason = reason;
      return;
    }
    this.state = 'failed';
    this.reason = reason;
    this.stop();
  }

  stop(): void {
    Atomics.store(this.ctrl, STOP, 1);
    Atomics.add(this.ctrl, CMD, 1);
    Atomics.notify(this.ctrl, CMD);
    for (const w of this.workers) void w.terminate();
    for (const p of this.ports) p.close();
    this.workers.length = 0;
  }

  /** True when the pool can take a call now (checks, once, the workers' start-up results). */
  usable(): boolean {
    if (this.state === 'ready') {
      if (Atomics.load(this.ctrl, FAILED) !== 0) this.fail(GENERIC_FAILURE);
      return this.state === 'ready';
    }
    if (this.state === 'failed') return false;
    if (Atomics.load(this.ctrl, FAILED) !== 0) {
      this.fail(GENERIC_FAILURE);
      return false;
    }
    if (Atomics.load(this.ctrl, READY) < this.workerCount) return false;
    // Every worker computed the check values: they must match this backend's stock kernel bit for bit.
    const { input, all } = this.check!;
    const m = input.length;
    const mine = new Float32Array(m);
    this.runOnHeapCopy(input, mine);
    for (let k = 0; k < SPLIT_UNARY_KERNELS.length; k++) {
      if (k > 0) this.runOnHeapCopy(input, mine, k);
      for (let w = 0; w < this.workerCount; w++) {
        const slot = 1 + k * this.workerCount + w;
        const theirs = new Uint32Array(all.buffer, 4 * slot * m, m);
        const ours = new Uint32Array(mine.buffer);
        for (let i = 0; i < m; i++) {
          if (theirs[i] !== ours[i]) {
            this.fail(`worker ${w}'s ${SPLIT_UNARY_KERNELS[k]} differs from the main backend's at x=${input[i]}`);
            return false;
          }
        }
      }
    }
    this.check = null;
    this.state = 'ready';
    return true;
  }

  /** The main backend's kernel on a copy of `src` (start-up check only). */
  private runOnHeapCopy(src: Float32Array, dst: Float32Array, kernel = 0): void {
    const b = this.backend;
    const x = b.makeOutput([src.length], 'float32');
    const y = b.makeOutput([src.length], 'float32');
    try {
      const xOff = b.dataIdMap.get(x.dataId).memoryOffset;
      const yOff = b.dataIdMap.get(y.dataId).memoryOffset;
      new Float32Array(b.wasm.HEAPU8.buffer, xOff, src.length).set(src);
      this.runner.run(kernel, xOff, yOff, src.length);
      dst.set(new Float32Array(b.wasm.HEAPU8.buffer, yOff, src.length));
    } finally {
      (b as unknown as { disposeData(id: object): void }).disposeData(x.dataId);
      (b as unknown as { disposeData(id: object): void }).disposeData(y.dataId);
    }
  }

  /**
   * With several workers, one still computing a chunk of an earlier call could write it over this
   * call's results: wait until none is. (With one worker its late write comes before any result it
   * gives this call, so there is nothing to wait for.)
   */
  private waitForIdleWorkers(): boolean {
    if (this.workerCount < 2) return true;
    const deadline = performance.now() + WORKER_WAIT_MS;
    for (let w = 0; w < this.workerCount; w++) {
      while (Atomics.load(this.ctrl, BUSY + w) !== 0) {
        if (Atomics.load(this.ctrl, FAILED) !== 0 || performance.now() > deadline) {
          this.fail(Atomics.load(this.ctrl, FAILED) !== 0 ? GENERIC_FAILURE : `a worker stayed busy for ${WORKER_WAIT_MS} ms`);
          return false;
        }
        Atomics.wait(this.ctrl, BUSY + w, 1, 50);
      }
    }
    return true;
  }

  /**
   * Runs `kernel` on n floats at xOff into outOff, split with the workers. The main thread never
   * waits for a worker: a chunk a worker claimed but has not finished when the main thread runs
   * out of chunks is computed again here (the same kernel, so the same bits).
   */
  run(kernel: number, xOff: number, outOff: number, n: number): void {
    const { ctrl, done, runner } = this;
    if (!this.waitForIdleWorkers()) {
      runner.run(kernel, xOff, outOff, n);
      return;
    }
    const chunk = Math.max(MIN_CHUNK, Math.ceil(n / MAX_CHUNKS));
    const total = Math.ceil(n / chunk);
    const tail = Math.min(total - 1, Math.max(1, Math.floor(total * (1 - workerShare(this.workerCount)))));
    const base = tail * chunk;
    const tailN = n - base;
    if (!this.data || this.data.byteLength < 8 * tailN) {
      this.data = new SharedArrayBuffer(8 * Math.max(tailN, 1 << 16));
      this.gen++;
      for (const p of this.ports) p.postMessage({ gen: this.gen, buffer: this.data });
    }
    const data = this.data;
    const cap = data.byteLength / 8;
    new Float32Array(data, 0, tailN).set(new Float32Array(this.backend.wasm.HEAPU8.buffer, xOff + 4 * base, tailN));
    const callNo = ++this.callNo;
    const tag = callNo & 0xff;
    Atomics.store(ctrl, P_CALL, callNo);
    Atomics.store(ctrl, P_N, n);
    Atomics.store(ctrl, P_CHUNK, chunk);
    Atomics.store(ctrl, P_TAIL, tail);
    Atomics.store(ctrl, P_GEN, this.gen);
    Atomics.store(ctrl, P_KERNEL, kernel);
    Atomics.store(ctrl, WORK, (tag << 24) | total);
    Atomics.add(ctrl, CMD, 1);
    Atomics.notify(ctrl, CMD);
    // Claim chunks from the front until the two ends meet.
    let front = 0;
    for (;;) {
      const v = Atomics.load(ctrl, WORK);
      front = (v >>> 12) & 0xfff;
      if (front >= (v & 0xfff)) break;
      if (Atomics.compareExchange(ctrl, WORK, v, v + (1 << 12)) !== v) continue;
      const begin = front * chunk;
      runner.run(kernel, xOff + 4 * begin, outOff + 4 * begin, Math.min(n, begin + chunk) - begin);
    }
    this.calls++;
    // The workers' chunks: copy those they finished, compute the rest here.
    for (let c = front; c < total; c++) {
      const begin = c * chunk;
      const len = Math.min(n, begin + chunk) - begin;
      if (Atomics.load(done, c) === callNo) {
        this.workerChunks++;
        new Float32Array(this.backend.wasm.HEAPU8.buffer, outOff + 4 * begin, len).set(new Float32Array(data, 4 * (cap + begin - base), len));
      } else {
        runner.run(kernel, xOff + 4 * begin, outOff + 4 * begin, len);
      }
    }
  }
}

let pool: SplitPool | null = null;
/** Why no pool could start (sticky until {@link stopSplitWorkers}). */
let failure = '';
let restore: Map<string, RestoreKernel> | null = null;
let settings: Required<SplitUnaryOptions> = {
  threads: 1,
  minElements: DEFAULT_SPLIT_MIN_ELEMENTS,
  choose: 'measured',
  workerSource: WORKER_SOURCE,
};

function mainIsSingleThreadedWasm(backend: WasmBackendLike): boolean {
  return !('PThread' in (backend.wasm as object));
}

/** The pool for `backend` and the current settings, started if need be; null when it cannot run. */
function ensurePool(backend: WasmBackendLike): SplitPool | null {
  if (settings.threads < 2) return null;
  const workers = Math.min(MAX_WORKERS, settings.threads - 1);
  if (pool && (pool.backend !== backend || pool.workerCount !== workers || pool.source !== settings.workerSource)) stopSplitWorkers();
  if (pool || failure) return pool;
  // The workers must load the binary the main backend runs: the single-threaded one.
  if (!mainIsSingleThreadedWasm(backend)) {
    failure = 'the wasm backend runs its threaded build (its own pool; the workers load only the single-threaded one)';
    return null;
  }
  try {
    pool = new SplitPool(backend, workers, tf.env().getBool('WASM_HAS_SIMD_SUPPORT'), settings.workerSource);
  } catch (err) {
    failure = `workers did not start: ${(err as Error).message}`;
  }
  return pool;
}

function splitKernel(name: SplitUnaryKernel): (args: Parameters<tf.KernelFunc>[0], stock: tf.KernelFunc) => ReturnType<tf.KernelFunc> {
  const kernel = SPLIT_UNARY_KERNELS.indexOf(name);
  return (args, stock) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    const backend = args.backend as unknown as WasmBackendLike;
    const n = tf.util.sizeFromShape(x.shape);
    if (x.dtype !== 'float32' || n < settings.minElements) return stock(args);
    const p = ensurePool(backend);
    if (!p?.usable()) return stock(args);
    const useSplit = settings.choose === 'split' || p.chooser.pick(kernel, n);
    const t0 = performance.now();
    let out: tf.TensorInfo;
    if (useSplit) {
      out = backend.makeOutput(x.shape.slice(), 'float32');
      p.run(kernel, backend.dataIdMap.get(x.dataId).memoryOffset, backend.dataIdMap.get(out.dataId).memoryOffset, n);
    } else out = stock(args) as tf.TensorInfo;
    p.chooser.record(kernel, n, useSplit, performance.now() - t0);
    return out;
  };
}

/**
 * Picks split or stock per call from measured time: the split only pays when a core is free for
 * the worker; on a loaded machine the worker shares the main thread's core and the split costs
 * ~10% more. Per kernel and size class, it keeps the ns per element of each way over its last
 * calls ({@link WINDOW}), takes the one with the lower median, and tries the other every {@link EXPLORE_EVERY}th call
 * (every 4 × that while splitting, whose own times rise as soon as the machine gets busy) so that a change in load is seen. Both ways give the same bits, so the choice never changes a result.
 */
export class SplitChooser {
  private readonly stats = new Map<number, { split: number[]; stock: number[]; calls: number }>();
  split = 0;
  stock = 0;
  private of(kernel: number, n: number) {
    const key = kernel * 64 + Math.round(Math.log2(n) * 2);
    let s = this.stats.get(key);
    if (!s) this.stats.set(key, (s = { split: [], stock: [], calls: 0 }));
    return s;
  }
  pick(kernel: number, n: number): boolean {
    const s = this.of(kernel, n);
    s.calls++;
    if (s.split.length < 3) return true;
    if (s.stock.length < 3) return false;
    const split = median(s.split) <= median(s.stock);
    // While splitting, its own times show a busier machine at once: the stock kernel needs fewer retries.
    return s.calls % (split ? EXPLORE_EVERY * 4 : EXPLORE_EVERY) === 0 ? !split : split;
  }
  record(kernel: number, n: number, split: boolean, ms: number): void {
    const s = this.of(kernel, n);
    const times = split ? s.split : s.stock;
    if (split) this.split++;
    else this.stock++;
    times.push((ms * 1e6) / n);
    if (times.length > WINDOW) times.shift();
  }
}
const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1];
/** Recent calls kept per way: the median of these decides. */
const WINDOW = 7;
const EXPLORE_EVERY = 16;

/**
 * Registers the split kernels over the wasm backend's `kernels` (Exp by default) and, when the wasm
 * backend is up, starts the workers now: started on the first large call instead, their start
 * (~80 ms of CPU on the other core) would land in the first training steps. Idempotent; options
 * apply to later calls (a new thread count or worker source restarts the workers).
 */
export function enableSplitUnary(opts: SplitUnaryOptions, kernels: readonly SplitUnaryKernel[] = ['Exp']): void {
  settings = {
    threads: opts.threads,
    minElements: opts.minElements ?? DEFAULT_SPLIT_MIN_ELEMENTS,
    choose: opts.choose ?? 'measured',
    workerSource: opts.workerSource ?? WORKER_SOURCE,
  };
  if (!restore) {
    restore = new Map();
    for (const name of kernels) {
      const undo = overrideWasmKernel(name, splitKernel(name));
      if (undo) restore.set(name, undo);
    }
  }
  const backend = backendInstance<WasmBackendLike>('wasm');
  if (backend) ensurePool(backend);
}

/** Puts back the stock kernels. The workers stay (idle, unref'd) for a later enable; {@link stopSplitWorkers} ends them. */
export function disableSplitUnary(): void {
  if (!restore) return;
  for (const undo of restore.values()) undo();
  restore = null;
}

/** Ends the workers (and forgets why they failed, if they did). */
export function stopSplitWorkers(): void {
  pool?.stop();
  pool = null;
  failure = '';
}

/**
 * {@link SPLIT_UNARY_ENV}: off keeps the one-thread stock Exp; split splits every large call
 * (benchmarks); unset, empty or auto = the measured choice per call.
 */
export const SPLIT_UNARY_ENV = 'LORA_STUDY_WASM_SPLIT';

/** {@link SPLIT_UNARY_ENV}'s mode; any other value is an error (checked before a backend starts, so that it is reported). */
export function resolveSplitUnaryMode(env: NodeJS.ProcessEnv = process.env): 'auto' | 'split' | 'off' {
  return resolveEnvMode(env, SPLIT_UNARY_ENV, ['auto', 'split', 'off'], 'unset it to split large Exp calls across wasm instances when that is measured faster');
}

/** Registers the split Exp as {@link SPLIT_UNARY_ENV} says (native-ops.ts calls this with the native ops). */
export function applySplitUnary(threads: number, env: NodeJS.ProcessEnv = process.env): void {
  const mode = resolveSplitUnaryMode(env);
  if (mode === 'off' || threads < 2) disableSplitUnary();
  else enableSplitUnary({ threads, choose: mode === 'split' ? 'split' : 'measured' });
}

/** For the device string: ", Exp on N wasm instances" when the split is registered. */
export function describeSplitUnary(): string {
  const s = splitUnaryStatus();
  const wasm = (tf.findBackend('wasm') as unknown as WasmBackendLike | null)?.wasm;
  if (s.state === 'off' || !wasm || !mainIsSingleThreadedWasm({ wasm } as WasmBackendLike)) return '';
  return `, ${s.kernels.join('/')} split over ${s.threads} wasm instances${settings.choose === 'measured' ? ' when faster' : ''}`;
}


/** What the split kernels are doing now, for the device string and tests. */
export interface SplitUnaryStatus {
  kernels: string[];
  threads: number;
  state: 'idle' | 'starting' | 'ready' | 'failed' | 'off';
  reason: string;
  /** Split calls so far, and the chunks the workers computed in them. */
  calls: number;
  workerChunks: number;
  /** Large calls the measured choice gave to the stock kernel. */
  stockCalls: number;
}

export function splitUnaryStatus(): SplitUnaryStatus {
  const none = { reason: '', calls: 0, workerChunks: 0, stockCalls: 0 };
  if (!restore) return { kernels: [], threads: 1, state: 'off', ...none };
  const kernels = [...restore.keys()];
  if (failure) return { kernels, threads: settings.threads, state: 'failed', ...none, reason: failure };
  if (!pool) return { kernels, threads: settings.threads, state: 'idle', ...none };
  if (pool.state === 'starting') pool.usable();
  return { kernels, threads: settings.threads, state: pool.state, reason: pool.reason, calls: pool.calls, workerChunks: pool.workerChunks, stockCalls: pool.chooser.stock };
}
