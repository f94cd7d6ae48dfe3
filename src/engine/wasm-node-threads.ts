import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Worker as NodeWorker } from 'node:worker_threads';
import { writeFileAtomicSync } from '../util/atomic-write.js';
import { isPidAlive } from '../util/stale-temps.js';

/**
 * Lets tfjs-backend-wasm 4.22 start its threaded SIMD build under Node.
 *
 * Why this exists: the backend's `WASM_HAS_MULTITHREAD_SUPPORT` flag answers false whenever
 * `IS_NODE` (tfjs issue #3830; the fix, PR #8059, was closed unmerged), so stock Node gets the
 * single-threaded SIMD build. Forcing the flag alone fails with `ERR_WORKER_PATH`: the backend
 * hands Emscripten `blob:` URLs for the pthread worker and for its main script, and Node's
 * `worker_threads` only start workers from files. While the backend initialises, this shim:
 *  - swaps `Blob` for a subclass that keeps its string parts, and writes the main script blob
 *    (`var WasmBackendModuleThreadedSimd = <factory source>`) to a temp `.cjs` file, prefixed with
 *    the bundler aliases (`require$$0` = fs, ...) that the factory source refers to;
 *  - makes `URL.createObjectURL` write the worker blob to a `.cjs` file and return its path, with
 *    one added line so that the worker resolves the main script blob to that file too;
 *  - pads `os.cpus()`, because backend.cc caps threads at logical cores / 2 (it assumes two
 *    hyper-threads per core), which leaves a 2-vCPU machine with 1 thread whatever is asked;
 *  - records the pthread workers Emscripten starts, so that a start that hangs can stop them.
 * Each distinct script is written once per process, to a file of its own, by temp file + rename:
 * Emscripten asks for the worker script once per worker while the workers started before are
 * still reading it, and a worker that read a half-rewritten file never reported back (the start
 * hung and Node exited 13 on the unsettled top-level await, printing nothing).
 * `restore()` puts every global back; `unrefWorkers()` stops the idle pthread workers from
 * keeping the process alive. Tied to the 4.22.0 bundle layout: if it changes, init fails and the
 * caller falls back to the single-threaded build.
 */
export interface ThreadShim {
  /** The pthread workers started while the shim was installed. */
  readonly workers: readonly NodeWorker[];
  restore(): void;
}

const MAIN_SCRIPT_MARKER = 'var WasmBackendModuleThreadedSimd';
// The factory's source is cut out of the Node bundle, which imports these under rollup's names.
const BUNDLE_ALIASES =
  'var require$$0=require("fs"),require$$1=require("path"),require$$3=require("perf_hooks"),' +
  'require$$4=require("os"),commonjsGlobal=globalThis;\n';

/** Temp folders are `lora-study-wasm-<pid>-<random>`, so that a later start can tell whose they are. */
export const SCRATCH_PREFIX = 'lora-study-wasm-';
const OWNER_FILE = 'owner.json';
/** Folders without an owner (older versions, or a crash before it was written) go once this old. */
const UNOWNED_MAX_AGE_MS = 24 * 3600_000;

let tempDir: string | null = null;
/** Script text → the file that holds it. */
const written = new Map<string, string>();

function readOwner(dir: string): { pid: number; host: string } | null {
  try {
    const owner = JSON.parse(readFileSync(path.join(dir, OWNER_FILE), 'utf8')) as { pid?: unknown; host?: unknown };
    return typeof owner.pid === 'number' && typeof owner.host === 'string' ? { pid: owner.pid, host: owner.host } : null;
  } catch {
    return null;
  }
}

/**
 * Removes the shim's temp folders left by processes that are gone (killed before their exit
 * handler ran). A folder is only removed when its owner ran on this host and is not alive, or,
 * with no owner recorded, when it is over a day old. Returns the folders removed.
 */
export function removeStaleScratchDirs(tmp: string = os.tmpdir(), now: number = Date.now()): string[] {
  let names: string[];
  try {
    names = readdirSync(tmp);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    if (!name.startsWith(SCRATCH_PREFIX)) continue;
    const dir = path.join(tmp, name);
    if (dir === tempDir) continue;
    try {
      const owner = readOwner(dir);
      const stale = owner
        ? owner.host === os.hostname() && owner.pid !== process.pid && !isPidAlive(owner.pid)
        : now - statSync(dir).mtimeMs > UNOWNED_MAX_AGE_MS;
      if (!stale) continue;
      rmSync(dir, { recursive: true, force: true });
      removed.push(dir);
    } catch {
      // Another process removed it first, or it is not ours to remove: leave it.
    }
  }
  return removed;
}

/** This process's temp folder: created on first use, removed when the process exits. */
export function scratchDir(): string {
  if (tempDir === null) {
    removeStaleScratchDirs();
    const dir = mkdtempSync(path.join(os.tmpdir(), `${SCRATCH_PREFIX}${process.pid}-`));
    writeFileSync(path.join(dir, OWNER_FILE), JSON.stringify({ pid: process.pid, host: os.hostname() }));
    tempDir = dir;
    // Workers read these files when they start; pool growth can start one late, so keep them until exit.
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  return tempDir;
}

/** Writes `text` to a file of its own, once per process; later calls return the same path. */
function scriptFile(kind: string, text: string): string {
  const known = written.get(text);
  if (known !== undefined) return known;
  const file = path.join(scratchDir(), `tfjs-backend-wasm-threaded-simd.${kind}.${written.size}.cjs`);
  writeFileAtomicSync(file, text);
  written.set(text, file);
  return file;
}

export function installThreadShim(threads: number): ThreadShim {
  const OriginalBlob = globalThis.Blob;
  const originalCreateObjectURL = URL.createObjectURL;
  const originalCpus = os.cpus;
  const originalWorker = Object.getOwnPropertyDescriptor(globalThis, 'Worker');
  const workers: NodeWorker[] = [];
  let mainPath: string | null = null;

  class TextKeepingBlob extends OriginalBlob {
    readonly text_: string | null;
    constructor(parts?: BlobPart[], options?: BlobPropertyBag) {
      super(parts, options);
      this.text_ = parts !== undefined && parts.every((p) => typeof p === 'string') ? parts.join('') : null;
      if (this.text_?.startsWith(MAIN_SCRIPT_MARKER)) mainPath = scriptFile('main', BUNDLE_ALIASES + this.text_);
    }
  }

  globalThis.Blob = TextKeepingBlob as typeof Blob;
  URL.createObjectURL = (obj: Blob) => {
    if (obj instanceof TextKeepingBlob && obj.text_ !== null && !obj.text_.startsWith(MAIN_SCRIPT_MARKER)) {
      const redirect =
        mainPath === null
          ? ''
          : `\nURL.createObjectURL=function(){return ${JSON.stringify(mainPath)}};URL.revokeObjectURL=function(){};\n`;
      return scriptFile('worker', obj.text_ + redirect);
    }
    return originalCreateObjectURL(obj);
  };
  const wanted = Math.max(1, threads);
  os.cpus = () => {
    const real = originalCpus();
    return Array.from({ length: 2 * wanted }, (_, i) => real[i % real.length]);
  };
  // Emscripten sets `globalThis.Worker = worker_threads.Worker` and then starts its pool with
  // `new Worker(file)`: hand it a subclass that records each worker.
  let workerClass: (new (...args: never[]) => NodeWorker) | undefined;
  Object.defineProperty(globalThis, 'Worker', {
    configurable: true,
    get: () => workerClass,
    set: (Base: new (file: string, options?: object) => NodeWorker) => {
      workerClass = class RecordedWorker extends Base {
        constructor(file: string, options?: object) {
          super(file, options);
          workers.push(this);
        }
      } as never;
    },
  });

  return {
    workers,
    restore() {
      globalThis.Blob = OriginalBlob;
      URL.createObjectURL = originalCreateObjectURL;
      os.cpus = originalCpus;
      // Keep the class Emscripten installed (it starts more workers when the pool grows), unrecorded.
      delete (globalThis as { Worker?: unknown }).Worker;
      if (workerClass !== undefined) {
        (globalThis as { Worker?: unknown }).Worker = Object.getPrototypeOf(workerClass);
      } else if (originalWorker !== undefined) {
        Object.defineProperty(globalThis, 'Worker', originalWorker);
      }
    },
  };
}

interface EmscriptenPThread {
  unusedWorkers: { unref(): void }[];
  runningWorkers: { unref(): void }[];
}

/** Idle pthread workers would otherwise keep Node from exiting when the program is done. */
export function unrefWorkers(wasmModule: unknown): void {
  const pthread = (wasmModule as { PThread?: EmscriptenPThread } | undefined)?.PThread;
  if (!pthread) return;
  for (const w of [...pthread.unusedWorkers, ...pthread.runningWorkers]) w.unref();
}
