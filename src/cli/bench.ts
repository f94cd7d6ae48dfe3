import type { Command } from 'commander';
import { NATIVE_MATMUL_HELP, resolveNativeMatmulMode, type NativeMatmulMode } from '../engine/native-matmul.js';
import { initEngine } from '../engine/backend.js';
import type { BackendRequest } from '../engine/types.js';
import { PEER_REPEATS, runBench, type BenchReport, type BenchShapeResult } from '../evaluation/bench.js';
import { BENCH_SHAPES, benchShapesDocument } from '../evaluation/bench-shapes.js';
import { PEER_PYTHON_CANDIDATES } from '../evaluation/bench-peer.js';
import { formatBenchGoals } from './format-bench-goals.js';
import { formatBytes, formatCount, formatPercent } from '../reporting/format.js';
import { formatTextTable } from '../reporting/text-table.js';
import { createLogger } from '../util/logger.js';
import { FLAG_SCHEMAS, numberFlag } from './numeric-flag.js';
import { printJson, runCommand } from './run-command.js';

interface Opts {
  backend: BackendRequest;
  threads?: number;
  nativeMatmul?: NativeMatmulMode;
  quick?: boolean;
  steps?: number;
  json?: boolean;
  peer?: string | true;
  peerRepeats?: number;
  printShapes?: boolean;
}

const f1 = (x: number) => x.toFixed(1);

/** The bench table: one row per shape (and per matmul kernel set), then the matmul and BLAS references and the machine. */
export function formatBench(r: BenchReport): string {
  const kernels = (s: BenchShapeResult) => (s.matmulKernels === 'native' ? `native ${r.engine.nativeMatmul?.detail.split(',')[0] ?? ''}`.trim() : r.engine.backend);
  const row = (s: BenchShapeResult) => [
    s.name,
    formatCount(s.params),
    `${s.batchSize}×${s.seqLen}`,
    kernels(s),
    f1(s.trainTokensPerS),
    formatBytes(s.peakRssBytes),
    s.samplesPerS.toFixed(2),
    `${f1(s.msPerStep)} (${f1(s.msFwdBwd)} + ${f1(s.msOptimizer)})`,
    formatBytes(s.peakTfjsBytes),
    `${formatBytes(s.baseWeightBytes)} / ${formatBytes(s.loraWeightBytes)} / ${formatBytes(s.optimizerBytes)}`,
    f1(s.achievedGflops),
    formatPercent(s.matmulRatio),
    f1(s.genTokensPerS),
  ];
  const rows = [...r.shapes, ...(r.stock?.shapes ?? [])].map(row);
  const table = formatTextTable(
    ['shape', 'params', 'batch', 'matmul', 'train tok/s', 'peak RSS', 'samples/s', 'ms/step (fwd+bwd + opt)', 'peak tfjs', 'base / LoRA / optim', 'GFLOP/s', 'of matmul', 'gen tok/s'],
    rows,
  );
  const m = r.matmul;
  const lines = [
    `${r.engine.backend} on ${r.engine.device}; ${r.cores} cores, load average ${r.loadAverage.toFixed(2)} at start` +
      (r.othersBusyCores === null ? '' : ` (other processes: ${r.othersBusyCores.toFixed(2)} cores busy just before)`),
    `plain matmul ${m.m}×${m.k}×${m.n}: ${f1(m.gflops)} GFLOP/s (median of ${m.iters})${r.stock ? `; stock wasm kernels ${f1(r.stock.matmul.gflops)} GFLOP/s` : ''}`,
  ];
  if (r.engine.nativeMatmul && !r.engine.nativeMatmul.used) lines.push(`native matmul not used: ${r.engine.nativeMatmul.detail}`);
  const b = r.blasPeak;
  const note = b.ok && b.reference ? ' — the unoptimised reference BLAS, not the machine\'s peak (install libopenblas0-pthread for one)' : '';
  lines.push(b.ok ? `BLAS peak (numpy ${b.numpyConfig}, ${b.n}³ fp32, ${b.threads} threads, ${b.library}): ${f1(b.gflops)} GFLOP/s${note}` : `BLAS peak: ${b.reason}`);
  if (r.stock) {
    const speedups = r.shapes.map((s, i) => `${s.name} ${(s.trainTokensPerS / r.stock!.shapes[i].trainTokensPerS).toFixed(2)}×`);
    // The stock rows share this process's wasm pool, which is 1 thread beside the native kernels (load-wasm.ts).
    const pool = r.engine.threads > 1 && /wasm SIMD, 1 thread/.test(r.engine.device)
      ? ` (stock rows on this process's 1-thread wasm pool; --native-matmul off runs them on ${r.engine.threads} wasm threads)`
      : '';
    lines.push(`native / stock wasm train tok/s: ${speedups.join(', ')}${pool}`);
  }
  return [
    ...lines,
    '',
    table,
    '',
    formatBenchGoals(r),
    '',
    `timed steps exclude the first two (warm-up); peak RSS is the process high-water after each row (later rows include earlier ones: run --native-matmul on / off separately for separate figures); wall ${r.wallTimeS.toFixed(1)} s`,
  ].join('\n');
}

export function register(program: Command): void {
  program
    .command('bench')
    .description('LoRA training and generation speed on fixed model shapes (tiny llama, GPT-2 small 124M) against the backend\'s matmul rate')
    .option('--backend <name>', 'auto|tensorflow|webgpu|wasm|cpu', 'auto')
    .option('--threads <n>', 'wasm threads (int, default: cores)', numberFlag('--threads', FLAG_SCHEMAS.threads))
    .option('--native-matmul <mode>', NATIVE_MATMUL_HELP)
    .option('--quick', `only the ${BENCH_SHAPES[0].name} shape and 3 matmul repetitions (seconds, not minutes)`)
    .option('--steps <n>', 'training steps per shape, at least 3 (int, default: per shape)', numberFlag('--steps', FLAG_SCHEMAS.benchSteps))
    .option('--peer [python]', `after our rows, train every shape with PyTorch (scripts/bench-torch-peer.py, own process, same threads) and print the ratio; python: an interpreter with torch, default auto (${PEER_PYTHON_CANDIDATES.join(', then ')})`)
    .option('--peer-repeats <n>', `runs of the PyTorch peer per shape; the fastest is compared (int, default ${PEER_REPEATS})`, numberFlag('--peer-repeats', FLAG_SCHEMAS.positive))
    .option('--print-shapes', 'print the shapes and optimiser settings as JSON (what the PyTorch peer script reads) and exit')
    .option('--json', 'print one JSON document with every figure')
    .action(async (opts: Opts) => {
      await runCommand('bench', opts, async () => {
        if (opts.printShapes) {
          printJson(benchShapesDocument(opts.quick ? BENCH_SHAPES.slice(0, 1) : BENCH_SHAPES));
          return;
        }
        const logger = createLogger();
        const nativeMatmul = resolveNativeMatmulMode(opts.nativeMatmul, process.env, 'auto');
        const engine = await initEngine({ backend: opts.backend, threads: opts.threads, nativeMatmul, logger });
        const compareStock = nativeMatmul === 'auto';
        const report = await runBench({ engine, compareStock, shapes: opts.quick ? BENCH_SHAPES.slice(0, 1) : BENCH_SHAPES, steps: opts.steps, matmulIters: opts.quick ? 3 : 10, logger,
          peerPython: opts.peer === true ? 'auto' : opts.peer, peerRepeats: opts.peerRepeats });
        if (opts.json) printJson(report);
        else process.stdout.write(`${formatBench(report)}\n`);
      });
    });
}
