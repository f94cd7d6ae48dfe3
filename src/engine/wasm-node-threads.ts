import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

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
 *    hyper-threads per core), which leaves a 2-vCPU machine with 1 thread whatever is asked.
 * `restore()` puts every global back; `unrefWorkers()` stops the idle pthread workers from
 * keeping the process alive. Tied to the 4.22.0 bundle layout: if it changes, init fails and the
 * caller falls back to the single-threaded build.
 */
export interface ThreadShim {
  restore(): void;
}

const MAIN_SCRIPT_MARKER = 'var WasmBackendModuleThreadedSimd';
// The factory's source is cut out of the Node bundle, which imports these under rollup's names.
const BUNDLE_ALIASES =
  'var require$$0=require("fs"),require$$1=require("path"),require$$3=require("perf_hooks"),' +
  'require$$4=require("os"),commonjsGlobal=globalThis;\n';

let tempDir: string | null = null;

function scratchDir(): string {
  if (tempDir === null) {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'lora-study-wasm-'));
    tempDir = dir;
    // Workers read these files when they start; pool growth can start one late, so keep them until exit.
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  return tempDir;
}

export function installThreadShim(threads: number): ThreadShim {
  const dir = scratchDir();
  const mainPath = path.join(dir, 'tfjs-backend-wasm-threaded-simd.main.cjs');
  const workerPath = path.join(dir, 'tfjs-backend-wasm-threaded-simd.worker.cjs');

  const OriginalBlob = globalThis.Blob;
  const originalCreateObjectURL = URL.createObjectURL;
  const originalCpus = os.cpus;

  class TextKeepingBlob extends OriginalBlob {
    readonly text_: string | null;
    constructor(parts?: BlobPart[], options?: BlobPropertyBag) {
      super(parts, options);
      this.text_ = parts !== undefined && parts.every((p) => typeof p === 'string') ? parts.join('') : null;
      if (this.text_?.startsWith(MAIN_SCRIPT_MARKER)) writeFileSync(mainPath, BUNDLE_ALIASES + this.text_);
    }
  }

  globalThis.Blob = TextKeepingBlob as typeof Blob;
  URL.createObjectURL = (obj: Blob) => {
    if (obj instanceof TextKeepingBlob && obj.text_ !== null && !obj.text_.startsWith(MAIN_SCRIPT_MARKER)) {
      const redirect = `\nURL.createObjectURL=function(){return ${JSON.stringify(mainPath)}};URL.revokeObjectURL=function(){};\n`;
      writeFileSync(workerPath, obj.text_ + redirect);
      return workerPath;
    }
    return originalCreateObjectURL(obj);
  };
  const wanted = Math.max(1, threads);
  os.cpus = () => {
    const real = originalCpus();
    return Array.from({ length: 2 * wanted }, (_, i) => real[i % real.length]);
  };

  return {
    restore() {
      globalThis.Blob = OriginalBlob;
      URL.createObjectURL = originalCreateObjectURL;
      os.cpus = originalCpus;
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
