/**
 * Benchmark of base-weight quantization on the local backends.
 *
 *   npx tsx scripts/bench-quantize.ts [--backends wasm,cpu] [--rows 768] [--cols 3072] [--reps 7] [--threads N] [--json]
 *
 * For each backend and format: resident bytes (and ratio to float32), host quantize time,
 * dequantize time (median of --reps after one warm-up),
 * the extra peak of distinct backend buffers during one dequantize,
 * and the RMS relative error on normal(0, 0.02) weights. cpu, wasm and tensorflow execute ops
 * synchronously, so timing the `dequantize()` call times the kernels without a read-back.
 */
import * as tf from '@tensorflow/tfjs-core';
import { parseArgs } from 'node:util';
import { initEngine } from '../src/engine/backend.js';
import type { BackendName } from '../src/engine/types.js';
import { mulberry32 } from '../src/util/random.js';
import { quantizeWeight } from '../src/lora/quantize/quantize-weight.js';
import { QUANT_FORMATS, type QuantFormat } from '../src/lora/quantize/types.js';

interface Row {
  backend: string;
  device: string;
  format: QuantFormat;
  residentBytes: number;
  ratio: number;
  quantizeMs: number;
  dequantizeMs: number;
  dequantizePeakExtraBytes: number;
  rmsRelativeError: number;
}

const { values: args } = parseArgs({
  options: {
    backends: { type: 'string', default: 'wasm,cpu' },
    rows: { type: 'string', default: '768' },
    cols: { type: 'string', default: '3072' },
    reps: { type: 'string', default: '7' },
    threads: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});

/** Seeded normal(0, std) weights (mulberry32 + Box-Muller), so every run measures the same matrix. */
function normalWeights(n: number, seed: number, std = 0.02): Float32Array {
  const next = mulberry32(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = std * Math.sqrt(-2 * Math.log(Math.max(next(), 1e-12))) * Math.cos(2 * Math.PI * next());
  return out;
}

/**
 * Peak of distinct backend buffers allocated while `run` executes. `tf.memory().numBytes` (and
 * `tf.profile`) count a reshape view's bytes again though it shares its input's buffer, so they
 * overstate real memory; here tensors are counted once per data buffer (dataId), by wrapping the
 * engine's tensor bookkeeping for the duration of `run`.
 */
function peakExtraBytes(run: () => void): number {
  type Tracked = { dataId: object; size: number; dtype: tf.DataType };
  const engine = tf.engine() as unknown as {
    trackTensor: (a: Tracked, backend: unknown) => void;
    disposeTensor: (a: Tracked) => void;
  };
  const live = new Map<object, { bytes: number; refs: number }>();
  let current = 0;
  let peak = 0;
  const { trackTensor, disposeTensor } = engine;
  engine.trackTensor = function (this: unknown, a: Tracked, backend: unknown) {
    trackTensor.call(this, a, backend);
    const entry = live.get(a.dataId);
    if (entry) entry.refs++;
    else {
      const bytes = a.dtype === 'string' ? 0 : a.size * 4;
      live.set(a.dataId, { bytes, refs: 1 });
      current += bytes;
      peak = Math.max(peak, current);
    }
  };
  engine.disposeTensor = function (this: unknown, a: Tracked) {
    disposeTensor.call(this, a);
    const entry = live.get(a.dataId);
    if (entry && --entry.refs === 0) {
      live.delete(a.dataId);
      current -= entry.bytes;
    }
  };
  try {
    run();
  } finally {
    engine.trackTensor = trackTensor;
    engine.disposeTensor = disposeTensor;
  }
  return peak;
}

function median(xs: number[]): number {
  const s = [...xs].sort((p, q) => p - q);
  return s[Math.floor(s.length / 2)];
}

async function benchBackend(backend: BackendName, data: Float32Array, shape: [number, number], reps: number): Promise<Row[]> {
  const info = await initEngine({ backend, threads: args.threads ? Number(args.threads) : undefined });
  const rows: Row[] = [];
  quantizeWeight({ shape: [8, 64], data: data.subarray(0, 512) }, 'nf4').dispose(); // warm-up
  for (const format of QUANT_FORMATS) {
    const t0 = performance.now();
    const q = quantizeWeight({ shape, data }, format);
    const quantizeMs = performance.now() - t0;

    const dequantizePeakExtraBytes = peakExtraBytes(() => tf.tidy(() => void q.dequantize()));

    const deq = tf.tidy(() => q.dequantize().dataSync() as Float32Array); // also the warm-up
    let num = 0;
    let den = 0;
    for (let i = 0; i < data.length; i++) {
      num += (deq[i] - data[i]) ** 2;
      den += data[i] ** 2;
    }

    const times: number[] = [];
    for (let r = 0; r < reps; r++) {
      const s = performance.now();
      tf.tidy(() => {
        q.dequantize();
      });
      times.push(performance.now() - s);
    }
    rows.push({
      backend: info.backend,
      device: info.device,
      format,
      residentBytes: q.residentBytes(),
      ratio: q.residentBytes() / (data.length * 4),
      quantizeMs,
      dequantizeMs: median(times),
      dequantizePeakExtraBytes,
      rmsRelativeError: Math.sqrt(num / den),
    });
    q.dispose();
  }
  return rows;
}

const shape: [number, number] = [Number(args.rows), Number(args.cols)];
const data = normalWeights(shape[0] * shape[1], 42);
const results: Row[] = [];
for (const backend of args.backends.split(',') as BackendName[]) {
  results.push(...(await benchBackend(backend, data, shape, Number(args.reps))));
}

if (args.json) {
  process.stdout.write(`${JSON.stringify({ shape, results }, null, 2)}\n`);
} else {
  const mib = (b: number): string => (b / 2 ** 20).toFixed(3);
  console.log(`weight [${shape.join(', ')}], float32 ${mib(data.length * 4)} MiB\n`);
  console.log('| backend (device) | format | resident MiB | ratio | bits/weight | quantize ms | dequantize ms | peak extra MiB | RMS rel. error |');
  console.log('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of results) {
    console.log(
      `| ${r.backend} (${r.device}) | ${r.format} | ${mib(r.residentBytes)} | ${r.ratio.toFixed(4)} | ${(r.ratio * 32).toFixed(3)} | ` +
        `${r.quantizeMs.toFixed(1)} | ${r.dequantizeMs.toFixed(1)} | ${mib(r.dequantizePeakExtraBytes)} | ${r.rmsRelativeError.toFixed(5)} |`,
    );
  }
}
