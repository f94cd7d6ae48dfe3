// Compares the native Exp (or Log) of lora-study-native's exact_libm addon (glibc's non-FMA
// __expf_sse2 / __logf_sse2, native/sgemm/src/libm_exact.cc) with the stock wasm kernel on every
// float32 bit pattern in a range, 2^24 at a time, and prints the mismatches (any NaN equals any
// NaN; NaNs whose bits differ are counted apart). The engine registers the native Exp only after a
// ~65K-input probe (src/engine/native-libm.ts); this is the exhaustive version, for a new machine
// or C library.
//   npx tsx scripts/check-native-libm.ts                         # Exp on all 2^32 inputs
//   npx tsx scripts/check-native-libm.ts --kernel Log            # Log on all 2^32 inputs
//   npx tsx scripts/check-native-libm.ts --from 0 --to 0x42b20000   # bit patterns [from, to)
import os from 'node:os';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from '../src/engine/backend.js';
import { compareLibm, LIBM_OPS, loadNativeLibm, type LibmKernel } from '../src/engine/native-libm.js';
import type { WasmHeapBackend } from '../src/engine/wasm-heap.js';

const { values } = parseArgs({
  options: {
    kernel: { type: 'string', default: 'Exp' },
    from: { type: 'string', default: '0' },
    to: { type: 'string', default: '0x100000000' },
  },
});
const kernel = values.kernel as LibmKernel;
if (!(kernel in LIBM_OPS)) throw new Error(`--kernel must be one of ${Object.keys(LIBM_OPS).join(', ')}; got ${values.kernel}`);
const from = Number(values.from);
const to = Number(values.to);
if (!(Number.isInteger(from) && Number.isInteger(to) && 0 <= from && from < to && to <= 2 ** 32)) {
  throw new Error(`--from/--to must be integers with 0 <= from < to <= 2^32; got ${values.from}, ${values.to}`);
}
const load = loadNativeLibm();
if (!load.ok) throw new Error(load.reason);
// The stock kernels: no native kernels registered, so tf.getKernel(kernel, 'wasm') is the wasm one.
await initEngine({ backend: 'wasm', threads: 1, nativeMatmul: 'off' });
const stock = tf.getKernel(kernel, 'wasm');
const backend = tf.findBackend('wasm') as unknown as WasmHeapBackend;
if (!stock || !backend) throw new Error('the wasm backend did not start');
load.addon.setThreads(1);
console.log(`${kernel}: native (glibc non-FMA) vs stock wasm kernel, bit patterns [0x${from.toString(16)}, 0x${to.toString(16)}); load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
const CHUNK = 1 << 24;
const bits = new Uint32Array(CHUNK);
let mismatches = 0;
let nanBitsDiffer = 0;
const t0 = performance.now();
for (let start = from; start < to; start += CHUNK) {
  const n = Math.min(CHUNK, to - start);
  for (let i = 0; i < n; i++) bits[i] = start + i;
  const r = compareLibm(load.addon, backend, kernel, stock.kernelFunc, new Float32Array(bits.buffer, 0, n), 20);
  mismatches += r.mismatches;
  nanBitsDiffer += r.nanBitsDiffer;
  for (const e of r.examples) console.log(`mismatch: x=${e.x} (${e.bits}) native ${e.native} stock ${e.stock}`);
  const done = start + n - from;
  if ((start / CHUNK) % 32 === 31 || start + n >= to) {
    console.error(`${((100 * done) / (to - from)).toFixed(1)}% (${done} inputs, ${((performance.now() - t0) / 1000).toFixed(0)} s): ${mismatches} mismatches`);
  }
}
console.log(`${kernel}: ${to - from} inputs [0x${from.toString(16)}, 0x${to.toString(16)}): ${mismatches} mismatches, ${nanBitsDiffer} NaN results with other NaN bits (${((performance.now() - t0) / 1000).toFixed(0)} s; load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')})`);
process.exitCode = mismatches === 0 ? 0 : 1;
