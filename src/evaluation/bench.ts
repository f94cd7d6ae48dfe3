import os from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import { measureMatmulGflops, type MatmulPeak, type MatmulShape } from '../engine/matmul-peak.js';
import { backendGpuBytes, peakRssBytes, queryGpuMemory } from '../engine/memory.js';
import { quantizeBase } from '../lora/quantize/quantize-base.js';
import { applyNativeMatmul, nativeMatmulEnabled } from '../engine/native-matmul.js';
import { measureBlasPeak, type BlasPeak } from './blas-peak.js';
import { benchGoalRows, type BenchGoalRow } from './bench-goals.js';
import { resolvePeerPython, runTorchPeer, type PeerOutcome } from './bench-peer.js';
import { othersBusyCores } from './cpu-contention.js';
import type { EngineInfo } from '../engine/types.js';
import { injectLora } from '../lora/inject.js';
import { loraConfigSchema } from '../lora/lora-config.js';
import type { CausalLM } from '../model/causal-lm.js';
import { train, type StepRecord } from '../training/trainer.js';
import { Rng } from '../util/random.js';
import { silentLogger, type Logger } from '../util/logger.js';
import { BENCH_SHAPES, BENCH_TRAIN, buildRandomModel, type BenchShape } from './bench-shapes.js';
import { trainingFlopsPerToken } from './flops.js';
import { generate } from './generate.js';
import { countParameters } from './param-count.js';

/** The matmul every shape's achieved FLOP/s is compared with: square 512, as run MFU uses. */
export const BENCH_MATMUL: MatmulShape = { m: 512, k: 512, n: 512 };

export interface BenchShapeResult {
  name: string;
  modelType: string;
  params: number;
  trainableParams: number;
  batchSize: number;
  seqLen: number;
  /** Steps run / steps timed (the warm-up ones are left out). */
  steps: number;
  timedSteps: number;
  trainTokensPerS: number;
  samplesPerS: number;
  msPerStep: number;
  msFwdBwd: number;
  msOptimizer: number;
  /** Highest tfjs bytes during a training step (tf.profile). */
  peakTfjsBytes: number;
  baseWeightBytes: number;
  loraWeightBytes: number;
  optimizerBytes: number;
  /** Model FLOPs of one trained token (flops.ts: forward + backward, LoRA). */
  trainFlopsPerToken: number;
  achievedGflops: number;
  /** achievedGflops / the backend's plain matmul GFLOP/s measured in the same run. */
  matmulRatio: number;
  genTokensPerS: number;
  /** Final training loss, to show the step did real work (about ln(vocab) on random weights). */
  lastLoss: number;
  /** Base-weight precision the shape trained on. */
  quantization: string;
  /** webgpu: bytes its GPU buffer pool holds after training (the pool only grows: its high-water mark). */
  gpuPoolBytes?: number;
  /** nvidia-smi's used memory on GPU 0 after training (every process on the card), where present. */
  gpuUsedBytesSmi?: number;
  /** Matmul kernels the row ran on: `native` (the SGEMM addon) or the backend's own. */
  matmulKernels: 'native' | 'backend';
  /** The process's peak RSS after this row (a high-water mark: wasm memory never shrinks, so it includes earlier rows). */
  peakRssBytes: number;
}

export interface BenchReport {
  engine: EngineInfo;
  cores: number;
  /** 1-minute load average when the run started: other processes share the cores. */
  loadAverage: number;
  /** Cores' worth of CPU other processes used just before our rows (cpu-contention.ts); null off Linux. */
  othersBusyCores: number | null;
  matmul: MatmulPeak;
  shapes: BenchShapeResult[];
  /** wasm with the native matmul: the same shapes again on the stock wasm kernels (after the native rows). */
  stock?: { matmul: MatmulPeak; shapes: BenchShapeResult[] };
  /** The machine's BLAS rate (numpy 1024³ fp32), or why it could not be measured. */
  blasPeak: BlasPeak;
  /** With `--peer`: PyTorch's run of every shape (scripts/bench-torch-peer.py), after all of ours. */
  peer?: BenchPeer;
  /** Issue 12's goals per row (ours, then the stock rows): ratio to the peer, share of the BLAS peak, peak RSS of both. */
  goals: BenchGoalRow[];
  peakRssBytes: number;
  wallTimeS: number;
}

/** The PyTorch peer's runs, each in its own process, or why there are none. */
export type BenchPeer = {
  python: string;
  /**
   * Per shape, the fastest of its repeated runs (PyTorch's OpenMP threads spin-wait, and one run in
   * a few comes out several times slower than the others: judging against the fastest never
   * flatters us). `repeatMsPerStep`: every successful run's ms/step, in order; `loadAverage` and
   * `othersBusyCores`: the highest just before any of them.
   */
  runs: Array<PeerOutcome & { loadAverage: number; othersBusyCores: number | null; repeatMsPerStep: number[] }>;
} | { reason: string };

export interface BenchParams {
  engine: EngineInfo;
  shapes?: readonly BenchShape[];
  /** Overrides every shape's step count (at least 3: two warm-up steps and one timed). */
  steps?: number;
  /** Timed matmul repetitions (median reported). Default 10. */
  matmulIters?: number;
  /** With the native matmul in use: also run every shape on the stock wasm kernels. Default true. */
  compareStock?: boolean;
  /** Measure the BLAS peak with numpy (default true). */
  blasPeak?: boolean;
  /** Run the PyTorch peer of every shape with this python (`auto`: the first with torch); default: no peer. */
  peerPython?: string;
  /** Runs of the peer per shape, the fastest reported (default {@link PEER_REPEATS}). */
  peerRepeats?: number;
  logger?: Logger;
}

/** Random token sequences with every position labelled: a pure throughput workload. */
function syntheticExamples(shape: BenchShape, vocab: number, count: number): Array<{ input_ids: number[]; labels: number[] }> {
  const rng = new Rng(1);
  return Array.from({ length: count }, () => {
    const ids = Array.from({ length: shape.seqLen }, () => rng.int(vocab));
    return { input_ids: ids, labels: ids };
  });
}

/** Steps left out of speed figures: the first (kernel set-up) and the trainer's second profiled one. */
function timedSteps(steps: StepRecord[]): StepRecord[] {
  return steps.length > 2 ? steps.slice(2) : steps.slice(-1);
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

async function measureGeneration(model: CausalLM, shape: BenchShape, vocab: number): Promise<number> {
  const rng = new Rng(2);
  const g = shape.generation;
  const prompts = Array.from({ length: g.batchSize }, () => Array.from({ length: g.promptLen }, () => rng.int(vocab)));
  const opts = { eosTokenId: null, padTokenId: 0 };
  await generate(model, prompts, { ...opts, maxNewTokens: 2 }); // warm-up: kernel set-up
  return (await generate(model, prompts, { ...opts, maxNewTokens: g.newTokens })).tokensPerS;
}

/** Trains a few LoRA steps on one shape and generates with it; the model is released after. */
export async function benchShape(shape: BenchShape, matmulGflops: number, opts: { steps?: number; logger?: Logger } = {}): Promise<BenchShapeResult> {
  const logger = opts.logger ?? silentLogger;
  const steps = Math.max(3, opts.steps ?? shape.steps);
  const bytes0 = tf.memory().numBytes;
  const model = buildRandomModel(shape);
  try {
    if (shape.quantization && shape.quantization !== 'fp32') quantizeBase(model, shape.quantization);
    const baseWeightBytes = tf.memory().numBytes - bytes0;
    const cfg = model.config;
    const lora = injectLora(model, loraConfigSchema.parse({ r: shape.lora.r, lora_alpha: shape.lora.alpha, target_modules: shape.lora.targetModules }), { seed: 0 });
    const loraWeightBytes = tf.memory().numBytes - bytes0 - baseWeightBytes;
    logger.info({ shape: shape.name, params: countParameters(cfg).total, trainable: lora.trainableParams, steps }, 'bench: training');
    const tr = await train({
      model,
      variables: lora.variables,
      examples: syntheticExamples(shape, cfg.vocabSize, shape.batchSize * steps),
      padId: 0,
      logger,
      config: {
        ...BENCH_TRAIN, maxSteps: steps, microBatchSize: shape.batchSize, gradientAccumulationSteps: 1,
        maxSeqLen: shape.seqLen, warmupSteps: 0, scheduler: 'constant', seed: 0,
      },
    });
    const timed = timedSteps(tr.steps);
    const msFwdBwd = mean(timed.map((s) => s.msFwdBwd));
    const msOptimizer = mean(timed.map((s) => s.msOptimizer));
    const msPerStep = msFwdBwd + msOptimizer;
    const tokensPerStep = shape.batchSize * shape.seqLen;
    const trainTokensPerS = (tokensPerStep * 1000) / msPerStep;
    const flops = trainingFlopsPerToken(cfg, { seqLen: shape.seqLen, method: { kind: 'lora', r: shape.lora.r, targetModules: shape.lora.targetModules } }).total;
    const achievedGflops = (flops * trainTokensPerS) / 1e9;
    logger.info({ shape: shape.name, msPerStep, achievedGflops }, 'bench: generating');
    const gpuBytes = backendGpuBytes();
    const smi = queryGpuMemory();
    const genTokensPerS = await measureGeneration(model, shape, cfg.vocabSize);
    return {
      name: shape.name,
      modelType: cfg.modelType,
      params: countParameters(cfg).total,
      trainableParams: lora.trainableParams,
      batchSize: shape.batchSize,
      seqLen: shape.seqLen,
      steps,
      timedSteps: timed.length,
      trainTokensPerS,
      samplesPerS: (shape.batchSize * 1000) / msPerStep,
      msPerStep,
      msFwdBwd,
      msOptimizer,
      peakTfjsBytes: tr.peakBufferBytes > 0 ? tr.peakBufferBytes : tr.peakBytes,
      baseWeightBytes,
      loraWeightBytes,
      optimizerBytes: tr.optimizerBytes,
      trainFlopsPerToken: flops,
      achievedGflops,
      matmulRatio: achievedGflops / matmulGflops,
      genTokensPerS,
      quantization: shape.quantization ?? 'fp32',
      ...(gpuBytes ? { gpuPoolBytes: gpuBytes.allocated } : {}),
      ...(smi?.length ? { gpuUsedBytesSmi: smi[0].memoryUsedMiB * 2 ** 20 } : {}),
      lastLoss: tr.steps.at(-1)?.loss ?? Number.NaN,
      matmulKernels: nativeMatmulEnabled() ? 'native' : 'backend',
      peakRssBytes: peakRssBytes(),
    };
  } finally {
    model.dispose();
  }
}

/**
 * The fixed benchmark: the backend's plain matmul rate, then LoRA training and generation on
 * each shape, on whatever backend is current. Figures from one run compare across shapes;
 * across machines only with the same backend and thread count.
 */
export async function runBench(params: BenchParams): Promise<BenchReport> {
  const logger = params.logger ?? silentLogger;
  const t0 = performance.now();
  const loadAverage = os.loadavg()[0];
  const othersBefore = await othersBusyCores(os.availableParallelism());
  const iters = params.matmulIters ?? 10;
  const runAll = async (): Promise<{ matmul: MatmulPeak; shapes: BenchShapeResult[] }> => {
    const matmul = await measureMatmulGflops({ ...BENCH_MATMUL, iters, warmup: Math.min(3, iters) });
    logger.info({ gflops: matmul.gflops, native: nativeMatmulEnabled() }, 'bench: matmul');
    const shapes: BenchShapeResult[] = [];
    for (const shape of params.shapes ?? BENCH_SHAPES) shapes.push(await benchShape(shape, matmul.gflops, { steps: params.steps, logger }));
    return { matmul, shapes };
  };
  const main = await runAll();
  let stock: BenchReport['stock'];
  const native = params.engine.nativeMatmul;
  if (native?.used && params.compareStock !== false) {
    applyNativeMatmul('off', params.engine.threads);
    try {
      stock = await runAll();
    } finally {
      applyNativeMatmul('on', params.engine.threads);
    }
  }
  const blasPeak: BlasPeak = params.blasPeak === false ? { ok: false, reason: 'not measured' } : measureBlasPeak({ threads: params.engine.threads });
  const shapes = params.shapes ?? BENCH_SHAPES;
  const peer = params.peerPython
    ? await runPeer(params.peerPython, shapes, params.engine.threads, params.steps, params.peerRepeats ?? PEER_REPEATS, logger)
    : undefined;
  const goals = benchGoalRows([...main.shapes, ...(stock?.shapes ?? [])], shapes, blasPeak, peer);
  return {
    engine: params.engine, cores: os.availableParallelism(), loadAverage, othersBusyCores: othersBefore, ...main, ...(stock ? { stock } : {}), blasPeak,
    ...(peer ? { peer } : {}), goals, peakRssBytes: peakRssBytes(), wallTimeS: (performance.now() - t0) / 1000,
  };
}

/** How many times bench runs the peer per shape by default. */
export const PEER_REPEATS = 3;

/**
 * The peer's shapes one process at a time, after ours: nothing else of bench runs meanwhile. Each
 * shape runs `repeats` times and the fastest successful run stands for it; when none succeeds, the
 * first failure does.
 */
async function runPeer(request: string, shapes: readonly BenchShape[], threads: number, steps: number | undefined, repeats: number, logger: Logger): Promise<BenchPeer> {
  const resolved = await resolvePeerPython(request);
  if ('reason' in resolved) return resolved;
  const runs: Extract<BenchPeer, { runs: unknown }>['runs'] = [];
  for (const shape of shapes) {
    let best: Extract<PeerOutcome, { ok: true }> | null = null;
    let firstFailure: PeerOutcome | null = null;
    let loadAverage = 0;
    let others: number | null = null;
    const repeatMsPerStep: number[] = [];
    for (let i = 0; i < repeats; i++) {
      loadAverage = Math.max(loadAverage, os.loadavg()[0]);
      const o = await othersBusyCores(os.availableParallelism());
      if (o !== null) others = Math.max(others ?? 0, o);
      logger.info({ shape: shape.name, python: resolved.python, threads, run: i + 1, of: repeats }, 'bench: PyTorch peer');
      const outcome = await runTorchPeer({ python: resolved.python, shape, threads, steps });
      if (!outcome.ok) {
        firstFailure ??= outcome;
        continue;
      }
      repeatMsPerStep.push(outcome.msPerStep);
      if (!best || outcome.trainTokensPerS > best.trainTokensPerS) best = outcome;
    }
    runs.push({ ...(best ?? firstFailure!), loadAverage, othersBusyCores: others, repeatMsPerStep });
  }
  return { python: resolved.python, runs };
}
